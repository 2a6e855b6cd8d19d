/*
 * store-bench.c - how fast is the durable store: outbox items added and
 * committed per second (one per transaction, and batches of 100), outcomes
 * recorded per second, and items handed out by tocsin_outbox_due, on a
 * throwaway database. It measures; it never passes or fails.
 *
 *   make bench/store-bench && bench/store-bench [--sync full] [--dir DIR]
 *
 * See bench/README.md for how to read the figures.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "alerting/store.h"

#define TMPFS_MAGIC_NUMBER 0x01021994

struct options {
    const char *dir;       /* where the throwaway directory goes */
    unsigned flags;        /* TOCSIN_STORE_SYNC_FULL or 0 */
    long single;           /* items for the one-per-commit runs */
    long batched;          /* items for the 100-per-commit runs */
    size_t payload_len;    /* bytes of payload per item */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, long n, double seconds)
{
    printf("%-34s %8ld %9.3f %11.0f %9.1f\n", what, n, seconds,
           seconds > 0 ? (double)n / seconds : 0.0,
           n > 0 ? seconds * 1e6 / (double)n : 0.0);
}

/* Add n items, `batch` per transaction; their ids go to ids[]. */
static int run_add(struct tocsin_store *st, const struct tocsin_outbox_item *it,
                   long n, long batch, int64_t *ids)
{
    long i;

    for (i = 0; i < n; i++) {
        if (i % batch == 0 && tocsin_store_begin(st) < 0)
            return -1;
        if (tocsin_outbox_add(st, it, &ids[i]) < 0)
            return -1;
        if ((i % batch == batch - 1 || i == n - 1) && tocsin_store_commit(st) < 0)
            return -1;
    }
    return 0;
}

/* Record `outcome` for each of ids[0..n), `batch` per transaction. */
static int run_record(struct tocsin_store *st, const int64_t *ids, long n,
                      long batch, int outcome)
{
    long i;

    for (i = 0; i < n; i++) {
        if (i % batch == 0 && tocsin_store_begin(st) < 0)
            return -1;
        if (tocsin_outbox_record(st, ids[i], outcome, "421 try again later",
                                 2000 + i, 10000 + i) < 0)
            return -1;
        if ((i % batch == batch - 1 || i == n - 1) && tocsin_store_commit(st) < 0)
            return -1;
    }
    return 0;
}

static int count_item(void *ud, const struct tocsin_outbox_item *it)
{
    (void)it;
    ++*(long *)ud;
    return 0;
}

/* Hand out everything due, 100 per call and transaction. */
static int run_due(struct tocsin_store *st, long *handed)
{
    int n;

    *handed = 0;
    do {
        if (tocsin_store_begin(st) < 0)
            return -1;
        n = tocsin_outbox_due(st, INT64_MAX / 4, 100, count_item, handed);
        if (n < 0 || tocsin_store_commit(st) < 0)
            return -1;
    } while (n > 0);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: store-bench [--dir DIR] [--sync normal|full] [--single N]\n"
        "                   [--batched N] [--payload BYTES]\n"
        "Measures the durable store on a throwaway database in DIR (default\n"
        "/var/tmp: put it on the file system of the state directory).\n"
        "  --sync     normal (the default: durable against a kill) or full\n"
        "             (an fsync per commit: durable against an OS crash)\n"
        "  --single   items for the one-per-commit runs (default 2000)\n"
        "  --batched  items for the 100-per-commit runs (default 50000)\n"
        "  --payload  bytes of payload per item (default 600)\n");
}

static int parse(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"sync", required_argument, NULL, 's'},
        {"single", required_argument, NULL, '1'},
        {"batched", required_argument, NULL, 'b'},
        {"payload", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}
    };
    char *end;
    long v;
    int c;

    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 's':
            if (strcmp(optarg, "full") == 0)
                o->flags = TOCSIN_STORE_SYNC_FULL;
            else if (strcmp(optarg, "normal") == 0)
                o->flags = 0;
            else
                goto bad;
            break;
        case '1':
        case 'b':
        case 'p':
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > 10000000)
                goto bad;
            if (c == '1')
                o->single = v;
            else if (c == 'b')
                o->batched = v;
            else
                o->payload_len = (size_t)v;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind == argc)
        return 0;
bad:
    fprintf(stderr, "store-bench: bad argument%s%s\n", optarg ? " " : "",
            optarg ? optarg : "");
    usage(stderr);
    return -1;
}

/* Remove the database files and the directory. */
static void cleanup(const char *dir, const char *path)
{
    char file[4200];

    unlink(path);
    snprintf(file, sizeof(file), "%s-wal", path);
    unlink(file);
    snprintf(file, sizeof(file), "%s-shm", path);
    unlink(file);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    struct options o = {"/var/tmp", 0, 2000, 50000, 600};
    struct tocsin_store *st = NULL;
    struct tocsin_outbox_item it;
    struct statfs fs;
    char dir[4096], path[4160], err[1024];
    char *payload = NULL;
    int64_t *ids = NULL;
    long nmax, handed;
    double t0;
    int rc = 1;

    if (parse(argc, argv, &o) < 0)
        return 2;
    tocsin_log_open("store-bench", 0, TOCSIN_LOG_ERROR);
    snprintf(dir, sizeof(dir), "%s/tocsin-store-bench-XXXXXX", o.dir);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "store-bench: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, TOCSIN_STORE_FILE);
    nmax = o.single > o.batched ? o.single : o.batched;
    ids = calloc((size_t)nmax, sizeof(*ids));
    payload = malloc(o.payload_len);
    if (!ids || !payload) {
        fprintf(stderr, "store-bench: out of memory\n");
        goto out;
    }
    memset(payload, 'p', o.payload_len);
    memset(&it, 0, sizeof(it));
    it.notifier = "email";
    it.service = "web-frontend";
    it.incident = "web-frontend/1718000000";
    it.group_key = "team=web";
    it.kind = 1;
    it.state = 2;
    it.severity = 3;
    it.created_ms = 1000;
    it.next_attempt_ms = 1000;
    it.expires_ms = INT64_MAX / 2;
    it.payload = payload;
    it.payload_len = o.payload_len;

    if (tocsin_store_open(path, o.flags, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "store-bench: %s\n", err);
        goto out;
    }
    printf("store-bench: %s, synchronous=%s, SQLite %s, payload %zu bytes\n",
           path, o.flags ? "FULL" : "NORMAL", sqlite3_libversion(),
           o.payload_len);
    if (statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC_NUMBER)
        printf("store-bench: %s is on tmpfs, where fsync costs nothing: "
               "use --dir on a real disk\n", o.dir);
    printf("%-34s %8s %9s %11s %9s\n", "run", "items", "seconds", "per_second",
           "us_each");

    t0 = now_s();
    if (run_add(st, &it, o.single, 1, ids) < 0)
        goto out;
    report("add, 1 per commit", o.single, now_s() - t0);

    t0 = now_s();
    if (run_record(st, ids, o.single, 1, TOCSIN_RETRY) < 0)
        goto out;
    report("record retry, 1 per commit", o.single, now_s() - t0);

    t0 = now_s();
    if (run_record(st, ids, o.single, 1, TOCSIN_DELIVERED) < 0)
        goto out;
    report("record delivered, 1 per commit", o.single, now_s() - t0);

    t0 = now_s();
    if (run_add(st, &it, o.batched, 100, ids) < 0)
        goto out;
    report("add, 100 per commit", o.batched, now_s() - t0);

    t0 = now_s();
    if (run_due(st, &handed) < 0)
        goto out;
    report("due (hand out), 100 per commit", handed, now_s() - t0);

    t0 = now_s();
    if (run_record(st, ids, o.batched, 100, TOCSIN_DELIVERED) < 0)
        goto out;
    report("record delivered, 100 per commit", o.batched, now_s() - t0);

    t0 = now_s();
    if (tocsin_outbox_prune(st, INT64_MAX) < 0)
        goto out;
    report("prune ended items (one delete)", o.single + o.batched, now_s() - t0);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "store-bench: a store call failed (see the log above)\n");
    tocsin_store_close(st);
    cleanup(dir, path);
    free(ids);
    free(payload);
    return rc;
}
