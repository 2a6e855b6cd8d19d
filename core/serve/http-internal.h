/*
 * http-internal.h - what the files of the HTTP endpoint share among
 * themselves (http-server.c, http-health.c, http-metrics.c, http-api.c,
 * http-page.c): the server's state, the helpers every answer uses, and
 * the answer of each path. The daemon uses serve/httpd.h only.
 */
#ifndef TOCSIN_HTTP_INTERNAL_H
#define TOCSIN_HTTP_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <microhttpd.h>

#include "base/log.h"
#include "serve/httpd.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

struct tocsin_http_conn;          /* one open connection (http-server.c) */

/* A token that may submit results (copied from the configuration). */
struct tocsin_http_api_token {
    char *name;
    char *token;
    char **services;              /* glob patterns; none: every service */
    size_t nservices;
};

/* A POST being read: its body, up to TOCSIN_INBOUND_BODY_MAX bytes. */
struct tocsin_http_post {
    struct tocsin_buf body;
    int too_large;                /* more came than the limit: 413 */
};

struct tocsin_httpd {
    struct MHD_Daemon *mhd;
    const struct tocsin_status *status;
    char *token;                  /* copied from the configuration, or NULL */
    struct tocsin_http_api_token *api_tokens; /* likewise */
    size_t napi_tokens;
    struct tocsin_httpd_ops ops;  /* submit is NULL when results are refused */
    uint64_t results_accepted;    /* submitted results taken, for /metrics */
    uint64_t results_refused;     /* POSTs answered 4xx */
    int64_t max_lateness_us;      /* likewise: the configuration may be replaced */
    int epfd;
    int mhd_fd;                   /* libmicrohttpd's epoll descriptor */
    int64_t due;                  /* monotonic us its own timer fires; INT64_MAX: none */
    char *cert, *key;             /* PEM, kept while the server runs */
    size_t key_len;
    struct tocsin_buf start_log;  /* libmicrohttpd's messages while starting */
    int starting;
    uint64_t requests;            /* answered, for /metrics */
    struct tocsin_http_conn *conns; /* every open connection: one slot each */
    uint64_t drops;               /* connections closed before their request was in */
    struct tocsin_log_limit drop_log; /* one line a minute about them */
};

/* The daemon's health, as /health and the status page tell it. */
struct tocsin_http_health {
    int ok;                       /* no reason below */
    int64_t overdue_us;           /* how far behind the scheduler is */
    int up, total;                /* check workers running, configured */
    struct tocsin_buf reasons[3]; /* why it is unhealthy */
    int nreasons;
};

/* ------------------------------------------------------------------ */
/* Answers (http-server.c)                                             */
/* ------------------------------------------------------------------ */

/* The headers every answer carries, and one more (`hdr`, may be NULL).
 * Returns 0, or -1 when they could not be added. */
int tocsin_http_add_headers(struct MHD_Response *r, const char *ctype, const char *hdr,
                            const char *hdr_value);

/* Send `body` (taken over, left empty) with status `code`. A body that ran
 * out of memory is answered with 500 instead. */
enum MHD_Result tocsin_http_respond(struct MHD_Connection *c, unsigned code, const char *ctype,
                                    struct tocsin_buf *body, const char *hdr,
                                    const char *hdr_value);

/* Queue `r` (released; NULL gives MHD_NO) with status `code`, after the
 * headers every answer carries and `hdr` (may be NULL). */
enum MHD_Result tocsin_http_queue(struct MHD_Connection *c, unsigned code,
                                  struct MHD_Response *r, const char *ctype, const char *hdr,
                                  const char *hdr_value);

/* For the reader of a streamed answer: copy what is left of `pending`
 * after *off, at most `max` bytes, to `buf`, and advance *off. Returns
 * the bytes copied. */
ssize_t tocsin_http_hand_over(const struct tocsin_buf *pending, size_t *off, char *buf,
                              size_t max);

/* Serialise `v` (kept) compactly at the end of `body`. Returns 0 or -1 (oom). */
int tocsin_http_json_append(const json_t *v, struct tocsin_buf *body);

/* Serialise `root` (released) into `body`, with a newline. Returns 0 or -1
 * (oom, also when `bad` says the value is incomplete). */
int tocsin_http_json_body(json_t *root, int bad, struct tocsin_buf *body);

/* Answer {"error": msg} with status `code` and one more header (may be NULL). */
enum MHD_Result tocsin_http_json_error(struct MHD_Connection *c, unsigned code,
                                       const char *msg, const char *hdr,
                                       const char *hdr_value);


/* ------------------------------------------------------------------ */
/* Health (http-health.c)                                              */
/* ------------------------------------------------------------------ */

/* Judge the daemon's health into `hl`; release with tocsin_http_health_free. */
void tocsin_http_health_judge(const struct tocsin_httpd *h, struct tocsin_http_health *hl);
void tocsin_http_health_free(struct tocsin_http_health *hl);

/* ------------------------------------------------------------------ */
/* The answer of each path                                             */
/* ------------------------------------------------------------------ */

/* /health (http-health.c). */
enum MHD_Result tocsin_http_serve_health(struct tocsin_httpd *h, struct MHD_Connection *c);

/* /metrics (http-metrics.c). */
enum MHD_Result tocsin_http_serve_metrics(struct tocsin_httpd *h, struct MHD_Connection *c);

/* /api/v1/services and /api/v1/services/NAME (http-api.c). */
enum MHD_Result tocsin_http_serve_services(struct tocsin_httpd *h, struct MHD_Connection *c);
enum MHD_Result tocsin_http_serve_service(struct tocsin_httpd *h, struct MHD_Connection *c,
                                          const char *name);

/* /api/v1/incidents and /api/v1/history (http-incidents.c). */
enum MHD_Result tocsin_http_serve_incidents(struct tocsin_httpd *h, struct MHD_Connection *c);
enum MHD_Result tocsin_http_serve_history(struct tocsin_httpd *h, struct MHD_Connection *c);
/* /api/v1/services/NAME/metrics (http-incidents.c); `name` is the
 * percent-decoded NAME, not NUL-terminated, of `len` bytes. */
enum MHD_Result tocsin_http_serve_service_metrics(struct tocsin_httpd *h,
                                                  struct MHD_Connection *c,
                                                  const char *name, size_t len);

/* POST /api/v1/results and /api/v1/alertmanager (http-inbound.c), once
 * the whole body is in `post`. `alertmanager` selects the payload. */
enum MHD_Result tocsin_http_serve_inbound(struct tocsin_httpd *h, struct MHD_Connection *c,
                                          struct tocsin_http_post *post, int alertmanager);

/* / (http-page.c). */
enum MHD_Result tocsin_http_serve_page(struct tocsin_httpd *h, struct MHD_Connection *c);

#endif
