/*
 * proto.h - frames between the core and its workers, over a socketpair.
 *
 * Both ends are the same binary on the same machine, so fixed-size headers
 * are copied in native layout. Every frame starts with its total length;
 * a reader keeps bytes in a buffer until a whole frame is there. Jobs and
 * results are batched: one write carries as many frames as are ready.
 */
#ifndef TOCSIN_PROTO_H
#define TOCSIN_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

#define TOCSIN_FRAME_MAX (1u << 20)   /* larger frames are a protocol error */

enum tocsin_msg_type {
    TOCSIN_MSG_JOB = 1,       /* core -> check worker: run a service */
    TOCSIN_MSG_RESULT = 2,    /* check worker -> core */
    TOCSIN_MSG_ALERT = 3,     /* core -> notifier worker */
    TOCSIN_MSG_DELIVERY = 4,  /* notifier worker -> core */
    TOCSIN_MSG_RESUME = 5     /* core -> check worker: jobs taken back end here */
};

struct tocsin_frame_hdr {
    uint32_t len;             /* whole frame, header included */
    uint32_t type;            /* enum tocsin_msg_type */
};

struct tocsin_job_msg {
    uint32_t svc;             /* service index in the configuration */
    uint32_t seq;             /* job number, echoed in the result */
    int64_t timeout_us;       /* the check's time budget */
};

#define TOCSIN_RESULT_TIMED_OUT 0x1  /* the plugin said its deadline passed */
#define TOCSIN_RESULT_SETUP_FAILED 0x2 /* setup() refused the options */

struct tocsin_result_msg {
    uint32_t svc;
    uint32_t seq;
    uint32_t state;           /* enum tocsin_state */
    uint32_t flags;           /* TOCSIN_RESULT_* */
    int64_t started_us;       /* monotonic time the check started */
    int64_t duration_us;
    /* followed by the Nagios output text, not NUL-terminated */
};

struct tocsin_alert_msg {
    uint32_t notifier;        /* notifier index in the configuration */
    uint32_t seq;
    uint32_t count;           /* alerts in this message: the first, then
                                 those grouped with it */
    /* followed by `count` alerts, each encoded by tocsin_alert_encode */
};

struct tocsin_delivery_msg {
    uint32_t notifier;
    uint32_t seq;
    uint32_t outcome;         /* enum tocsin_delivery */
    int64_t retry_after;      /* seconds the receiver asked to wait, or 0 */
    /* followed by the reason text on failure */
};

/* Append a frame of `type` whose payload is `fixed` (fixed_len bytes)
 * followed by `tail` (tail_len bytes). Returns 0 or -1 on oom. */
int tocsin_frame_put(struct tocsin_buf *out, uint32_t type,
                     const void *fixed, size_t fixed_len,
                     const void *tail, size_t tail_len);

/* Look at `in` from offset `off`: if a whole frame is there, set *type,
 * *payload and *payload_len and return its total length (to skip).
 * Return 0 when more bytes are needed, -1 for a malformed frame. */
long tocsin_frame_next(const struct tocsin_buf *in, size_t off, uint32_t *type,
                       const char **payload, size_t *payload_len);

/* Append a uint32 length and the bytes of `s` (for alert texts). */
int tocsin_frame_put_str(struct tocsin_buf *out, const char *s, size_t len);

/* Read such a string from *p (with *left bytes left); on success advance
 * both and point *s and *len into the frame. Returns 0 or -1 if malformed. */
int tocsin_frame_get_str(const char **p, size_t *left, const char **s, size_t *len);

/* Append `a` (labels included; not its grouped alerts, its deadline or
 * retry_after) to `out` in a form tocsin_alert_decode reads back: used for
 * the notifier frames only. The layout is native and private to one build;
 * what the outbox keeps is a saved alert (alerting/saved.h), re-encoded
 * with this at dispatch. Returns 0 or -1 on oom. */
int tocsin_alert_encode(struct tocsin_buf *out, const struct tocsin_alert *a);

/* Read one encoded alert from *p (*left bytes) into `a`: its strings point
 * into the encoded bytes, which must outlive `a`; its labels are a new
 * array the caller frees (a->labels). Advances *p and *left. Returns 0, or
 * -1 when the bytes are malformed. */
int tocsin_alert_decode(const char **p, size_t *left, struct tocsin_alert *a);

#endif
