/*
 * saved.c - the versioned byte formats of what the store keeps: outbox
 * alerts, incidents, service states, and the readers of version 0 (the
 * native struct copies of schema-1 stores). See saved.h and
 * docs/internals/saved-formats.md.
 */
#include "alerting/saved.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The header: kind byte, version byte. */
#define HEADER_BYTES 2

/* The fewest bytes a saved string takes (its length) and a label (two). */
#define STR_MIN_BYTES 4
#define LABEL_MIN_BYTES (2 * STR_MIN_BYTES)

static const char *kind_name(enum tocsin_saved_kind kind)
{
    switch (kind) {
    case TOCSIN_SAVED_ALERT: return "alert";
    case TOCSIN_SAVED_INCIDENT: return "incident";
    case TOCSIN_SAVED_SERVICE: return "service state";
    }
    return "blob";
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Appends to `out` from `start`; `bad` is set by a string too long. */
struct writer {
    struct tocsin_buf *out;
    size_t start;
    int bad;
};

static void put_le(struct writer *w, uint64_t v, size_t n)
{
    unsigned char b[8];
    size_t i;

    for (i = 0; i < n; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    tocsin_buf_append(w->out, b, n);
}

static void put_u8(struct writer *w, unsigned v) { put_le(w, v & 0xffu, 1); }
static void put_u32(struct writer *w, uint32_t v) { put_le(w, v, 4); }
static void put_i32(struct writer *w, int32_t v) { put_le(w, (uint32_t)v, 4); }
static void put_u64(struct writer *w, uint64_t v) { put_le(w, v, 8); }
static void put_i64(struct writer *w, int64_t v) { put_le(w, (uint64_t)v, 8); }

static void put_f64(struct writer *w, double d)
{
    uint64_t bits;

    memcpy(&bits, &d, sizeof(bits));
    put_u64(w, bits);
}

/* A u32 length and the bytes; NULL is "". */
static void put_str(struct writer *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n > UINT32_MAX) {
        w->bad = 1;
        return;
    }
    put_u32(w, (uint32_t)n);
    if (n)
        tocsin_buf_append(w->out, s, n);
}

static void put_begin(struct writer *w, struct tocsin_buf *out,
                      enum tocsin_saved_kind kind, unsigned version)
{
    w->out = out;
    w->start = out->len;
    w->bad = 0;
    put_u8(w, (unsigned)kind);
    put_u8(w, version);
}

/* 0, or -1 with `out` cut back to where the blob began. */
static int put_end(struct writer *w)
{
    if (!w->bad && !w->out->oom)
        return 0;
    w->out->len = w->start;
    if (w->out->data)
        w->out->data[w->start] = '\0';
    return -1;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

/*
 * A bounds-checked cursor over one blob. The first failure is warned and
 * makes every later read fail, so that a decoder reads field after field
 * and checks once at the end. Strings are copied, NUL-terminated, into
 * `text`, sized for the whole blob: each string takes its length and its
 * bytes in the blob and its bytes and a NUL in `text`.
 */
struct reader {
    const unsigned char *p;
    size_t left;
    enum tocsin_saved_kind kind;
    unsigned version;
    const char *what;
    int bad;                      /* a read failed: the blob is refused */
    int oom;                      /* ... for want of memory */
    char *text;
    size_t used;
};

static void rd_fail(struct reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Refuse the blob: one warning naming the kind, the row and the version. */
static void rd_fail(struct reader *r, const char *fmt, ...)
{
    struct tocsin_buf why = TOCSIN_BUF_INIT;
    va_list ap;

    if (r->bad)
        return;
    r->bad = 1;
    va_start(ap, fmt);
    tocsin_buf_vprintf(&why, fmt, ap);
    va_end(ap);
    tocsin_warn("saved %s of %s (version %u) cannot be read: %s; dropped",
                kind_name(r->kind), r->what ? r->what : "?", r->version,
                tocsin_buf_str(&why));
    tocsin_buf_free(&why);
}

/* Start reading `len` bytes of `blob`; the string space is allocated
 * here and handed to the record (*text) by the caller. */
static int rd_begin(struct reader *r, const void *blob, size_t len,
                    enum tocsin_saved_kind kind, const char *what)
{
    memset(r, 0, sizeof(*r));
    r->p = blob;
    r->left = blob ? len : 0;
    r->kind = kind;
    r->what = what;
    r->text = malloc(r->left + 1);
    if (!r->text) {
        r->oom = 1;
        rd_fail(r, "out of memory");
        return -1;
    }
    return 0;
}

static const unsigned char *rd_bytes(struct reader *r, size_t n, const char *field)
{
    const unsigned char *q;

    if (r->bad)
        return NULL;
    if (r->left < n) {
        rd_fail(r, "cut short in %s (%zu bytes needed, %zu left)", field, n, r->left);
        return NULL;
    }
    q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}

static uint64_t rd_le(struct reader *r, size_t n, const char *field)
{
    const unsigned char *q = rd_bytes(r, n, field);
    uint64_t v = 0;
    size_t i;

    if (!q)
        return 0;
    for (i = 0; i < n; i++)
        v |= (uint64_t)q[i] << (8 * i);
    return v;
}

/* A u8 that must not exceed max. */
static unsigned rd_u8(struct reader *r, const char *field, unsigned max)
{
    unsigned v = (unsigned)rd_le(r, 1, field);

    if (v > max) {
        rd_fail(r, "%s is %u, at most %u is valid", field, v, max);
        return 0;
    }
    return v;
}

static uint32_t rd_u32(struct reader *r, const char *field)
{
    return (uint32_t)rd_le(r, 4, field);
}

static int32_t rd_i32(struct reader *r, const char *field)
{
    uint32_t u = rd_u32(r, field);

    return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1;
}

static uint64_t rd_u64(struct reader *r, const char *field)
{
    return rd_le(r, 8, field);
}

static int64_t rd_i64(struct reader *r, const char *field)
{
    uint64_t u = rd_u64(r, field);

    return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

static double rd_f64(struct reader *r, const char *field)
{
    uint64_t bits = rd_u64(r, field);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* Copy n bytes from the blob into the string space; "" once bad. */
static const char *rd_text(struct reader *r, size_t n, const char *field)
{
    const unsigned char *q = rd_bytes(r, n, field);
    char *s;

    if (!q)
        return "";
    s = r->text + r->used;
    memcpy(s, q, n);
    s[n] = '\0';
    r->used += n + 1;
    return s;
}

/* A u32 length and the bytes. */
static const char *rd_str(struct reader *r, const char *field)
{
    uint32_t n = rd_u32(r, field);

    if (!r->bad && n > r->left) {
        rd_fail(r, "%s says %" PRIu32 " bytes, %zu are left", field, n, r->left);
        return "";
    }
    return rd_text(r, n, field);
}

/* A u32 count of entries of at least min_bytes each, refused when the
 * bytes left cannot hold it (so that damage never sizes an allocation). */
static uint32_t rd_count(struct reader *r, const char *field, size_t min_bytes)
{
    uint32_t n = rd_u32(r, field);

    if (!r->bad && n > r->left / min_bytes) {
        rd_fail(r, "%s says %" PRIu32 " entries, %zu bytes cannot hold them", field, n,
                r->left);
        return 0;
    }
    return n;
}

/* An array of n entries of size each (NULL for none), or NULL after a
 * failure. */
static void *rd_array(struct reader *r, size_t n, size_t size)
{
    void *a;

    if (r->bad || n == 0)
        return NULL;
    a = calloc(n, size);
    if (!a) {
        r->oom = 1;
        rd_fail(r, "out of memory");
    }
    return a;
}

/* Check the header: the kind byte and a version this build reads. */
static void rd_header(struct reader *r, unsigned current)
{
    unsigned kind = (unsigned)rd_le(r, 1, "the kind byte");
    unsigned version = (unsigned)rd_le(r, 1, "the version byte");

    if (r->bad)
        return;
    if (kind != (unsigned)r->kind) {
        rd_fail(r, "its kind byte is 0x%02x, not '%c'", kind, (int)r->kind);
        return;
    }
    r->version = version;
    if (version == 0 || version > current)
        rd_fail(r, "unknown version %u (this build reads 1 to %u)", version, current);
}

/* The reader of one version of one kind; `rec` is the kind's record. */
typedef void (*read_fn)(struct reader *r, void *rec);

/*
 * Decode `blob` into `rec` with readers[version]: the version is read
 * from the header when `header`, else it is 0 (no header). The string
 * space goes to *text whatever the outcome. Returns 0, -1 for a blob that
 * cannot be read (warned), -2 for want of memory.
 */
static int decode(const void *blob, size_t len, const char *what,
                  enum tocsin_saved_kind kind, int header, const read_fn *readers,
                  unsigned nreaders, void *rec, char **text)
{
    struct reader r;

    if (rd_begin(&r, blob, len, kind, what) < 0)
        return -2;
    if (header)
        rd_header(&r, nreaders - 1);
    if (!r.bad)
        readers[r.version](&r, rec);
    *text = r.text;
    if (!r.bad && r.left)
        rd_fail(&r, "%zu bytes left over after the last field", r.left);
    return r.oom ? -2 : r.bad ? -1 : 0;
}

/* Version 0 only: a native copy of n bytes. */
static void rd_native(struct reader *r, void *dst, size_t n, const char *field)
{
    const unsigned char *q = rd_bytes(r, n, field);

    if (q)
        memcpy(dst, q, n);
}

/* Version 0 only: a native uint32 length and the bytes; with_nul when the
 * length counts a terminating NUL that must be there. */
static const char *rd_str_v0(struct reader *r, const char *field, int with_nul)
{
    uint32_t n = 0;
    const char *s;

    rd_native(r, &n, sizeof(n), field);
    if (r->bad)
        return "";
    if (n > r->left || (with_nul && (n == 0 || r->p[n - 1] != '\0'))) {
        rd_fail(r, "%s has a damaged length (%" PRIu32 ", %zu bytes left)", field, n,
                r->left);
        return "";
    }
    s = rd_text(r, with_nul ? n - 1 : n, field);
    if (with_nul)
        rd_bytes(r, 1, field);
    return s;
}

/* ------------------------------------------------------------------ */
/* Alerts (outbox payloads)                                            */
/* ------------------------------------------------------------------ */

/* The strings of an alert, in their saved order. */
#define ALERT_STRINGS(a) \
    X(a, service) X(a, host) X(a, output) X(a, long_output) X(a, perfdata) \
    X(a, incident) X(a, group_key) X(a, route) X(a, link) X(a, reason)

int tocsin_saved_alert_encode(struct tocsin_buf *out, const struct tocsin_alert *a,
                              int64_t deferred_until)
{
    struct writer w;
    size_t i;

    put_begin(&w, out, TOCSIN_SAVED_ALERT, TOCSIN_SAVED_ALERT_VERSION);
    put_u8(&w, (unsigned)a->kind);
    put_u8(&w, (unsigned)a->severity);
    put_u8(&w, (unsigned)a->state);
    put_u8(&w, (unsigned)a->previous);
    put_u8(&w, a->hard != 0);
    put_u8(&w, a->flapping != 0);
    put_i32(&w, (int32_t)a->attempt);
    put_i32(&w, (int32_t)a->max_attempts);
    put_i64(&w, (int64_t)a->since);
    put_i64(&w, (int64_t)a->problem_since);
    put_i64(&w, (int64_t)a->at);
#define X(a, f) put_str(&w, (a)->f);
    ALERT_STRINGS(a)
#undef X
    if (a->nlabels > UINT32_MAX)
        w.bad = 1;
    put_u32(&w, (uint32_t)a->nlabels);
    for (i = 0; i < a->nlabels && !w.bad; i++) {
        put_str(&w, a->labels[i].key);
        put_str(&w, a->labels[i].value);
    }
    put_str(&w, a->priority);
    put_u8(&w, a->priority_rank > 0 && a->priority_rank <= UCHAR_MAX
               ? (unsigned)a->priority_rank : 0);
    put_str(&w, a->assignee);
    put_i64(&w, deferred_until);
    return put_end(&w);
}

/* Version 1: see docs/internals/saved-formats.md. */
static void alert_read_v1(struct reader *r, void *rec)
{
    struct tocsin_saved_alert *sa = rec;
    struct tocsin_alert *a = &sa->alert;
    uint32_t i, n;

    a->kind = (enum tocsin_alert_kind)rd_u8(r, "kind", TOCSIN_ALERT_KIND_MAX);
    a->severity = (enum tocsin_severity)rd_u8(r, "severity", TOCSIN_SEVERITY_CRITICAL);
    a->state = (enum tocsin_state)rd_u8(r, "state", TOCSIN_UNKNOWN);
    a->previous = (enum tocsin_state)rd_u8(r, "previous", TOCSIN_UNKNOWN);
    a->hard = (int)rd_u8(r, "hard", 1);
    a->flapping = (int)rd_u8(r, "flapping", 1);
    a->attempt = rd_i32(r, "attempt");
    a->max_attempts = rd_i32(r, "max_attempts");
    a->since = (time_t)rd_i64(r, "since");
    a->problem_since = (time_t)rd_i64(r, "problem_since");
    a->at = (time_t)rd_i64(r, "at");
#define X(a, f) (a)->f = rd_str(r, #f);
    ALERT_STRINGS(a)
#undef X
    n = rd_count(r, "labels", LABEL_MIN_BYTES);
    sa->labels = rd_array(r, n, sizeof(*sa->labels));
    for (i = 0; i < n && !r->bad; i++) {
        sa->labels[i].key = rd_str(r, "label key");
        sa->labels[i].value = rd_str(r, "label value");
    }
    a->labels = sa->labels;
    a->nlabels = n;
    a->priority = a->assignee = "";
}

/* Version 2: version 1, then the incident's priority, its rank and the
 * assignee. */
static void alert_read_v2(struct reader *r, void *rec)
{
    struct tocsin_saved_alert *sa = rec;

    alert_read_v1(r, rec);
    sa->alert.priority = rd_str(r, "priority");
    sa->alert.priority_rank = (int)rd_u8(r, "priority_rank", UCHAR_MAX);
    if (!r->bad && !*sa->alert.priority != !sa->alert.priority_rank)
        rd_fail(r, "priority \"%s\" with rank %d", sa->alert.priority,
                sa->alert.priority_rank);
    sa->alert.assignee = rd_str(r, "assignee");
}

/* Version 3: version 2, then the time its route's defer holds it until
 * (0: not deferred). */
static void alert_read_v3(struct reader *r, void *rec)
{
    struct tocsin_saved_alert *sa = rec;

    alert_read_v2(r, rec);
    sa->deferred_until = rd_i64(r, "deferred_until");
}

/* Version 0: the fixed part copied in native layout, then each string as
 * a native uint32 length counting its NUL, and the bytes with the NUL. */
struct alert_v0 {
    uint32_t kind, severity, state, previous, hard, attempt, max_attempts, flapping;
    int64_t since, problem_since, at;
    uint32_t nlabels;
};

static void alert_read_v0(struct reader *r, void *rec)
{
    struct tocsin_saved_alert *sa = rec;
    struct tocsin_alert *a = &sa->alert;
    struct alert_v0 f;
    uint32_t i;

    memset(&f, 0, sizeof(f));
    rd_native(r, &f, sizeof(f), "the fixed fields");
    if (r->bad)
        return;
    if (f.kind > TOCSIN_ALERT_RESULT || f.severity > TOCSIN_SEVERITY_CRITICAL ||
        f.state > TOCSIN_UNKNOWN || f.previous > TOCSIN_UNKNOWN) {
        rd_fail(r, "kind, severity or state out of range");
        return;
    }
    a->kind = (enum tocsin_alert_kind)f.kind;
    a->severity = (enum tocsin_severity)f.severity;
    a->state = (enum tocsin_state)f.state;
    a->previous = (enum tocsin_state)f.previous;
    a->hard = f.hard != 0;
    a->attempt = (int)f.attempt;
    a->max_attempts = (int)f.max_attempts;
    a->flapping = f.flapping != 0;
    a->since = (time_t)f.since;
    a->problem_since = (time_t)f.problem_since;
    a->at = (time_t)f.at;
#define X(a, f) (a)->f = rd_str_v0(r, #f, 1);
    ALERT_STRINGS(a)
#undef X
    if (!r->bad && f.nlabels > r->left / (2 * (sizeof(uint32_t) + 1))) {
        rd_fail(r, "%" PRIu32 " labels cannot fit in %zu bytes", f.nlabels, r->left);
        return;
    }
    sa->labels = rd_array(r, f.nlabels, sizeof(*sa->labels));
    for (i = 0; i < f.nlabels && !r->bad; i++) {
        sa->labels[i].key = rd_str_v0(r, "label key", 1);
        sa->labels[i].value = rd_str_v0(r, "label value", 1);
    }
    a->labels = sa->labels;
    a->nlabels = f.nlabels;
    a->priority = a->assignee = "";
}

void tocsin_saved_alert_free(struct tocsin_saved_alert *sa)
{
    free(sa->text);
    free(sa->labels);
    memset(sa, 0, sizeof(*sa));
}

/* Decode a alert blob (header: with its header; else version 0) into *out,
 * which needs tocsin_saved_alert_free after 0 only. As decode(). */
static int alert_decode(const void *blob, size_t len, const char *what, int header,
                        struct tocsin_saved_alert *out)
{
    static const read_fn readers[] = {alert_read_v0, alert_read_v1, alert_read_v2,
                                      alert_read_v3};
    int rc;

    _Static_assert(sizeof(readers) / sizeof(readers[0]) == TOCSIN_SAVED_ALERT_VERSION + 1,
                   "a reader for every version");
    memset(out, 0, sizeof(*out));
    rc = decode(blob, len, what, TOCSIN_SAVED_ALERT, header, readers,
                TOCSIN_SAVED_ALERT_VERSION + 1, out, &out->text);
    if (rc < 0)
        tocsin_saved_alert_free(out);
    return rc;
}

int tocsin_saved_alert_decode(const void *blob, size_t len, const char *what,
                              struct tocsin_saved_alert *out)
{
    return alert_decode(blob, len, what, 1, out) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Incidents (state kind "alerting")                                   */
/* ------------------------------------------------------------------ */

#define INCIDENT_STRINGS(inc) \
    X(inc, ack_author) X(inc, ack_text) X(inc, downtime_author) X(inc, downtime_text)

int tocsin_saved_incident_encode(struct tocsin_buf *out,
                                 const struct tocsin_saved_incident *inc)
{
    struct writer w;
    size_t i;

    put_begin(&w, out, TOCSIN_SAVED_INCIDENT, TOCSIN_SAVED_INCIDENT_VERSION);
    put_i64(&w, inc->problem_since);
    put_i64(&w, inc->next_repeat);
    put_i64(&w, inc->downtime_until);
    put_u8(&w, (unsigned)inc->state);
    put_i32(&w, inc->route);
    put_u8(&w, inc->pending != 0);
    put_u8(&w, inc->acked != 0);
    put_u32(&w, inc->esc_next);
    put_str(&w, inc->key);
    if (inc->ntold > UINT32_MAX)
        w.bad = 1;
    put_u32(&w, (uint32_t)inc->ntold);
    for (i = 0; i < inc->ntold && !w.bad; i++)
        put_str(&w, inc->told[i]);
#define X(inc, f) put_str(&w, (inc)->f);
    INCIDENT_STRINGS(inc)
#undef X
    put_i64(&w, inc->ack_at);
    put_u32(&w, inc->respond_breaches);
    put_u32(&w, inc->resolve_breaches);
    put_str(&w, inc->assignee);
    return put_end(&w);
}

static void incident_read_v1(struct reader *r, void *rec)
{
    struct tocsin_saved_incident *inc = rec;
    uint32_t i, n;

    inc->problem_since = rd_i64(r, "problem_since");
    inc->next_repeat = rd_i64(r, "next_repeat");
    inc->downtime_until = rd_i64(r, "downtime_until");
    inc->state = (int)rd_u8(r, "state", TOCSIN_UNKNOWN);
    inc->route = rd_i32(r, "route");
    if (!r->bad && inc->route < -1)
        rd_fail(r, "route is %" PRId32 ", below -1", inc->route);
    inc->pending = (int)rd_u8(r, "pending", 1);
    inc->acked = (int)rd_u8(r, "acked", 1);
    inc->esc_next = rd_u32(r, "esc_next");
    inc->key = rd_str(r, "key");
    n = rd_count(r, "told", STR_MIN_BYTES);
    inc->told = rd_array(r, n, sizeof(*inc->told));
    for (i = 0; i < n && !r->bad; i++)
        inc->told[i] = rd_str(r, "told");
    inc->ntold = n;
#define X(inc, f) (inc)->f = rd_str(r, #f);
    INCIDENT_STRINGS(inc)
#undef X
    inc->assignee = "";
}

/* Version 2: version 1, then when the problem was acknowledged, the
 * targets of its priority it missed and whom it is assigned to. */
static void incident_read_v2(struct reader *r, void *rec)
{
    struct tocsin_saved_incident *inc = rec;

    incident_read_v1(r, rec);
    inc->ack_at = rd_i64(r, "ack_at");
    inc->respond_breaches = rd_u32(r, "respond_breaches");
    inc->resolve_breaches = rd_u32(r, "resolve_breaches");
    if (!r->bad && inc->ack_at < 0)
        rd_fail(r, "ack_at is negative");
    inc->assignee = rd_str(r, "assignee");
}

/* Version 0: the fixed part in native layout, then the key, the names of
 * the notifiers told and the four texts, each a native uint32 length and
 * the bytes (no NUL). */
struct incident_v0 {
    int64_t problem_since, next_repeat, downtime_until;
    int32_t state, route, pending, acked;
    uint32_t esc_next, ntold;
};

static void incident_read_v0(struct reader *r, void *rec)
{
    struct tocsin_saved_incident *inc = rec;
    struct incident_v0 f;
    uint32_t i;

    memset(&f, 0, sizeof(f));
    rd_native(r, &f, sizeof(f), "the fixed fields");
    if (r->bad)
        return;
    inc->problem_since = f.problem_since;
    inc->next_repeat = f.next_repeat;
    inc->downtime_until = f.downtime_until;
    /* What the restore of that version made of them. */
    inc->state = f.state >= 0 && f.state <= TOCSIN_UNKNOWN ? f.state : TOCSIN_UNKNOWN;
    inc->route = f.route >= 0 ? f.route : -1;
    inc->pending = f.pending != 0;
    inc->acked = f.acked != 0;
    inc->esc_next = f.esc_next;
    inc->key = rd_str_v0(r, "key", 0);
    if (!r->bad && f.ntold > r->left / sizeof(uint32_t)) {
        rd_fail(r, "%" PRIu32 " notifiers told cannot fit in %zu bytes", f.ntold, r->left);
        return;
    }
    inc->told = rd_array(r, f.ntold, sizeof(*inc->told));
    for (i = 0; i < f.ntold && !r->bad; i++)
        inc->told[i] = rd_str_v0(r, "told", 0);
    inc->ntold = f.ntold;
#define X(inc, f) (inc)->f = rd_str_v0(r, #f, 0);
    INCIDENT_STRINGS(inc)
#undef X
    inc->assignee = "";
}

void tocsin_saved_incident_free(struct tocsin_saved_incident *inc)
{
    free(inc->text);
    free((void *)inc->told);
    memset(inc, 0, sizeof(*inc));
}

/* Decode a incident blob (header: with its header; else version 0) into *out,
 * which needs tocsin_saved_incident_free after 0 only. As decode(). */
static int incident_decode(const void *blob, size_t len, const char *what, int header,
                           struct tocsin_saved_incident *out)
{
    static const read_fn readers[] = {incident_read_v0, incident_read_v1,
                                      incident_read_v2};
    int rc;

    _Static_assert(sizeof(readers) / sizeof(readers[0]) == TOCSIN_SAVED_INCIDENT_VERSION + 1,
                   "a reader for every version");
    memset(out, 0, sizeof(*out));
    rc = decode(blob, len, what, TOCSIN_SAVED_INCIDENT, header, readers,
                TOCSIN_SAVED_INCIDENT_VERSION + 1, out, &out->text);
    if (rc < 0)
        tocsin_saved_incident_free(out);
    return rc;
}

int tocsin_saved_incident_decode(const void *blob, size_t len, const char *what,
                                 struct tocsin_saved_incident *out)
{
    return incident_decode(blob, len, what, 1, out) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Service states (state kind "service")                               */
/* ------------------------------------------------------------------ */

int tocsin_saved_service_encode(struct tocsin_buf *out,
                                const struct tocsin_saved_service *s)
{
    struct writer w;
    size_t i;

    put_begin(&w, out, TOCSIN_SAVED_SERVICE, TOCSIN_SAVED_SERVICE_VERSION);
    put_u64(&w, s->hash);
    put_u8(&w, (unsigned)s->st.state);
    put_u8(&w, (unsigned)s->st.hard_state);
    put_u8(&w, s->st.is_hard != 0);
    put_i32(&w, (int32_t)s->st.attempt);
    put_u8(&w, s->st.checked != 0);
    put_u8(&w, TOCSIN_FLAP_HISTORY);
    for (i = 0; i < TOCSIN_FLAP_HISTORY; i++)
        put_u8(&w, s->st.history[i]);
    put_u8(&w, s->st.hist_count);
    put_u8(&w, s->st.hist_next);
    put_u8(&w, s->st.flapping != 0);
    put_f64(&w, s->st.flap_percent);
    put_i64(&w, s->last_change);
    put_i64(&w, s->last_check);
    put_str(&w, s->output);
    put_i64(&w, s->st.problem_since_ms);
    return put_end(&w);
}

/* The checks both versions share: what would index past the history or
 * name no state. */
static void service_check(struct reader *r, const struct tocsin_svc_state *st)
{
    size_t i;

    if (r->bad)
        return;
    if ((unsigned)st->state > TOCSIN_UNKNOWN || (unsigned)st->hard_state > TOCSIN_UNKNOWN)
        rd_fail(r, "state out of range");
    else if (st->hist_count > TOCSIN_FLAP_HISTORY || st->hist_next >= TOCSIN_FLAP_HISTORY)
        rd_fail(r, "flap history position out of range (count %u, next %u)",
                st->hist_count, st->hist_next);
    for (i = 0; i < TOCSIN_FLAP_HISTORY && !r->bad; i++)
        if (st->history[i] > TOCSIN_UNKNOWN)
            rd_fail(r, "flap history entry %zu is %u, not a state", i, st->history[i]);
}

static void service_read_v1(struct reader *r, void *rec)
{
    struct tocsin_saved_service *s = rec;
    unsigned n, i;

    s->hash = rd_u64(r, "hash");
    s->st.state = (enum tocsin_state)rd_u8(r, "state", TOCSIN_UNKNOWN);
    s->st.hard_state = (enum tocsin_state)rd_u8(r, "hard_state", TOCSIN_UNKNOWN);
    s->st.is_hard = (int)rd_u8(r, "is_hard", 1);
    s->st.attempt = rd_i32(r, "attempt");
    s->st.checked = (int)rd_u8(r, "checked", 1);
    n = rd_u8(r, "history length", UCHAR_MAX);
    if (!r->bad && n != TOCSIN_FLAP_HISTORY)
        rd_fail(r, "a flap history of %u entries, this build keeps %d", n,
                TOCSIN_FLAP_HISTORY);
    for (i = 0; i < TOCSIN_FLAP_HISTORY && !r->bad; i++)
        s->st.history[i] = (unsigned char)rd_u8(r, "history", TOCSIN_UNKNOWN);
    s->st.hist_count = (unsigned char)rd_u8(r, "hist_count", TOCSIN_FLAP_HISTORY);
    s->st.hist_next = (unsigned char)rd_u8(r, "hist_next", TOCSIN_FLAP_HISTORY - 1);
    s->st.flapping = (int)rd_u8(r, "flapping", 1);
    s->st.flap_percent = rd_f64(r, "flap_percent");
    s->last_change = rd_i64(r, "last_change");
    s->last_check = rd_i64(r, "last_check");
    s->output = rd_str(r, "output");
    service_check(r, &s->st);
}

/* Version 2: version 1, then when the current problem was first seen. */
static void service_read_v2(struct reader *r, void *rec)
{
    struct tocsin_saved_service *s = rec;

    service_read_v1(r, rec);
    s->st.problem_since_ms = rd_i64(r, "problem_since_ms");
    if (!r->bad && s->st.problem_since_ms < 0)
        rd_fail(r, "problem_since_ms is negative");
}

/* Version 0: the fixed part in native layout (struct tocsin_svc_state as
 * it was then, inside it), then the output up to the end of the blob. */
struct service_v0 {
    uint64_t hash;
    struct {
        uint32_t state, hard_state;
        int32_t is_hard, attempt, checked;
        unsigned char history[21];
        unsigned char hist_count, hist_next;
        int32_t flapping;
        double flap_percent;
    } st;
    int64_t last_change, last_check;
};

_Static_assert(TOCSIN_FLAP_HISTORY == 21, "version 0 kept 21 history entries");

static void service_read_v0(struct reader *r, void *rec)
{
    struct tocsin_saved_service *s = rec;
    struct service_v0 f;

    memset(&f, 0, sizeof(f));
    rd_native(r, &f, sizeof(f), "the fixed fields");
    if (r->bad)
        return;
    s->hash = f.hash;
    s->st.state = (enum tocsin_state)f.st.state;
    s->st.hard_state = (enum tocsin_state)f.st.hard_state;
    s->st.is_hard = f.st.is_hard != 0;
    s->st.attempt = f.st.attempt;
    s->st.checked = f.st.checked != 0;
    memcpy(s->st.history, f.st.history, sizeof(s->st.history));
    s->st.hist_count = f.st.hist_count;
    s->st.hist_next = f.st.hist_next;
    s->st.flapping = f.st.flapping != 0;
    s->st.flap_percent = f.st.flap_percent;
    s->last_change = f.last_change;
    s->last_check = f.last_check;
    service_check(r, &s->st);
    s->output = rd_text(r, r->left, "output");
}

void tocsin_saved_service_free(struct tocsin_saved_service *s)
{
    free(s->text);
    memset(s, 0, sizeof(*s));
}

/* Decode a service blob (header: with its header; else version 0) into *out,
 * which needs tocsin_saved_service_free after 0 only. As decode(). */
static int service_decode(const void *blob, size_t len, const char *what, int header,
                          struct tocsin_saved_service *out)
{
    static const read_fn readers[] = {service_read_v0, service_read_v1, service_read_v2};
    int rc;

    _Static_assert(sizeof(readers) / sizeof(readers[0]) == TOCSIN_SAVED_SERVICE_VERSION + 1,
                   "a reader for every version");
    memset(out, 0, sizeof(*out));
    rc = decode(blob, len, what, TOCSIN_SAVED_SERVICE, header, readers,
                TOCSIN_SAVED_SERVICE_VERSION + 1, out, &out->text);
    if (rc < 0)
        tocsin_saved_service_free(out);
    return rc;
}

int tocsin_saved_service_decode(const void *blob, size_t len, const char *what,
                                struct tocsin_saved_service *out)
{
    return service_decode(blob, len, what, 1, out) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Upgrades                                                            */
/* ------------------------------------------------------------------ */

enum tocsin_saved_kind tocsin_saved_state_kind(const char *state_kind)
{
    if (!state_kind)
        return 0;
    if (strcmp(state_kind, TOCSIN_SAVED_STATE_INCIDENT) == 0)
        return TOCSIN_SAVED_INCIDENT;
    if (strcmp(state_kind, TOCSIN_SAVED_STATE_SERVICE) == 0)
        return TOCSIN_SAVED_SERVICE;
    return 0;
}

int tocsin_saved_upgrade(enum tocsin_saved_kind kind, const void *blob, size_t len,
                         const char *what, struct tocsin_buf *out)
{
    union {
        struct tocsin_saved_alert alert;
        struct tocsin_saved_incident incident;
        struct tocsin_saved_service service;
    } rec;
    int rc = -1;

    switch (kind) {
    case TOCSIN_SAVED_ALERT:
        rc = alert_decode(blob, len, what, 0, &rec.alert);
        if (rc == 0) {
            rc = tocsin_saved_alert_encode(out, &rec.alert.alert, 0);
            tocsin_saved_alert_free(&rec.alert);
        }
        break;
    case TOCSIN_SAVED_INCIDENT:
        rc = incident_decode(blob, len, what, 0, &rec.incident);
        if (rc == 0) {
            rc = tocsin_saved_incident_encode(out, &rec.incident);
            tocsin_saved_incident_free(&rec.incident);
        }
        break;
    case TOCSIN_SAVED_SERVICE:
        rc = service_decode(blob, len, what, 0, &rec.service);
        if (rc == 0) {
            rc = tocsin_saved_service_encode(out, &rec.service);
            tocsin_saved_service_free(&rec.service);
        }
        break;
    }
    /* decode: -1 unreadable, -2 oom; encode: -1 oom. */
    return rc == 0 ? 0 : rc == -1 && out->oom == 0 ? 1 : -1;
}
