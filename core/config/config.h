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

#include "lib/buf.h"
#include "config/registry.h"
#include "tocsin-plugin.h"

struct tocsin_http_conf;

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

/* A threshold held against one performance-data label of a service. */
struct tocsin_perf_threshold {
    char *label;                  /* the perfdata label, as the plugin emits it */
    struct tocsin_thresholds th;
    struct tocsin_range clear;    /* hysteresis: once the figure is WARNING or
                                     CRITICAL it recovers only inside this
                                     range (unset: as soon as it is back
                                     inside warning or critical) */
    int line;
};

/* How a group rolls its members up into one state. */
enum tocsin_group_mode {
    TOCSIN_GROUP_WORST = 0,       /* the worst member state */
    TOCSIN_GROUP_COUNT = 1        /* CRITICAL / WARNING from member counts */
};

/* "At least N members" or "at least N % of the members"; n < 0: unset. */
struct tocsin_count {
    double n;
    int percent;
};

struct tocsin_service_conf {
    struct tocsin_instance_conf inst; /* for a group, plugin is NULL */
    int64_t interval_us;          /* between checks while OK or hard */
    int64_t retry_interval_us;    /* between checks while in a soft state */
    int64_t timeout_us;
    int max_attempts;             /* checks before a problem becomes hard */
    int64_t hard_after_us;        /* or: how long before it does; 0 = by
                                     max_attempts */
    int *at_minutes;              /* `at`: local times of day to run at
                                     (minutes after midnight, sorted), or
                                     NULL to run every interval */
    size_t nat;
    char *timezone;               /* zone of `at`, NULL: the host's */
    char *check_period;           /* runs only inside this period, or NULL */
    int check_period_index;       /* resolved, or -1 */
    enum tocsin_state timeout_state; /* UNKNOWN or CRITICAL */
    char *host;                   /* host the service belongs to */
    struct tocsin_label *labels;  /* keys and values owned */
    size_t nlabels;
    int flap_detection;           /* 0 or 1 once loaded (-1 while loading:
                                     not set, the global value applies) */
    double flap_low, flap_high;   /* percent state change thresholds */
    struct tocsin_perf_threshold *thresholds; /* on perfdata labels */
    size_t nthresholds;
    enum tocsin_severity severity[4]; /* severity of each hard state
                                     (index: enum tocsin_state) */
    char **depends;               /* names of the services this one needs */
    size_t ndepends;
    uint32_t *parents;            /* their indices (resolved) */
    char *link;                   /* a URL about the service, or NULL */
    char *downtime_period;        /* scheduled downtime: a time period */
    int downtime_period_index;    /* resolved, or -1 */
    int depends_line;             /* where depends, downtime_period and */
    int downtime_period_line;     /* members were set, for the errors */
    int members_line;             /* found when resolving them */

    /* Groups: a service computed from other services' hard states. */
    int is_group;
    char **member_names;          /* members named in the configuration */
    size_t nmember_names;
    struct tocsin_label *member_labels; /* members selected by labels */
    size_t nmember_labels;
    uint32_t *members;            /* resolved member indices */
    size_t nmembers;
    enum tocsin_group_mode group_mode;
    struct tocsin_count critical_at; /* COUNT mode */
    struct tocsin_count warning_at;
    uint32_t *groups;             /* groups this service is a member of */
    size_t ngroups;

    /* Results from outside (HTTP, tocsinctl submit; docs/inbound.md). */
    int passive;                  /* no check runs it (inst.plugin is NULL) */
    int accept_passive;           /* takes submitted results (set when passive) */
    int64_t expect_every_us;      /* passive: CRITICAL after this long without
                                     a result; 0: never */

    /* Incident policy (docs/internals/alerting.md, "Priorities"). */
    char *priority;               /* `priority = "P2"`: every incident of the
                                     service has it, or NULL */
    long priority_index;          /* ... resolved, or -1 */
    int priority_line;
};

/* One escalation step of a route. */
struct tocsin_escalation {
    int64_t after_ms;             /* unacknowledged this long after the problem */
    char **names;                 /* notifier names, as written */
    uint32_t *notifiers;          /* resolved */
    size_t nnotifiers;
    int line;
};

/* Where alerts go: the first matching route wins unless it continues. */
struct tocsin_route_conf {
    char *name;
    char *file;
    int line;
    unsigned severities;          /* bit per enum tocsin_severity; 0 = any */
    struct tocsin_label *match;   /* labels that must be equal ... */
    size_t nmatch;
    char **services;              /* service name patterns (fnmatch), or none */
    size_t nservices;
    char *period;                 /* time period name, or NULL */
    int period_index;             /* resolved, or -1: always "during" */
    char **during_names;          /* notifiers inside the period, as written */
    uint32_t *during;             /* ... resolved */
    size_t nduring;
    char **outside_names;         /* notifiers outside it */
    uint32_t *outside;
    size_t noutside;
    int cont;                     /* try later routes too */
    char *defer;                  /* time period problems wait for, or NULL */
    int defer_index;              /* resolved, or -1: never deferred */
    int defer_line;               /* where `defer` is written */
    int64_t repeat_interval_ms;   /* 0: never repeat */
    int64_t group_wait_ms;        /* gather alerts this long into one message */
    struct tocsin_escalation *escalations; /* by increasing after_ms */
    size_t nescalations;
};

/* A priority an incident is given, and the targets it sets. */
struct tocsin_priority_conf {
    char *name;                   /* "P1" */
    int64_t respond_within_ms;    /* acknowledged within this, or it
                                     escalates; 0: no target */
    int64_t resolve_within_ms;    /* resolved within this, or told again
                                     (each time it passes again); 0: none */
    char *file;                   /* where it was defined (NULL: built in) */
    int line;
};

/* `priority_rule`: the priority of the incidents it matches. */
struct tocsin_priority_rule {
    char *file;
    int line;
    unsigned severities;          /* bit per enum tocsin_severity; 0 = any */
    struct tocsin_label *match;   /* labels that must be equal */
    size_t nmatch;
    char **services;              /* service name patterns (fnmatch), or none */
    size_t nservices;
    char *priority;               /* the priority it gives, as written */
    long priority_index;          /* ... resolved */
};

struct tocsin_notifier_conf {
    struct tocsin_instance_conf inst;
    int enabled;
    int64_t timeout_ms;           /* one delivery attempt at most */
    int64_t retry_min_ms;         /* first retry delay, doubled each time */
    int64_t retry_max_ms;         /* ... up to this */
    int64_t expire_ms;            /* give up this long after queueing */
    int forwards_results;         /* the plugin takes every check result */
    int send_resolved;            /* recoveries go to it (default 1) */
};

struct tocsin_strpool;             /* strings many sections share */
struct tocsin_hashidx;             /* name -> index (base/hashidx.h) */

struct tocsin_config {
    struct tocsin_strpool *pool;  /* owns every instance's file, plugin_name
                                     and host (shared, never freed alone) */
    struct tocsin_hashidx *service_index; /* for tocsin_config_find_service */
    char *path;                   /* main file */
    char *include_dir;            /* absolute or relative to the main file */
    char *host;                   /* default host name of services */
    char *state_dir;
    int store_sync_full;          /* store_sync = full: fsync every commit */
    int workers;                  /* check workers; 0 = automatic */
    long worker_memory_mb;        /* address-space limit per worker; 0 = none */
    int worker_nice;              /* niceness added to workers (0..19) */
    int64_t max_check_spread_us;  /* first runs all start within this */
    int log_level;
    struct tocsin_service_conf *services;
    size_t nservices;
    struct tocsin_notifier_conf *notifiers;
    size_t nnotifiers;
    struct tocsin_route_conf *routes;
    size_t nroutes;
    struct tocsin_timeperiod *periods; /* see timeperiod.h */
    size_t nperiods;
    long fallback_notifier;       /* gets what disabled notifiers would have
                                     sent; -1 for none */
    char *control_socket;         /* tocsinctl's Unix socket */
    int64_t retention_ms;         /* history and ended notifications kept */
    int64_t history_detail_ms;    /* metric history: minute rows kept */
    int64_t history_keep_ms;      /* metric history: hourly rows kept; 0: none */
    int flap_detection;           /* services' default (off) */
    struct tocsin_http_conf *http; /* the HTTP endpoint (httpd.h) */
    struct tocsin_priority_conf *priorities; /* most urgent first; never
                                     empty once loaded (P1..P4 by default) */
    size_t npriorities;
    struct tocsin_priority_rule *priority_rules; /* in file order */
    size_t npriority_rules;
};

/* Read `path` and its conf.d. Returns the configuration (free with
 * tocsin_config_free) or NULL, with every problem appended to `errors` as
 * "FILE:LINE: message\n". Plugins are looked up in `reg`. */
struct tocsin_config *tocsin_config_load(const char *path,
                                         const struct tocsin_registry *reg,
                                         struct tocsin_buf *errors);

/* The same, and what is valid but doubtful (a duration without a unit
 * that Nagios would read in minutes) appended to `warnings` as
 * "FILE:LINE: warning: message\n". */
struct tocsin_config *tocsin_config_load_warn(const char *path,
                                              const struct tocsin_registry *reg,
                                              struct tocsin_buf *errors,
                                              struct tocsin_buf *warnings);

void tocsin_config_free(struct tocsin_config *conf);

/* Build the libconfuse section a plugin's setup() receives: the plugin's
 * own option table with its defaults, overridden by `inst`'s values.
 * Returns NULL with a reason in err. Free with cfg_free(). */
cfg_t *tocsin_config_plugin_cfg(const struct tocsin_instance_conf *inst,
                                struct tocsin_buf *err);

/* A hash of everything that defines service `s` (plugin, options, timing,
 * labels, thresholds, membership...): equal hashes mean a reload may keep
 * the service's state and schedule. */
uint64_t tocsin_config_service_hash(const struct tocsin_service_conf *s);

/* A hash of what makes service `s` the check it is: its name, plugin, the
 * plugin's options except its ranges (command, target...) and a group's
 * members. Two
 * definitions with equal check hashes but different full hashes differ
 * only in what the service's state survives (labels, host, thresholds,
 * timing, attempts, flap settings, routes): a reload or a restart keeps
 * its state and open incident; otherwise the incident is resolved and
 * the service starts afresh. */
uint64_t tocsin_config_service_check_hash(const struct tocsin_service_conf *s);

/*
 * Append a "FILE:LINE: message\n" line to `out` for each route that can
 * never match because an earlier route without labels, service patterns
 * or continue takes every alert of its severities (both places named).
 * Not an error: the configuration works, the later route is dead.
 * Returns how many. O(routes^2).
 */
size_t tocsin_config_route_warnings(const struct tocsin_config *conf, struct tocsin_buf *out);

/* Index of the notifier named `name`, or -1. O(n). */
long tocsin_config_find_notifier(const struct tocsin_config *conf,
                                 const char *name);

/* Check a threshold's `clear` range against its ranges: it must lie inside
 * the warning range (the critical one without a warning), so that a value
 * it lets recover is OK, and neither may alert inside (@). Returns 0, or
 * -1 with the reason in why. An unset clear is fine. */
int tocsin_threshold_clear_check(const struct tocsin_thresholds *th,
                                 const struct tocsin_range *clear, char *why, size_t len);

/* Index of the service (or group) named `name`, or -1. O(1) on average. */
long tocsin_config_find_service(const struct tocsin_config *conf,
                                const char *name);

#endif
