/*
 * config.h - reading the configuration: a main file plus every *.conf in
 * its conf.d directory, in sorted order, validated completely before
 * anything runs.
 *
 * Every problem is reported as "FILE:LINE: message". The libconfuse tree of
 * each file lives only while that file is parsed; what is kept is the
 * compact description below, which workers inherit through fork().
 */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <confuse.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "registry.h"
#include "tocsin-plugin.h"

/* One plugin option as set in the configuration, typed. */
union tocsin_optvalue {
    long number;
    double fpnumber;
    int boolean;
    char *string;
};

struct tocsin_optval {
    const char *name;              /* the plugin's option name (its table) */
    cfg_type_t type;               /* CFGT_INT, CFGT_FLOAT, CFGT_BOOL, CFGT_STR */
    int is_list;                   /* a list option */
    unsigned nvalues;
    union tocsin_optvalue *values; /* nvalues entries; strings owned */
};

/* The part every configured plugin instance has: its plugin and options. */
struct tocsin_instance_conf {
    char *name;                        /* service or notifier name */
    char *file;                        /* where it was defined */
    int line;
    char *plugin_name;
    const struct tocsin_plugin *plugin;
    struct tocsin_optval *opts;        /* only the options set in the file */
    size_t nopts;
};

struct tocsin_service_conf {
    struct tocsin_instance_conf inst;
    int64_t interval_us;          /* between checks while OK or hard */
    int64_t retry_interval_us;    /* between checks while in a soft state */
    int64_t timeout_us;
    int max_attempts;             /* checks before a problem becomes hard */
    enum tocsin_state timeout_state; /* UNKNOWN or CRITICAL */
    char *host;                   /* host the service belongs to */
    struct tocsin_label *labels;  /* keys and values owned */
    size_t nlabels;
    int flap_detection;
    double flap_low, flap_high;   /* percent state change thresholds */
};

struct tocsin_notifier_conf {
    struct tocsin_instance_conf inst;
    int enabled;
};

struct tocsin_config {
    char *path;                   /* main file */
    char *include_dir;            /* absolute or relative to the main file */
    char *host;                   /* default host name of services */
    char *state_dir;
    int workers;                  /* check workers; 0 = automatic */
    long worker_memory_mb;        /* address-space limit per worker; 0 = none */
    int worker_nice;              /* niceness added to workers (0..19) */
    int64_t max_check_spread_us;  /* first runs all start within this */
    int log_level;
    struct tocsin_service_conf *services;
    size_t nservices;
    struct tocsin_notifier_conf *notifiers;
    size_t nnotifiers;
};

/* Read `path` and its conf.d. Returns the configuration (free with
 * tocsin_config_free) or NULL, with every problem appended to `errors` as
 * "FILE:LINE: message\n". Plugins are looked up in `reg`. */
struct tocsin_config *tocsin_config_load(const char *path,
                                         const struct tocsin_registry *reg,
                                         struct tocsin_buf *errors);

void tocsin_config_free(struct tocsin_config *conf);

/* Build the libconfuse section a plugin's setup() receives: the plugin's
 * own option table with its defaults, overridden by `inst`'s values.
 * Returns NULL with a reason in err. Free with cfg_free(). */
cfg_t *tocsin_config_plugin_cfg(const struct tocsin_instance_conf *inst,
                                struct tocsin_buf *err);

/* Index of the service named `name`, or -1. O(n). */
long tocsin_config_find_service(const struct tocsin_config *conf,
                                const char *name);

#endif
