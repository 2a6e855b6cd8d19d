/*
 * config-internal.h - what the files of core/config/config*.c share while
 * one tocsin_config_load() runs: the parse context, the error list, the
 * readers of a parsed section, and each section type's option table and
 * end-of-section callback. Not part of the configuration's interface
 * (config.h); nothing outside core/config/config*.c includes it.
 */
#ifndef TOCSIN_CONFIG_INTERNAL_H
#define TOCSIN_CONFIG_INTERNAL_H

#include <confuse.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hashidx.h"
#include "config/registry.h"
#include "lib/buf.h"
#include "tocsin-plugin.h"

/* Defined in config.h, which every includer includes first. */
struct tocsin_config;
struct tocsin_instance_conf;
struct tocsin_service_conf;
struct tocsin_route_conf;

/* The most options one section records the lines of. */
#define TOCSIN_CONF_MAX_PENDING 256

/* An option seen in the section being parsed, and its line. */
struct tocsin_conf_pending {
    const char *name;
    int line;
};

/* File names, plugin names and hosts repeat across thousands of services:
 * each is kept once, owned here. */
struct tocsin_strpool {
    char **strings;                /* count owned strings */
    size_t count;
    size_t cap;                    /* allocated entries of strings */
    struct tocsin_hashidx index;   /* string -> its position in strings */
};

/* The state of one tocsin_config_load() call. libconfuse callbacks carry
 * no user pointer, so it is reached through tocsin_conf_parse for the
 * duration of the call. */
struct tocsin_conf_ctx {
    const struct tocsin_registry *reg;
    struct tocsin_buf *errors;
    size_t nerrors;
    struct tocsin_buf *warnings;   /* NULL: warnings are not wanted */
    const cfg_opt_t *main_opts;    /* the main file's options */
    const char *file;              /* file being parsed */
    struct tocsin_config *conf;
    struct tocsin_conf_pending pending[TOCSIN_CONF_MAX_PENDING];
    size_t npending;
    int include_dir_line;          /* 0 unless include_dir was set */
    size_t services_cap;           /* allocated entries of conf->services */
    size_t notifiers_cap;
    size_t routes_cap;
    size_t periods_cap;
    size_t priorities_cap;
    size_t priority_rules_cap;
    int fallback_line;             /* where fallback_notifier was set, or 0 */
    struct tocsin_hashidx service_names;  /* conf->services by name */
    struct tocsin_hashidx notifier_names; /* conf->notifiers by name */
};

/* The load in progress (NULL outside tocsin_config_load). */
extern struct tocsin_conf_ctx *tocsin_conf_parse;

/* ---- Errors (config.c) ---- */

/* Append "FILE:LINE: message\n" to the load's errors and count it. */
void tocsin_conf_error(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Append "FILE:LINE: warning: message\n" to the load's warnings, when
 * they are wanted; a warning never fails the load. */
void tocsin_conf_warn(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- The section being parsed (config-section.c) ---- */

/* The line a section starts at: that of its first option set, or where
 * libconfuse saw it end. */
int tocsin_conf_section_line(const cfg_t *sec);

/* The line option `name` was last set on in this section, or 0. */
int tocsin_conf_pending_line(const char *name);

/* Option `name` of `sec` (NULL when `sec` is), as set or its table's
 * default: sections made without CFGF_DEFINIT carry no defaults. */
long tocsin_conf_get_int(cfg_t *sec, const char *name);
double tocsin_conf_get_float(cfg_t *sec, const char *name);
int tocsin_conf_get_bool(cfg_t *sec, const char *name);
const char *tocsin_conf_get_str(cfg_t *sec, const char *name);
cfg_t *tocsin_conf_get_sec(cfg_t *sec, const char *name); /* given, or NULL */

/* The option table of a section type: `core` (validation callbacks
 * replaced by the line recorder) followed by every option of every usable
 * plugin of `kind` (0: none). Caller frees; NULL on oom. */
cfg_opt_t *tocsin_conf_union_table(const cfg_opt_t *core, uint32_t kind,
                                   const struct tocsin_registry *reg);

/* 1 when `s` is a usable service, group or notifier name. */
int tocsin_conf_valid_name(const char *s);

/* Fill `inst` from a service or notifier section just parsed (plugin
 * named by `key`). Returns 0, or -1 when an error was reported. */
/* The instance part of a passive service (passive = true): its name and
 * place, "passive" as its plugin's name and no plugin; any option that is
 * not one of `core`'s (a plugin's option) is an error, as is a check.
 * Returns 0 or -1 (reported). */
int tocsin_conf_build_passive(cfg_t *sec, const cfg_opt_t *core,
                              struct tocsin_instance_conf *inst);
int tocsin_conf_build_instance(cfg_t *sec, const cfg_opt_t *core, const char *key,
                               uint32_t kind, struct tocsin_instance_conf *inst);
void tocsin_conf_free_instance(struct tocsin_instance_conf *inst);

/* Copies of a string list option and of a labels section (label keys
 * checked, errors counted in *errors); -1 on oom. */
int tocsin_conf_copy_str_list(cfg_t *sec, const char *name, char ***out, size_t *n);
void tocsin_conf_free_str_list(char **list, size_t n);
int tocsin_conf_copy_labels(cfg_t *labels, const char *owner, int line,
                            struct tocsin_label **out, size_t *n, int *errors);
void tocsin_conf_free_labels(struct tocsin_label *l, size_t n);

/* Room for one more entry of `size` bytes in *arr; -1 on oom. */
int tocsin_conf_grow(void **arr, size_t count, size_t *cap, size_t size);

/* Free the section just parsed, once copied out. */
void tocsin_conf_drop_section(cfg_opt_t *opt);

/* The pooled copy of `s` (NULL on oom). O(1) on average. */
char *tocsin_conf_intern(const char *s);
void tocsin_conf_pool_free(struct tocsin_strpool *p);

/* ---- Section types: option tables and end-of-section callbacks ---- */

extern cfg_opt_t tocsin_conf_label_opts[];
extern cfg_opt_t tocsin_conf_severity_opts[];

/* Options every alerting object (service or group) has. */
#define TOCSIN_CONF_ALERTING_OPTS \
    CFG_STR("host", NULL, CFGF_NONE), \
    CFG_STR("display_host", NULL, CFGF_NONE), \
    CFG_SEC("labels", tocsin_conf_label_opts, CFGF_KEYSTRVAL), \
    CFG_SEC("severity", tocsin_conf_severity_opts, CFGF_NONE), \
    CFG_STR_LIST("depends", NULL, CFGF_NONE), \
    CFG_STR("link", NULL, CFGF_NONE), \
    CFG_STR("downtime_period", NULL, CFGF_NONE), \
    CFG_BOOL("flap_detection", cfg_false, CFGF_NONE), \
    CFG_FLOAT("flap_low", 5.0, CFGF_NONE), \
    CFG_FLOAT("flap_high", 20.0, CFGF_NONE), \
    CFG_STR("priority", NULL, CFGF_NONE)

extern cfg_opt_t tocsin_conf_service_opts[];   /* config-service.c */
extern cfg_opt_t tocsin_conf_group_opts[];     /* config-group.c */
extern cfg_opt_t tocsin_conf_route_opts[];     /* config-route.c */
extern cfg_opt_t tocsin_conf_notifier_opts[];  /* config-notifier.c */
extern cfg_opt_t tocsin_conf_priority_opts[];  /* config-priority.c */
extern cfg_opt_t tocsin_conf_priority_rule_opts[];

int tocsin_conf_service_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_group_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_route_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_notifier_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_timeperiod_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_priority_cb(cfg_t *cfg, cfg_opt_t *opt);
int tocsin_conf_priority_rule_cb(cfg_t *cfg, cfg_opt_t *opt);

/* The options services and groups share; -1 when an error was reported. */
int tocsin_conf_build_alerting(cfg_t *sec, struct tocsin_service_conf *s, const char *what);

/* A zeroed entry at conf->services[nservices] to build a service or group
 * in; NULL (reported at `line`) on oom. */
struct tocsin_service_conf *tocsin_conf_new_service(int line);

/* Add `s` (built at conf->services[nservices]) unless its name is taken;
 * -1 when it was not added. */
int tocsin_conf_commit_service(struct tocsin_service_conf *s, const char *what, int line);

void tocsin_conf_free_service(struct tocsin_service_conf *s);
void tocsin_conf_free_route(struct tocsin_route_conf *r);

/* Priorities and their rules (config-priority.c): free them, and once
 * every file is read give the built-in P1..P4 when none was defined and
 * resolve the names rules and services give. Errors reported. */
void tocsin_conf_free_priorities(struct tocsin_config *conf);
void tocsin_conf_resolve_priorities(struct tocsin_config *conf);

/* ---- References (config-resolve.c) ---- */

/* Resolve every name one section uses for another; errors reported. */
void tocsin_conf_resolve(struct tocsin_config *conf, const char *fallback);

#endif
