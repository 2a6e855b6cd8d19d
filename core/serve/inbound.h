/*
 * inbound.h - results that come from outside rather than from a check:
 * the bodies POSTed to /api/v1/results (JSON, or Nagios
 * PROCESS_SERVICE_CHECK_RESULT lines) and to /api/v1/alertmanager
 * (Alertmanager's webhook, version 4), parsed into a list of results
 * for named services. Pure functions: nothing here knows the daemon.
 * See docs/inbound.md.
 */
#ifndef TOCSIN_INBOUND_H
#define TOCSIN_INBOUND_H

#include <stddef.h>

#include "lib/buf.h"

/* A body larger than this is refused (413). */
#define TOCSIN_INBOUND_BODY_MAX 65536
/* At most this many results in one body. */
#define TOCSIN_INBOUND_ITEMS_MAX 1000

/* One result for one service. */
struct tocsin_inbound_item {
    char *service;                /* the service's name (owned) */
    char *host;                   /* the host it names, or NULL (owned) */
    int state;                    /* enum tocsin_state: 0..3 */
    char *output;                 /* Nagios output: first line, "|perfdata"
                                     on it, long output after (owned) */
};

/* What one body holds, in the order written. */
struct tocsin_inbound {
    struct tocsin_inbound_item *items;
    size_t n;
    size_t cap;
};

/* Parse a body of /api/v1/results into `in` (empty; items appended):
 * a JSON object {"service", "state", "output", "perfdata", "host"} or an
 * array of them when the first non-blank byte is '{' or '[', otherwise one
 * Nagios line a line,
 *   [TIME] PROCESS_SERVICE_CHECK_RESULT;HOST;SERVICE;CODE;OUTPUT|PERFDATA
 * (the bracketed time optional, blank lines skipped, "\n" in OUTPUT a
 * line break). Returns 0, or -1 with the reason in `err` (and `in` freed).
 * O(len). */
int tocsin_inbound_parse_results(const char *body, size_t len, struct tocsin_inbound *in,
                                 char *err, size_t errlen);

/* Parse Alertmanager's webhook payload (alerts[] with status, labels,
 * annotations) into `in`: one result per alert, for the service its
 * `service` label names, else its `alertname`; "resolved" is OK, "firing"
 * is WARNING when its `severity` label is warning, warn, info, low or
 * minor, CRITICAL otherwise; the output is the summary annotation (else
 * the description, else the alert's name). Returns 0, or -1 with the
 * reason in `err` (and `in` freed). O(len). */
int tocsin_inbound_parse_alertmanager(const char *body, size_t len, struct tocsin_inbound *in,
                                      char *err, size_t errlen);

/* Free what `in` holds and empty it. */
void tocsin_inbound_free(struct tocsin_inbound *in);

/* Append a duration of `seconds` as a person reads it: "45 s",
 * "5 min 10 s", "1 h 05 min", "2 d 03 h". Negative counts as 0. */
void tocsin_inbound_silence(struct tocsin_buf *b, long long seconds);

/* 1 when `service` matches one of the `n` glob patterns (fnmatch) of
 * `patterns`; n == 0 matches every service. */
int tocsin_inbound_allowed(char *const *patterns, size_t n, const char *service);

#endif
