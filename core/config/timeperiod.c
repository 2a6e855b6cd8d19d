/*
 * timeperiod.c - named time periods and local wall-clock times. See
 * timeperiod.h for the interface and docs/internals/timeperiod.md for the design.
 *
 * The C library converts instants to local time only in the zone TZ
 * names, and pointing TZ at another zone makes it read that zone's file
 * (and the host's again when TZ is put back). So each named zone keeps,
 * besides a memo of its last conversion, the stretch of time between two
 * transitions (read from the zone's TZif file) in which its last
 * conversion happened, and the UTC offset valid throughout that stretch:
 * while an instant falls inside it, local time is the instant plus that
 * offset, broken down by gmtime_r(), without touching TZ.
 */
#include "config/timeperiod.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where zone files live unless TZDIR says otherwise (as for the C library). */
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/* Larger zone files are refused; real ones are a few kilobytes. */
#define TZIF_MAX_BYTES (1024 * 1024)

/* ------------------------------------------------------------------ */
/* Zone files                                                          */
/* ------------------------------------------------------------------ */

struct tocsin_tz {
    char *name;            /* IANA name, as TZ is set to it */
    char *path;            /* its file, to notice a tzdata update */
    ino_t ino;             /* identity of the file read */
    dev_t dev;
    time_t mtime;
    unsigned refs;         /* periods pointing here */
    int64_t *trans;        /* transition instants, ascending; NULL when
                              the file cannot serve the cache (leap seconds) */
    size_t ntrans;
    int have_stretch;      /* lo/hi/offset hold */
    int64_t lo, hi;        /* [lo, hi): no transition inside */
    long offset;           /* seconds east of UTC throughout [lo, hi) */
    int have_memo;         /* memo_t/memo_tm hold */
    time_t memo_t;         /* the last instant converted ... */
    struct tm memo_tm;     /* ... and its local time */
    struct tocsin_tz *next;
};

static struct tocsin_tz *zones;        /* every zone some period names */
static unsigned long zone_switches;    /* TZ pointed elsewhere, in total */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Transition i of a TZif data block whose times are tsize (4 or 8) bytes. */
static int64_t transition_at(const unsigned char *tt, size_t tsize, size_t i)
{
    return tsize == 8 ? be64(tt + i * 8) : (int32_t)be32(tt + i * 4);
}

/*
 * Build the path of zone `name` into path (len bytes). A zone is a
 * relative path of ordinary components (letters, digits, '_', '-', '+',
 * '.'), never "." or "..". Returns 0, or -1 with why in err.
 */
static int zone_path(const char *name, char *path, size_t len, char *err,
                     size_t errlen)
{
    const char *dir = getenv("TZDIR"), *p, *comp;
    int n;

    if (!name || !*name) {
        snprintf(err, errlen, "the time zone name is empty");
        return -1;
    }
    if (name[0] == '/') {
        snprintf(err, errlen, "time zone \"%s\" is a path; give a zone name "
                 "such as \"Europe/Berlin\"", name);
        return -1;
    }
    for (comp = p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t clen = (size_t)(p - comp);

            if (clen == 0 || (clen == 1 && comp[0] == '.') ||
                (clen == 2 && comp[0] == '.' && comp[1] == '.')) {
                snprintf(err, errlen, "time zone \"%s\" is not a zone name "
                         "(empty, \".\" or \"..\" component)", name);
                return -1;
            }
            if (*p == '\0')
                break;
            comp = p + 1;
        } else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
                     *p == '+' || *p == '.')) {
            snprintf(err, errlen, "time zone \"%s\" is not a zone name "
                     "(character '%c')", name, *p);
            return -1;
        }
    }
    if (!dir || !*dir)
        dir = ZONEINFO_DIR;
    n = snprintf(path, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len) {
        snprintf(err, errlen, "time zone \"%.64s...\" is too long", name);
        return -1;
    }
    return 0;
}

/*
 * Read the TZif file of zone `name`. With trans non-NULL, store its
 * transition instants (malloc'ed, ascending, owned by the caller; NULL
 * with *ntrans 0 when there are none or the file counts leap seconds,
 * which makes offsets alone insufficient) and, with st non-NULL, the
 * file's identity. Returns 0, or -1 with why in err.
 * Cost: one open and one read of a few kilobytes.
 */
static int tzif_read(const char *name, int64_t **trans, size_t *ntrans,
                     struct stat *st, char *err, size_t errlen)
{
    char path[4096];
    unsigned char *data = NULL;
    struct stat sb;
    size_t size, got = 0, v1, tsize, count, i;
    const unsigned char *hdr, *tt;
    uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
    int fd = -1, rc = -1, e;

    if (trans) {
        *trans = NULL;
        *ntrans = 0;
    }
    if (zone_path(name, path, sizeof(path), err, errlen) < 0)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        if (e == ENOENT || e == ENOTDIR)
            snprintf(err, errlen, "unknown time zone \"%s\" (no file %s)",
                     name, path);
        else
            snprintf(err, errlen, "time zone \"%s\": cannot open %s: %s",
                     name, path, strerror(e));
        goto out;
    }
    if (fstat(fd, &sb) < 0) {
        e = errno;
        snprintf(err, errlen, "time zone \"%s\": cannot stat %s: %s", name,
                 path, strerror(e));
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 44 || sb.st_size > TZIF_MAX_BYTES) {
        snprintf(err, errlen, "unknown time zone \"%s\" (%s is not a zone "
                 "file)", name, path);
        goto out;
    }
    size = (size_t)sb.st_size;
    data = malloc(size);
    if (!data) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            e = r < 0 ? errno : EIO;
            snprintf(err, errlen, "time zone \"%s\": cannot read %s: %s",
                     name, path, strerror(e));
            goto out;
        }
        got += (size_t)r;
    }
    if (memcmp(data, "TZif", 4) != 0)
        goto bad;

    /* The version 1 block (32-bit times), then for version 2 and later a
     * second header and block with 64-bit times, which we prefer. */
    hdr = data;
    tsize = 4;
    for (;;) {
        isut = be32(hdr + 20);
        isstd = be32(hdr + 24);
        leap = be32(hdr + 28);
        timecnt = be32(hdr + 32);
        typecnt = be32(hdr + 36);
        charcnt = be32(hdr + 40);
        if (typecnt == 0 || timecnt > 100000 || typecnt > 256 ||
            charcnt > 100000 || leap > 100000 || isut > 256 || isstd > 256)
            goto bad;
        v1 = (size_t)timecnt * (tsize + 1) + (size_t)typecnt * 6 + charcnt +
             (size_t)leap * (tsize + 4) + isstd + isut;
        if ((size_t)(hdr - data) + 44 + v1 > size)
            goto bad;
        if (tsize == 8 || hdr[4] == '\0')
            break;
        /* Version 2+: skip to the second header. */
        hdr += 44 + v1;
        if ((size_t)(hdr - data) + 44 > size || memcmp(hdr, "TZif", 4) != 0)
            goto bad;
        tsize = 8;
    }
    tt = hdr + 44;
    for (i = 1; i < timecnt; i++)
        if (transition_at(tt, tsize, i - 1) >= transition_at(tt, tsize, i))
            goto bad;
    if (trans && leap == 0 && timecnt > 0) {
        count = timecnt;
        *trans = malloc(count * sizeof(**trans));
        if (!*trans) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        for (i = 0; i < count; i++)
            (*trans)[i] = transition_at(tt, tsize, i);
        *ntrans = count;
    }
    if (st)
        *st = sb;
    rc = 0;
    goto out;
bad:
    snprintf(err, errlen, "unknown time zone \"%s\" (%s is not a valid TZif "
             "zone file)", name, path);
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return rc;
}

int tocsin_timezone_check(const char *name, char *err, size_t errlen)
{
    return tzif_read(name, NULL, NULL, NULL, err, errlen);
}

unsigned long tocsin_timezone_switches(void)
{
    return zone_switches;
}

/* (Re)load z's transitions from its file and forget what was cached. */
static int tz_load(struct tocsin_tz *z, char *err, size_t errlen)
{
    int64_t *trans;
    size_t ntrans;
    struct stat st;

    if (tzif_read(z->name, &trans, &ntrans, &st, err, errlen) < 0)
        return -1;
    free(z->trans);
    z->trans = trans;
    z->ntrans = ntrans;
    z->ino = st.st_ino;
    z->dev = st.st_dev;
    z->mtime = st.st_mtime;
    z->have_stretch = 0;
    z->have_memo = 0;
    return 0;
}

/* Re-read z's file if it changed since it was read (a tzdata update).
 * Returns 0, or -1 with why in err and z as it was. Cost: one stat(). */
static int tz_refresh(struct tocsin_tz *z, char *err, size_t errlen)
{
    struct stat st;

    if (stat(z->path, &st) == 0 && st.st_ino == z->ino &&
        st.st_dev == z->dev && st.st_mtime == z->mtime)
        return 0;
    return tz_load(z, err, errlen);
}

/*
 * The shared zone named `name`, with one more reference (release with
 * tz_put). A zone already in use is re-read when its file changed since,
 * so a tzdata update takes effect at the next configuration load at the
 * latest. Returns NULL with why in err.
 */
static struct tocsin_tz *tz_get(const char *name, char *err, size_t errlen)
{
    char path[4096];
    struct tocsin_tz *z;

    for (z = zones; z; z = z->next)
        if (strcmp(z->name, name) == 0)
            break;
    if (z) {
        if (tz_refresh(z, err, errlen) < 0)
            return NULL;
        z->refs++;
        return z;
    }
    if (zone_path(name, path, sizeof(path), err, errlen) < 0)
        return NULL;
    z = calloc(1, sizeof(*z));
    if (!z || !(z->name = strdup(name)) || !(z->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tz_load(z, err, errlen) < 0)
        goto fail;
    z->refs = 1;
    z->next = zones;
    zones = z;
    return z;
fail:
    if (z) {
        free(z->name);
        free(z->path);
        free(z->trans);
        free(z);
    }
    return NULL;
}

static void tz_put(struct tocsin_tz *z)
{
    struct tocsin_tz **pp;

    if (!z || --z->refs > 0)
        return;
    for (pp = &zones; *pp; pp = &(*pp)->next)
        if (*pp == z) {
            *pp = z->next;
            break;
        }
    free(z->name);
    free(z->path);
    free(z->trans);
    free(z);
}

/* ------------------------------------------------------------------ */
/* Local time                                                          */
/* ------------------------------------------------------------------ */

/* TZ as it was before tz_enter(), to be put back by tz_leave(). */
struct tz_saved {
    char *value;      /* the old value, when there was one */
    int was_set;
    int switched;     /* TZ was changed */
};

/* 1 when TZ value `cur` already names zone `name`. */
static int tz_is(const char *cur, const char *name)
{
    if (!cur)
        return 0;
    if (*cur == ':')
        cur++;
    return strcmp(cur, name) == 0;
}

/*
 * Make the C library's local time that of zone `name` (NULL: the host's,
 * as TZ says now). Unless TZ already names it, TZ is set to it, which
 * makes the C library read the zone file. Pair with tz_leave().
 * Returns 0, or -1 (out of memory).
 */
static int tz_enter(const char *name, struct tz_saved *sv)
{
    const char *cur = getenv("TZ");

    memset(sv, 0, sizeof(*sv));
    if (name && !tz_is(cur, name)) {
        if (cur) {
            sv->value = strdup(cur);
            if (!sv->value)
                return -1;
            sv->was_set = 1;
        }
        if (setenv("TZ", name, 1) != 0) {
            free(sv->value);
            sv->value = NULL;
            return -1;
        }
        sv->switched = 1;
        zone_switches++;
    }
    tzset();
    return 0;
}

/* Put TZ back as tz_enter() found it. Restoring an old value needs no
 * new memory in practice (the C library keeps values it has seen); if it
 * still fails, TZ is left unset rather than pointing at the wrong zone. */
static void tz_leave(struct tz_saved *sv)
{
    if (sv->switched) {
        if (!sv->was_set || setenv("TZ", sv->value, 1) != 0)
            unsetenv("TZ");
        tzset();
    }
    free(sv->value);
    sv->value = NULL;
}

/* Note the stretch between transitions of z that holds t, whose offset
 * the C library just gave. After the file's last transition the zone's
 * rule string takes over, which we do not interpret: nothing is noted. */
static void tz_note_stretch(struct tocsin_tz *z, time_t t, long offset)
{
    size_t lo = 0, hi = z->ntrans;

    z->have_stretch = 0;
    if (z->ntrans == 0)
        return;
    /* lo = number of transitions at or before t */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->trans[mid] <= (int64_t)t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == z->ntrans)
        return;
    z->lo = lo == 0 ? INT64_MIN : z->trans[lo - 1];
    z->hi = z->trans[lo];
    z->offset = offset;
    z->have_stretch = 1;
}

/*
 * Local time of instant t in zone z (NULL: the host's) into *tm; only the
 * broken-down fields and tm_gmtoff are meaningful. Returns 0, or -1 when
 * t cannot be converted. Cost: a memo hit or a gmtime_r() while t stays
 * in the zone's current stretch; otherwise a TZ switch and back.
 */
static int zone_local(struct tocsin_tz *z, time_t t, struct tm *tm)
{
    struct tz_saved sv;
    time_t shifted;
    char err[256];
    int ok;

    if (!z) {
        tzset();
        return localtime_r(&t, tm) ? 0 : -1;
    }
    if (z->have_memo && z->memo_t == t) {
        *tm = z->memo_tm;
        return 0;
    }
    if (z->have_stretch && (int64_t)t >= z->lo && (int64_t)t < z->hi &&
        !__builtin_add_overflow(t, (time_t)z->offset, &shifted)) {
        if (!gmtime_r(&shifted, tm))
            return -1;
        tm->tm_gmtoff = z->offset;
    } else {
        /* The C library reads the zone file as it is now; so do we. If it
         * cannot be read any more, the transitions known so far stay. */
        (void)tz_refresh(z, err, sizeof(err));
        if (tz_enter(z->name, &sv) < 0)
            return -1;
        ok = localtime_r(&t, tm) != NULL;
        tz_leave(&sv);
        if (!ok)
            return -1;
        tz_note_stretch(z, t, tm->tm_gmtoff);
    }
    z->memo_t = t;
    z->memo_tm = *tm;
    z->have_memo = 1;
    return 0;
}

static int is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* ------------------------------------------------------------------ */
/* Items of the configuration                                          */
/* ------------------------------------------------------------------ */

static const char *const weekday_abbr[7] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"};
static const char *const weekday_full[7] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
static const char *const month_abbr[12] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const month_full[12] = {
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december"};

/* Index of the name s[0..len) in abbr/full (case-insensitive), or -1. */
static int name_index(const char *s, size_t len, const char *const *abbr,
                      const char *const *full, int count)
{
    int i;

    for (i = 0; i < count; i++)
        if ((len == 3 && strncasecmp(s, abbr[i], 3) == 0) ||
            (len == strlen(full[i]) && strncasecmp(s, full[i], len) == 0))
            return i;
    return -1;
}

/* Read between min and max decimal digits at *p into *out, advancing *p.
 * Returns 0, or -1 when there are fewer or more digits. */
static int read_digits(const char **p, int min, int max, int *out)
{
    const char *s = *p;
    int n = 0, v = 0;

    while (*s >= '0' && *s <= '9') {
        if (n < 9)
            v = v * 10 + (*s - '0');
        n++;
        s++;
    }
    if (n < min || n > max)
        return -1;
    *p = s;
    *out = v;
    return 0;
}

/* Append [first, last] to a span array. Returns 0 or -1 on oom. */
static int add_span(struct tocsin_tp_span **v, size_t *n, int first, int last)
{
    struct tocsin_tp_span *p = realloc(*v, (*n + 1) * sizeof(**v));

    if (!p)
        return -1;
    p[*n].first = first;
    p[*n].last = last;
    *v = p;
    (*n)++;
    return 0;
}

/* Append a copy of name to a string array. Returns 0 or -1 on oom. */
static int add_name(char ***v, size_t *n, const char *name)
{
    char **p = realloc(*v, (*n + 1) * sizeof(**v));

    if (!p)
        return -1;
    *v = p;
    p[*n] = strdup(name);
    if (!p[*n])
        return -1;
    (*n)++;
    return 0;
}

/* Report an allocation failure in err; returns -1 for the caller. */
static int out_of_memory(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

/*
 * The item parsers. Each checks one list item and, when tp is non-NULL,
 * adds it to tp. They return 0, or -1 with why in err (errlen bytes).
 */

/* "mon", "monday", "mon-fri", "fri-mon" (wraps past Sunday). */
static int item_weekdays(const char *text, struct tocsin_timeperiod *tp,
                         char *err, size_t errlen)
{
    const char *dash = strchr(text, '-');
    size_t alen = dash ? (size_t)(dash - text) : strlen(text);
    int a, b, d;

    a = name_index(text, alen, weekday_abbr, weekday_full, 7);
    b = dash ? name_index(dash + 1, strlen(dash + 1), weekday_abbr, weekday_full, 7) : a;
    if (a < 0 || b < 0) {
        const char *bad = a < 0 ? text : dash + 1;
        size_t blen = a < 0 ? alen : strlen(dash + 1);

        if (blen == 0)
            snprintf(err, errlen, "\"%s\" is not a weekday or a range of "
                     "weekdays such as \"mon-fri\"", text);
        else
            snprintf(err, errlen, "\"%s\": \"%.*s\" is not a weekday (mon, "
                     "tue, wed, thu, fri, sat, sun)", text, (int)blen, bad);
        return -1;
    }
    if (tp)
        for (d = a;; d = (d + 1) % 7) {
            tp->weekdays |= (uint8_t)(1u << d);
            if (d == b)
                break;
        }
    return 0;
}

/* One month, by name or 1-12, into 0..11; -1 if it is neither. */
static int month_token(const char *s, size_t len)
{
    const char *p = s;
    int v;

    if (len > 0 && *s >= '0' && *s <= '9') {
        if (read_digits(&p, 1, 2, &v) < 0 || (size_t)(p - s) != len ||
            v < 1 || v > 12)
            return -1;
        return v - 1;
    }
    return name_index(s, len, month_abbr, month_full, 12);
}

/* "jan", "january", "3", "jan-mar", "nov-feb" (wraps past December). */
static int item_months(const char *text, struct tocsin_timeperiod *tp,
                       char *err, size_t errlen)
{
    const char *dash = strchr(text, '-');
    size_t alen = dash ? (size_t)(dash - text) : strlen(text);
    int a, b, m;

    a = month_token(text, alen);
    b = dash ? month_token(dash + 1, strlen(dash + 1)) : a;
    if (a < 0 || b < 0) {
        const char *bad = a < 0 ? text : dash + 1;
        size_t blen = a < 0 ? alen : strlen(dash + 1);

        if (blen == 0)
            snprintf(err, errlen, "\"%s\" is not a month or a range of "
                     "months such as \"jan-mar\"", text);
        else
            snprintf(err, errlen, "\"%s\": \"%.*s\" is not a month (jan ... "
                     "dec, or 1-12)", text, (int)blen, bad);
        return -1;
    }
    if (tp)
        for (m = a;; m = (m + 1) % 12) {
            tp->months |= (uint16_t)(1u << m);
            if (m == b)
                break;
        }
    return 0;
}

/* A clock time "H:MM" or "HH:MM" at *p into minutes; 24:00 only when
 * allow_24. Returns 0, -1 on bad syntax, -2 on an impossible time. */
static int read_clock(const char **p, int allow_24, int *minutes)
{
    int h, m;

    if (read_digits(p, 1, 2, &h) < 0 || **p != ':')
        return -1;
    (*p)++;
    if (read_digits(p, 2, 2, &m) < 0)
        return -1;
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow_24)))
        return -2;
    *minutes = h * 60 + m;
    return 0;
}

/* "09:00-17:00": [start, end) on the local wall clock; end may be 24:00
 * and must come after the start. */
static int item_times(const char *text, struct tocsin_timeperiod *tp,
                      char *err, size_t errlen)
{
    const char *p = text;
    int a, b, r;

    r = read_clock(&p, 0, &a);
    if (r == 0) {
        if (*p != '-')
            r = -1;
        else {
            p++;
            r = read_clock(&p, 1, &b);
            if (r == 0 && *p)
                r = -1;
        }
    }
    if (r == -1) {
        snprintf(err, errlen, "\"%s\" is not a time range (use HH:MM-HH:MM, "
                 "e.g. \"09:00-17:00\")", text);
        return -1;
    }
    if (r == -2) {
        snprintf(err, errlen, "\"%s\": hours go from 00 to 23 and minutes from "
                 "00 to 59; 24:00 may only end a range", text);
        return -1;
    }
    if (a == b) {
        snprintf(err, errlen, "\"%s\" is empty: the end must come after the "
                 "start", text);
        return -1;
    }
    if (a > b) {
        snprintf(err, errlen, "\"%s\": the end comes before the start; a range "
                 "over midnight is two ranges, \"%02d:%02d-24:00\" and "
                 "\"00:00-%02d:%02d\"", text, a / 60, a % 60, b / 60, b % 60);
        return -1;
    }
    if (tp && add_span(&tp->times, &tp->ntimes, a, b) < 0)
        return out_of_memory(err, errlen);
    return 0;
}

/* A day of month at *p: 1..31, or -1..-31 counted from the month's end. */
static int read_day(const char **p, int *day)
{
    int neg = 0, v;

    if (**p == '-') {
        neg = 1;
        (*p)++;
    }
    if (read_digits(p, 1, 2, &v) < 0)
        return -1;
    *day = neg ? -v : v;
    return 0;
}

/* "15", "-1" (the last day), "1-15", "-7--1" (the last seven days),
 * "16--1" (the 16th to the last day). */
static int item_days(const char *text, struct tocsin_timeperiod *tp,
                     char *err, size_t errlen)
{
    const char *p = text;
    int a, b;

    if (read_day(&p, &a) < 0)
        goto syntax;
    b = a;
    if (*p == '-') {
        p++;
        if (read_day(&p, &b) < 0)
            goto syntax;
    }
    if (*p)
        goto syntax;
    if (a == 0 || b == 0 || a > 31 || b > 31 || a < -31 || b < -31) {
        snprintf(err, errlen, "\"%s\": a day of the month is 1 to 31, or -1 "
                 "(the last day) to -31", text);
        return -1;
    }
    if (a < 0 && b > 0) {
        snprintf(err, errlen, "\"%s\": a range may go from a day counted from "
                 "the start to one counted from the end (\"16--1\"), not the "
                 "other way round", text);
        return -1;
    }
    if ((a > 0) == (b > 0) && a > b) {
        snprintf(err, errlen, "\"%s\": the range ends before it starts", text);
        return -1;
    }
    if (tp && add_span(&tp->days, &tp->ndays, a, b) < 0)
        return out_of_memory(err, errlen);
    return 0;
syntax:
    snprintf(err, errlen, "\"%s\" is not a day of the month or a range of "
             "days (e.g. \"1-15\", \"-1\" for the last day)", text);
    return -1;
}

/* "2026" or "2026-2030". */
static int item_years(const char *text, struct tocsin_timeperiod *tp,
                      char *err, size_t errlen)
{
    const char *p = text;
    int a, b;

    if (read_digits(&p, 1, 4, &a) < 0)
        goto syntax;
    b = a;
    if (*p == '-') {
        p++;
        if (read_digits(&p, 1, 4, &b) < 0)
            goto syntax;
    }
    if (*p)
        goto syntax;
    if (a < 1 || b < 1) {
        snprintf(err, errlen, "\"%s\": years start at 1", text);
        return -1;
    }
    if (a > b) {
        snprintf(err, errlen, "\"%s\": the range ends before it starts", text);
        return -1;
    }
    if (tp && add_span(&tp->years, &tp->nyears, a, b) < 0)
        return out_of_memory(err, errlen);
    return 0;
syntax:
    snprintf(err, errlen, "\"%s\" is not a year or a range of years (e.g. "
             "\"2026\", \"2027-2030\")", text);
    return -1;
}

/* A date "YYYY-MM-DD" at *p as YYYYMMDD. Returns 0, -1 on bad syntax,
 * -2 on a date that does not exist (message in err). */
static int read_date(const char **p, int *ymd, char *err, size_t errlen)
{
    int y, m, d;

    if (read_digits(p, 4, 4, &y) < 0 || **p != '-')
        return -1;
    (*p)++;
    if (read_digits(p, 2, 2, &m) < 0 || **p != '-')
        return -1;
    (*p)++;
    if (read_digits(p, 2, 2, &d) < 0)
        return -1;
    if (y < 1 || m < 1 || m > 12) {
        snprintf(err, errlen, "%04d-%02d-%02d does not exist (months are 01 "
                 "to 12)", y, m, d);
        return -2;
    }
    if (d < 1 || d > days_in_month(y, m)) {
        snprintf(err, errlen, "%04d-%02d-%02d does not exist (that month has "
                 "%d days)", y, m, d, days_in_month(y, m));
        return -2;
    }
    *ymd = y * 10000 + m * 100 + d;
    return 0;
}

/* "2026-12-25" or "2026-12-24..2026-12-31" (both ends included). */
static int item_dates(const char *text, struct tocsin_timeperiod *tp,
                      char *err, size_t errlen)
{
    const char *p = text;
    char why[128];
    int a, b, r;

    r = read_date(&p, &a, why, sizeof(why));
    b = a;
    if (r == 0 && strncmp(p, "..", 2) == 0) {
        p += 2;
        r = read_date(&p, &b, why, sizeof(why));
    }
    if (r == 0 && *p)
        r = -1;
    if (r == -1) {
        snprintf(err, errlen, "\"%s\" is not a date or a range of dates (use "
                 "YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)", text);
        return -1;
    }
    if (r == -2) {
        snprintf(err, errlen, "\"%s\": %s", text, why);
        return -1;
    }
    if (a > b) {
        snprintf(err, errlen, "\"%s\": the range ends before it starts", text);
        return -1;
    }
    if (tp && add_span(&tp->dates, &tp->ndates, a, b) < 0)
        return out_of_memory(err, errlen);
    return 0;
}

/* The name of another period. */
static int check_period_name(const char *text, char *err, size_t errlen)
{
    if (!*text) {
        snprintf(err, errlen, "the name of a timeperiod is empty");
        return -1;
    }
    return 0;
}

static int item_include(const char *text, struct tocsin_timeperiod *tp,
                        char *err, size_t errlen)
{
    if (check_period_name(text, err, errlen) < 0)
        return -1;
    if (tp && add_name(&tp->include_names, &tp->ninclude, text) < 0)
        return out_of_memory(err, errlen);
    return 0;
}

static int item_exclude(const char *text, struct tocsin_timeperiod *tp,
                        char *err, size_t errlen)
{
    if (check_period_name(text, err, errlen) < 0)
        return -1;
    if (tp && add_name(&tp->exclude_names, &tp->nexclude, text) < 0)
        return out_of_memory(err, errlen);
    return 0;
}

/* "" (the host's zone) or an IANA zone name. */
static int item_timezone(const char *text, struct tocsin_timeperiod *tp,
                         char *err, size_t errlen)
{
    if (!*text)
        return 0;
    if (tp) {
        if (!(tp->zone_name = strdup(text)))
            return out_of_memory(err, errlen);
        tp->zone = tz_get(text, err, errlen);
        return tp->zone ? 0 : -1;
    }
    return tocsin_timezone_check(text, err, errlen);
}

/* Every option of the section, its parser and the constraint it gives. */
static const struct item_kind {
    const char *option;
    unsigned given;        /* TOCSIN_TP_* set when the option has items */
    int (*parse)(const char *text, struct tocsin_timeperiod *tp, char *err,
                 size_t errlen);
} item_kinds[] = {
    {"timezone", 0, item_timezone},
    {"weekdays", TOCSIN_TP_WEEKDAYS, item_weekdays},
    {"times", TOCSIN_TP_TIMES, item_times},
    {"days", TOCSIN_TP_DAYS, item_days},
    {"months", TOCSIN_TP_MONTHS, item_months},
    {"years", TOCSIN_TP_YEARS, item_years},
    {"dates", TOCSIN_TP_DATES, item_dates},
    {"include", 0, item_include},
    {"exclude", 0, item_exclude},
};

#define NKINDS (sizeof(item_kinds) / sizeof(item_kinds[0]))

/* libconfuse parse callback of every option: checks one item while the
 * file is read, so an error carries the item's line. Passes `value` back
 * for libconfuse to copy. */
static int item_cb(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
    char err[512];
    size_t k;

    if (!value)
        value = "";
    for (k = 0; k < NKINDS; k++)
        if (opt && opt->name && strcmp(opt->name, item_kinds[k].option) == 0)
            break;
    if (k == NKINDS) {
        cfg_error(cfg, "option '%s' is not a timeperiod option",
                  opt && opt->name ? opt->name : "?");
        return -1;
    }
    if (item_kinds[k].parse(value, NULL, err, sizeof(err)) < 0) {
        cfg_error(cfg, "option '%s': %s", opt->name, err);
        return -1;
    }
    *(const char **)result = value;
    return 0;
}

cfg_opt_t tocsin_timeperiod_opts[] = {
    CFG_STR_CB("timezone", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("weekdays", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("times", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("days", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("months", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("years", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("dates", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("include", NULL, CFGF_NONE, item_cb),
    CFG_STR_LIST_CB("exclude", NULL, CFGF_NONE, item_cb),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Compiling and linking                                               */
/* ------------------------------------------------------------------ */

static void free_names(char **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void tocsin_timeperiod_free(struct tocsin_timeperiod *tp)
{
    if (!tp)
        return;
    free(tp->name);
    free(tp->file);
    free(tp->zone_name);
    tz_put(tp->zone);
    free(tp->times);
    free(tp->days);
    free(tp->years);
    free(tp->dates);
    free_names(tp->include_names, tp->ninclude);
    free(tp->include);
    free_names(tp->exclude_names, tp->nexclude);
    free(tp->exclude);
    memset(tp, 0, sizeof(*tp));
}

/*
 * Compile a parsed section. Every item is parsed again (the parse
 * callbacks only checked them), this time into tp. Problems found here
 * carry the section's line, since libconfuse keeps no line per value.
 */
int tocsin_timeperiod_compile(cfg_t *sec, const char *file, int line,
                              struct tocsin_timeperiod *tp,
                              struct tocsin_buf *errors)
{
    const char *title = cfg_title(sec);
    char err[512];
    size_t k;
    unsigned j, count;
    int failed = 0;

    memset(tp, 0, sizeof(*tp));
    if (!file)
        file = "?";
    if (!title || !*title) {
        tocsin_buf_printf(errors, "%s:%d: a timeperiod needs a name: "
                          "timeperiod \"NAME\" { ... }\n", file, line);
        return -1;
    }
    tp->name = strdup(title);
    tp->file = strdup(file);
    tp->line = line;
    if (!tp->name || !tp->file) {
        tocsin_buf_printf(errors, "%s:%d: timeperiod \"%s\": out of memory\n",
                          file, line, title);
        failed = 1;
        goto out;
    }
    for (k = 0; k < NKINDS; k++) {
        count = cfg_size(sec, item_kinds[k].option);
        for (j = 0; j < count; j++) {
            const char *item = cfg_getnstr(sec, item_kinds[k].option, j);

            if (item_kinds[k].parse(item ? item : "", tp, err, sizeof(err)) < 0) {
                tocsin_buf_printf(errors, "%s:%d: timeperiod \"%s\": option "
                                  "'%s': %s\n", file, line, title,
                                  item_kinds[k].option, err);
                failed = 1;
            }
        }
        if (count > 0)
            tp->given |= item_kinds[k].given;
    }
out:
    if (failed) {
        tocsin_timeperiod_free(tp);
        return -1;
    }
    return 0;
}

long tocsin_timeperiod_find(const struct tocsin_timeperiod *tps, size_t n,
                            const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (tps[i].name && strcmp(tps[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Resolve names[0..count) into a new index array *out. */
static int resolve(struct tocsin_timeperiod *tps, size_t n, size_t self,
                   const char *verb, char **names, size_t count, size_t **out,
                   struct tocsin_buf *errors)
{
    const struct tocsin_timeperiod *tp = &tps[self];
    size_t k;
    long idx;
    int rc = 0;

    free(*out);
    *out = NULL;
    if (count == 0)
        return 0;
    *out = calloc(count, sizeof(**out));
    if (!*out) {
        tocsin_buf_printf(errors, "%s:%d: timeperiod \"%s\": out of memory\n",
                          tp->file, tp->line, tp->name);
        return -1;
    }
    for (k = 0; k < count; k++) {
        idx = tocsin_timeperiod_find(tps, n, names[k]);
        if (idx < 0) {
            tocsin_buf_printf(errors, "%s:%d: timeperiod \"%s\": %s \"%s\" is "
                              "not a defined timeperiod\n", tp->file, tp->line,
                              tp->name, verb, names[k]);
            rc = -1;
            continue;
        }
        (*out)[k] = (size_t)idx;
    }
    return rc;
}

/* Depth-first search for cycles over include and exclude edges. */
struct cycle_search {
    struct tocsin_timeperiod *tps;
    unsigned char *color;     /* 0 unseen, 1 on the path, 2 done */
    size_t *path;             /* periods on the current path */
    int *path_verb;           /* how path[k] reaches path[k + 1]: 0 includes, 1 excludes */
    size_t depth;
    struct tocsin_buf *errors;
    int found;
};

/* Report the cycle that closes at path position `from` through edge
 * `verb` from the top of the path. */
static void report_cycle(struct cycle_search *cs, size_t from, int verb)
{
    const struct tocsin_timeperiod *start = &cs->tps[cs->path[from]];
    size_t k;

    tocsin_buf_printf(cs->errors, "%s:%d: timeperiods include or exclude each "
                      "other in a cycle: \"%s\"", start->file, start->line,
                      start->name);
    for (k = from; k + 1 < cs->depth; k++) {
        const struct tocsin_timeperiod *next = &cs->tps[cs->path[k + 1]];

        tocsin_buf_printf(cs->errors, "%s %s \"%s\" (%s:%d)",
                          k == from ? "" : ", which",
                          cs->path_verb[k] ? "excludes" : "includes",
                          next->name, next->file, next->line);
    }
    tocsin_buf_printf(cs->errors, "%s %s \"%s\"\n",
                      cs->depth - 1 == from ? "" : ", which",
                      verb ? "excludes" : "includes", start->name);
    cs->found = 1;
}

static void visit(struct cycle_search *cs, size_t i)
{
    const struct tocsin_timeperiod *tp = &cs->tps[i];
    size_t k, j, e, nedges = tp->ninclude + tp->nexclude;

    cs->color[i] = 1;
    cs->path[cs->depth++] = i;
    for (e = 0; e < nedges; e++) {
        int verb = e >= tp->ninclude;

        j = verb ? tp->exclude[e - tp->ninclude] : tp->include[e];
        cs->path_verb[cs->depth - 1] = verb;
        if (cs->color[j] == 1) {
            for (k = 0; cs->path[k] != j; k++)
                ;
            report_cycle(cs, k, verb);
        } else if (cs->color[j] == 0) {
            visit(cs, j);
        }
    }
    cs->depth--;
    cs->color[i] = 2;
}

int tocsin_timeperiods_link(struct tocsin_timeperiod *tps, size_t n,
                            struct tocsin_buf *errors)
{
    struct cycle_search cs;
    size_t i, j;
    int rc = 0;

    memset(&cs, 0, sizeof(cs));
    for (i = 0; i < n; i++)
        for (j = 0; j < i; j++)
            if (strcmp(tps[i].name, tps[j].name) == 0) {
                tocsin_buf_printf(errors, "%s:%d: timeperiod \"%s\" is defined "
                                  "twice (first at %s:%d)\n", tps[i].file,
                                  tps[i].line, tps[i].name, tps[j].file,
                                  tps[j].line);
                rc = -1;
                break;
            }
    for (i = 0; i < n; i++) {
        if (resolve(tps, n, i, "include", tps[i].include_names,
                    tps[i].ninclude, &tps[i].include, errors) < 0)
            rc = -1;
        if (resolve(tps, n, i, "exclude", tps[i].exclude_names,
                    tps[i].nexclude, &tps[i].exclude, errors) < 0)
            rc = -1;
    }
    if (rc < 0 || n == 0)
        goto out;

    cs.tps = tps;
    cs.errors = errors;
    cs.color = calloc(n, 1);
    cs.path = calloc(n, sizeof(*cs.path));
    cs.path_verb = calloc(n, sizeof(*cs.path_verb));
    if (!cs.color || !cs.path || !cs.path_verb) {
        tocsin_buf_printf(errors, "%s:%d: out of memory\n", tps[0].file,
                          tps[0].line);
        rc = -1;
        goto out;
    }
    for (i = 0; i < n; i++)
        if (cs.color[i] == 0)
            visit(&cs, i);
    if (cs.found)
        rc = -1;
out:
    free(cs.color);
    free(cs.path);
    free(cs.path_verb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* One tocsin_timeperiod_contains() call. */
struct eval {
    const struct tocsin_timeperiod *tps;
    size_t n;
    time_t t;
    int have_host;        /* host is t in the host's zone */
    struct tm host;
};

/* 1 when the wall clock *tm satisfies every constraint tp gives. */
static int own_match(const struct tocsin_timeperiod *tp, const struct tm *tm)
{
    int year = tm->tm_year + 1900, month = tm->tm_mon + 1, mday = tm->tm_mday;
    int sec = tm->tm_hour * 3600 + tm->tm_min * 60 +
              (tm->tm_sec > 59 ? 59 : tm->tm_sec);
    int ymd, len, a, b, hit;
    size_t k;

    if ((tp->given & TOCSIN_TP_WEEKDAYS) && !(tp->weekdays & (1u << tm->tm_wday)))
        return 0;
    if ((tp->given & TOCSIN_TP_MONTHS) && !(tp->months & (1u << tm->tm_mon)))
        return 0;
    if (tp->given & TOCSIN_TP_YEARS) {
        for (hit = 0, k = 0; k < tp->nyears && !hit; k++)
            hit = year >= tp->years[k].first && year <= tp->years[k].last;
        if (!hit)
            return 0;
    }
    if (tp->given & TOCSIN_TP_DAYS) {
        len = days_in_month(year, month);
        for (hit = 0, k = 0; k < tp->ndays && !hit; k++) {
            a = tp->days[k].first < 0 ? len + 1 + tp->days[k].first : tp->days[k].first;
            b = tp->days[k].last < 0 ? len + 1 + tp->days[k].last : tp->days[k].last;
            hit = mday >= a && mday <= b;
        }
        if (!hit)
            return 0;
    }
    if (tp->given & TOCSIN_TP_DATES) {
        ymd = year * 10000 + month * 100 + mday;
        for (hit = 0, k = 0; k < tp->ndates && !hit; k++)
            hit = ymd >= tp->dates[k].first && ymd <= tp->dates[k].last;
        if (!hit)
            return 0;
    }
    if (tp->given & TOCSIN_TP_TIMES) {
        for (hit = 0, k = 0; k < tp->ntimes && !hit; k++)
            hit = sec >= tp->times[k].first * 60 && sec < tp->times[k].last * 60;
        if (!hit)
            return 0;
    }
    return 1;
}

/* The wall clock of ev->t in tp's zone; the host's is converted once per
 * call, a named zone's is memoised in the zone itself. */
static int local_for(struct eval *ev, const struct tocsin_timeperiod *tp,
                     struct tm *tm)
{
    if (tp->zone)
        return zone_local(tp->zone, ev->t, tm);
    if (!ev->have_host) {
        if (zone_local(NULL, ev->t, &ev->host) < 0)
            return -1;
        ev->have_host = 1;
    }
    *tm = ev->host;
    return 0;
}

/* Membership of ev->t in ev->tps[i]. Linking rules out cycles; the depth
 * bound only keeps an unlinked array from recursing forever. */
static int eval_period(struct eval *ev, size_t i, size_t depth)
{
    const struct tocsin_timeperiod *tp = &ev->tps[i];
    struct tm tm;
    size_t k;

    if (depth > ev->n)
        return 0;
    for (k = 0; k < tp->nexclude; k++)
        if (tp->exclude && tp->exclude[k] < ev->n &&
            eval_period(ev, tp->exclude[k], depth + 1))
            return 0;
    for (k = 0; k < tp->ninclude; k++)
        if (tp->include && tp->include[k] < ev->n &&
            eval_period(ev, tp->include[k], depth + 1))
            return 1;
    if (tp->given == 0)
        return tp->ninclude == 0;
    if (local_for(ev, tp, &tm) < 0)
        return 0;
    return own_match(tp, &tm);
}

int tocsin_timeperiod_contains(const struct tocsin_timeperiod *tps, size_t n,
                               size_t i, time_t t)
{
    struct eval ev;

    if (!tps || i >= n)
        return 0;
    memset(&ev, 0, sizeof(ev));
    ev.tps = tps;
    ev.n = n;
    ev.t = t;
    return eval_period(&ev, i, 0);
}

/* ------------------------------------------------------------------ */
/* Parsing local times                                                 */
/* ------------------------------------------------------------------ */

/* UTC offset of instant t in the zone the C library has loaded. */
static int offset_at(time_t t, long *offset)
{
    struct tm tm;

    if (!localtime_r(&t, &tm))
        return -1;
    *offset = tm.tm_gmtoff;
    return 0;
}

/* Format wall clock `local` (seconds since the epoch as if UTC) as
 * "HH:MM" (":SS" when not whole minutes), with the date in front when it
 * differs from `date_of`. */
static void format_wall(char *out, size_t len, time_t local, time_t date_of)
{
    struct tm a, b;

    if (!gmtime_r(&local, &a) || !gmtime_r(&date_of, &b)) {
        snprintf(out, len, "?");
        return;
    }
    if (a.tm_year != b.tm_year || a.tm_yday != b.tm_yday)
        snprintf(out, len, "%04d-%02d-%02d %02d:%02d", a.tm_year + 1900,
                 a.tm_mon + 1, a.tm_mday, a.tm_hour, a.tm_min);
    else
        snprintf(out, len, "%02d:%02d", a.tm_hour, a.tm_min);
    if (a.tm_sec)
        snprintf(out + strlen(out), len - strlen(out), ":%02d", a.tm_sec);
}

/*
 * The instant whose wall clock in the loaded zone is `wall` (seconds as if
 * UTC). Offsets a day before and a day after bracket any transition near
 * it; each offset o gives a candidate wall - o, which is genuine when the
 * zone's offset at it is o. Two genuine candidates: the earlier wins. None:
 * the wall clock is in a gap, described in `gap` (from, to), and
 * *gap_end (when not NULL) is the instant the gap ends, when the clocks
 * jump. Returns 1 found, 0 in a gap, -1 on a conversion failure.
 */
static int wall_to_instant(time_t wall, time_t *out, char *gap_from,
                           char *gap_to, size_t gaplen, time_t *gap_end)
{
    long offs[4], o, before, after, ob;
    time_t cand, lo, hi, mid;
    int nofs = 0, found = 0, k;

    if (offset_at(wall - 86400, &before) < 0 || offset_at(wall + 86400, &after) < 0)
        return -1;
    offs[nofs++] = before;
    offs[nofs++] = after;
    /* Also the offsets at the candidates themselves, for zones whose
     * neighbourhood is not a single transition. */
    if (offset_at(wall - before, &o) < 0)
        return -1;
    offs[nofs++] = o;
    if (offset_at(wall - after, &o) < 0)
        return -1;
    offs[nofs++] = o;
    for (k = 0; k < nofs; k++) {
        cand = wall - offs[k];
        if (offset_at(cand, &o) < 0)
            return -1;
        if (o == offs[k] && (!found || cand < *out)) {
            *out = cand;
            found = 1;
        }
    }
    if (found)
        return 1;

    /* A gap: find the transition instant between the two candidates. */
    snprintf(gap_from, gaplen, "?");
    snprintf(gap_to, gaplen, "?");
    lo = wall - (before > after ? before : after);
    hi = wall - (before > after ? after : before);
    if (offset_at(lo, &ob) < 0)
        return -1;
    if (gap_end)
        *gap_end = hi;
    if (lo >= hi)
        return 0;
    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;
        if (offset_at(mid, &o) < 0)
            return -1;
        if (o == ob)
            lo = mid;
        else
            hi = mid;
    }
    if (offset_at(hi, &o) < 0)
        return -1;
    if (gap_end)
        *gap_end = hi;
    format_wall(gap_from, gaplen, hi + ob, wall);
    format_wall(gap_to, gaplen, hi + o, wall);
    return 0;
}

int tocsin_local_time_parse(const char *text, const char *zone, time_t *out,
                            char *err, size_t errlen)
{
    const char *p = text, *zend;
    char zbuf[256], when[48], from[48], to[48], zlabel[300];
    struct tz_saved sv;
    struct tm tm;
    time_t wall, t = 0;
    int y, mo, d, h, mi, s = 0, has_sec = 0, r;
    size_t zlen;

    if (!text) {
        snprintf(err, errlen, "no local time given");
        return -1;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (read_digits(&p, 4, 4, &y) < 0 || *p++ != '-' ||
        read_digits(&p, 2, 2, &mo) < 0 || *p++ != '-' ||
        read_digits(&p, 2, 2, &d) < 0 || (*p != ' ' && *p != 'T'))
        goto syntax;
    p++;
    if (read_digits(&p, 2, 2, &h) < 0 || *p++ != ':' ||
        read_digits(&p, 2, 2, &mi) < 0)
        goto syntax;
    if (*p == ':') {
        p++;
        if (read_digits(&p, 2, 2, &s) < 0)
            goto syntax;
        has_sec = 1;
    }
    if (*p && *p != ' ' && *p != '\t')
        goto syntax;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p) {
        for (zend = p + strlen(p); zend > p && (zend[-1] == ' ' || zend[-1] == '\t'); zend--)
            ;
        zlen = (size_t)(zend - p);
        if (zlen >= sizeof(zbuf) || memchr(p, ' ', zlen) || memchr(p, '\t', zlen))
            goto syntax;
        memcpy(zbuf, p, zlen);
        zbuf[zlen] = '\0';
        zone = zbuf;
    }

    if (y < 1 || mo < 1 || mo > 12) {
        snprintf(err, errlen, "\"%s\": month %d does not exist (months are 01 "
                 "to 12)", text, mo);
        return -1;
    }
    if (d < 1 || d > days_in_month(y, mo)) {
        snprintf(err, errlen, "\"%s\": %04d-%02d-%02d does not exist (that "
                 "month has %d days)", text, y, mo, d, days_in_month(y, mo));
        return -1;
    }
    if (h > 23 || mi > 59 || s > 59) {
        snprintf(err, errlen, "\"%s\": %02d:%02d:%02d is not a time of day "
                 "(00:00:00 to 23:59:59)", text, h, mi, s);
        return -1;
    }
    if (zone && !*zone)
        zone = NULL;
    if (zone && tocsin_timezone_check(zone, err, errlen) < 0)
        return -1;

    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    wall = timegm(&tm); /* pure arithmetic: years 1..9999 always fit */

    if (tz_enter(zone, &sv) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r = wall_to_instant(wall, &t, from, to, sizeof(from), NULL);
    tz_leave(&sv);
    if (r < 0) {
        snprintf(err, errlen, "\"%s\" cannot be converted", text);
        return -1;
    }
    if (r == 0) {
        if (has_sec)
            snprintf(when, sizeof(when), "%04d-%02d-%02d %02d:%02d:%02d", y,
                     mo, d, h, mi, s);
        else
            snprintf(when, sizeof(when), "%04d-%02d-%02d %02d:%02d", y, mo,
                     d, h, mi);
        if (zone)
            snprintf(zlabel, sizeof(zlabel), "%s", zone);
        else if (getenv("TZ") && *getenv("TZ"))
            snprintf(zlabel, sizeof(zlabel), "the local time zone (TZ=%.256s)",
                     getenv("TZ"));
        else
            snprintf(zlabel, sizeof(zlabel), "the local time zone");
        snprintf(err, errlen, "%s does not exist in %s: clocks jump from %s "
                 "to %s", when, zlabel, from, to);
        return -1;
    }
    *out = t;
    return 0;
syntax:
    snprintf(err, errlen, "\"%s\" is not a local time (use \"YYYY-MM-DD "
             "HH:MM\", optionally with \":SS\" and a time zone such as "
             "\"Europe/Berlin\")", text);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Runs at fixed local times                                           */
/* ------------------------------------------------------------------ */

int tocsin_clock_parse(const char *text, int *minutes)
{
    const char *p = text;
    int h, m;

    if (!text || read_digits(&p, 2, 2, &h) < 0 || *p++ != ':' ||
        read_digits(&p, 2, 2, &m) < 0 || *p || h > 23 || m > 59)
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

/* Days looked at around the local date of `after`: the day before (the
 * local date may lag the instant near a transition), that day and two
 * after it, which always hold a listed time later than `after`. */
#define AT_DAYS_BEFORE 1
#define AT_DAYS_AFTER 2

time_t tocsin_local_next_at(const char *zone, const int *minutes, size_t n, time_t after)
{
    struct tz_saved sv;
    struct tm tm;
    time_t day, best = (time_t)-1, t, gap_end;
    char from[48], to[48];
    int k, r;
    size_t i;

    if (zone && !*zone)
        zone = NULL;
    if (!n || tz_enter(zone, &sv) < 0)
        return (time_t)-1;
    if (!localtime_r(&after, &tm))
        goto out;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    day = timegm(&tm);          /* local midnight, as if UTC */
    for (k = -AT_DAYS_BEFORE; k <= AT_DAYS_AFTER; k++) {
        for (i = 0; i < n; i++) {
            time_t wall = day + (time_t)k * 86400 + (time_t)minutes[i] * 60;

            gap_end = (time_t)-1;
            r = wall_to_instant(wall, &t, from, to, sizeof(from), &gap_end);
            if (r < 0)
                continue;
            if (r == 0)
                t = gap_end;    /* skipped: when the clocks jump over it */
            if (t > after && (best == (time_t)-1 || t < best))
                best = t;
        }
    }
out:
    tz_leave(&sv);
    return best;
}

time_t tocsin_timeperiod_next_at(const struct tocsin_timeperiod *tps, size_t ntps,
                                 long period, const char *zone, const int *minutes,
                                 size_t n, time_t after, int horizon_days)
{
    time_t t = after, limit = after + (time_t)horizon_days * 86400;

    for (;;) {
        t = tocsin_local_next_at(zone, minutes, n, t);
        if (t == (time_t)-1 || t > limit)
            return (time_t)-1;
        if (period < 0 || tocsin_timeperiod_contains(tps, ntps, (size_t)period, t))
            return t;
    }
}

time_t tocsin_timeperiod_next_open(const struct tocsin_timeperiod *tps, size_t ntps,
                                   size_t period, time_t after, int horizon_days)
{
    time_t t, limit = after + (time_t)horizon_days * 86400;

    if (tocsin_timeperiod_contains(tps, ntps, period, after))
        return after;
    /* Periods are made of whole local minutes, and every zone's offset is
     * a whole number of minutes: the opening is a minute boundary. */
    for (t = after - after % 60 + 60; t <= limit; t += 60)
        if (tocsin_timeperiod_contains(tps, ntps, period, t))
            return t;
    return (time_t)-1;
}

const char *tocsin_local_minute(time_t t, char *buf, size_t len)
{
    struct tm tm;

    if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M %Z", &tm))
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}
