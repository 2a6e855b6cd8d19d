/*
 * fuzz-registry.h - the plugin registry the harnesses that load a
 * configuration use: a check "dummy" and a notifier "console", known by
 * their descriptors only (no module is loaded), as the unit tests do.
 */
#ifndef TOCSIN_FUZZ_REGISTRY_H
#define TOCSIN_FUZZ_REGISTRY_H

#include "config/registry.h"

/* The registry (static storage, never freed). The check takes options of
 * the core's kinds: state, output (strings), warning (a range), critical
 * (ranges) and delay (a duration); the notifier a template string. */
const struct tocsin_registry *tocsin_fuzz_registry(void);

#endif
