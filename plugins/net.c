/*
 * net.c - traffic per network interface between two checks, from
 * /proc/net/dev: bytes, packets, errors and drops per second, each way:
 *
 *   check = "net"
 *   interface = {"eth*", "en*"}       # fnmatch patterns (default: all)
 *   exclude_interface = {"lo"}        # the default
 *   bytes_warning = "100000000"       # bytes/s received or sent
 *   errors_critical = "1"             # errors/s, received + sent
 *   drops_warning = "10"              # drops/s, received + sent
 *
 * Stateful: a check reports the rates since the previous one; the first
 * check, and one after counters went back (an interface made anew, a
 * wrap), samples sample_window itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

/* Counters kept per interface, in this order. */
enum { NET_RX_BYTES, NET_RX_PACKETS, NET_RX_ERRS, NET_RX_DROP,
       NET_TX_BYTES, NET_TX_PACKETS, NET_TX_ERRS, NET_TX_DROP, NET_FIELDS };

static const char *const net_labels[NET_FIELDS] = {
    "rx_bytes", "rx_packets", "rx_errors", "rx_drops",
    "tx_bytes", "tx_packets", "tx_errors", "tx_drops"
};

struct net {
    char **include, **exclude;        /* fnmatch patterns */
    struct tocsin_thresholds bytes;   /* per direction, bytes/s */
    struct tocsin_thresholds packets; /* per direction, packets/s */
    struct tocsin_thresholds errors;  /* rx + tx, per s */
    struct tocsin_thresholds drops;   /* rx + tx, per s */
    long sample_ms;
    struct tocsin_counters prev, cur;
    int have_prev;
};

static cfg_opt_t net_options[] = {
    CFG_STR_LIST("interface", "{}", CFGF_NONE),
    CFG_STR_LIST("exclude_interface", "{lo}", CFGF_NONE),
    TOCSIN_OPT_RANGE("bytes_warning", ""),
    TOCSIN_OPT_RANGE("bytes_critical", ""),
    TOCSIN_OPT_RANGE("packets_warning", ""),
    TOCSIN_OPT_RANGE("packets_critical", ""),
    TOCSIN_OPT_RANGE("errors_warning", ""),
    TOCSIN_OPT_RANGE("errors_critical", ""),
    TOCSIN_OPT_RANGE("drops_warning", ""),
    TOCSIN_OPT_RANGE("drops_critical", ""),
    TOCSIN_OPT_DURATION("sample_window", 1000),
    CFG_END()
};

static void net_teardown(void *instance)
{
    struct net *n = instance;

    if (!n)
        return;
    tocsin_procfs_strv_free(n->include);
    tocsin_procfs_strv_free(n->exclude);
    tocsin_counters_free(&n->prev);
    tocsin_counters_free(&n->cur);
    free(n);
}

/* Validate the options into a struct net owned by the instance. */
static int net_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct net *n = calloc(1, sizeof(*n));

    if (!n || !(n->include = tocsin_procfs_strv(options, "interface")) ||
        !(n->exclude = tocsin_procfs_strv(options, "exclude_interface"))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tocsin_option_thresholds(options, "bytes_warning", "bytes_critical",
                                 &n->bytes, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "packets_warning", "packets_critical",
                                 &n->packets, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "errors_warning", "errors_critical",
                                 &n->errors, err, errlen) < 0 ||
        tocsin_option_thresholds(options, "drops_warning", "drops_critical",
                                 &n->drops, err, errlen) < 0)
        goto fail;
    n->sample_ms = cfg_getint(options, "sample_window");
    if (n->sample_ms <= 0) {
        snprintf(err, errlen, "option 'sample_window' must be more than 0");
        goto fail;
    }
    *instance = n;
    return 0;

fail:
    net_teardown(n);
    return -1;
}

/* Parse the text of /proc/net/dev into rows of `into`, keeping the
 * interfaces that `include` (empty: all) and not `exclude` name. Returns 0,
 * or -1 with a reason in why. */
static int net_parse(const char *text, char *const *include,
                     char *const *exclude, struct tocsin_counters *into,
                     char *why, size_t whylen)
{
    const char *line = text, *colon, *p;
    char name[TOCSIN_COUNTERS_NAME];
    unsigned long long v[16];
    uint64_t *row;
    size_t len;
    char *end;
    int k;

    for (; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        colon = strchr(line, ':');
        p = strchr(line, '\n');
        if (!colon || (p && colon > p))
            continue; /* the two header lines */
        while (*line == ' ')
            line++;
        len = (size_t)(colon - line);
        if (len == 0 || len >= sizeof(name))
            goto bad;
        memcpy(name, line, len);
        name[len] = '\0';
        for (k = 0, p = colon + 1; k < 16; k++, p = end) {
            v[k] = strtoull(p, &end, 10);
            if (end == p)
                goto bad;
        }
        if ((include[0] && !tocsin_procfs_match(include, name)) ||
            tocsin_procfs_match(exclude, name))
            continue;
        row = tocsin_counters_add(into, name, len);
        if (!row) {
            snprintf(why, whylen, "out of memory");
            return -1;
        }
        for (k = 0; k < 4; k++) {
            row[NET_RX_BYTES + k] = v[k];
            row[NET_TX_BYTES + k] = v[8 + k];
        }
    }
    return 0;

bad:
    snprintf(why, whylen, "cannot parse /proc/net/dev line \"%.40s\"", line);
    return -1;
}

/* tocsin_counters_read_fn for /proc/net/dev. */
static int net_read(void *ctx, struct tocsin_counters *into, char *why,
                    size_t whylen)
{
    const struct net *n = ctx;
    struct tocsin_procfs_file f = { 0 };
    int rc = -1;

    if (tocsin_procfs_read(TOCSIN_PROCFS_PROC, "net/dev", &f, why, whylen) < 0 ||
        net_parse(f.text, n->include, n->exclude, into, why, whylen) < 0)
        goto out;
    if (into->n == 0) {
        snprintf(why, whylen, "no interface in %s matches", f.path);
        goto out;
    }
    rc = 0;
out:
    tocsin_procfs_free(&f);
    return rc;
}

/* Rates per interface since the previous check, judged per direction
 * (bytes, packets) and summed over both (errors, drops). */
static void net_check(void *instance, struct tocsin_check *chk)
{
    struct net *n = instance;
    enum tocsin_state state = TOCSIN_OK, s;
    char why[256], msg[1024], label[TOCSIN_COUNTERS_NAME + 32];
    double secs, rate[NET_FIELDS];
    size_t used = 0, i;
    int k, resampled;

    if (tocsin_counters_sample(chk, &n->prev, &n->cur, &n->have_prev,
                               n->sample_ms, net_read, n, &resampled, why,
                               sizeof(why)) < 0) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "NET UNKNOWN - %s", why);
        return;
    }
    secs = (double)(n->cur.at_us - n->prev.at_us) / 1e6;
    for (i = 0; i < n->cur.n; i++) {
        for (k = 0; k < NET_FIELDS; k++)
            rate[k] = tocsin_procfs_round((double)(n->cur.values[i][k] -
                                                   n->prev.values[i][k]) / secs,
                                          k == NET_RX_BYTES || k == NET_TX_BYTES ? 0 : 2);
        s = tocsin_state_worst(tocsin_thresholds_eval(&n->bytes, rate[NET_RX_BYTES]),
                               tocsin_thresholds_eval(&n->bytes, rate[NET_TX_BYTES]));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&n->packets, rate[NET_RX_PACKETS]));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&n->packets, rate[NET_TX_PACKETS]));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&n->errors,
                                   rate[NET_RX_ERRS] + rate[NET_TX_ERRS]));
        s = tocsin_state_worst(s, tocsin_thresholds_eval(&n->drops,
                                   rate[NET_RX_DROP] + rate[NET_TX_DROP]));
        state = tocsin_state_worst(state, s);
        tocsin_append(msg, sizeof(msg), &used, "%s%s%s: rx %.0f B/s, tx %.0f B/s, "
                      "%.1f errors/s, %.1f drops/s", used ? "; " : "",
                      n->cur.names[i], s == TOCSIN_OK ? "" : " (alert)",
                      rate[NET_RX_BYTES], rate[NET_TX_BYTES],
                      rate[NET_RX_ERRS] + rate[NET_TX_ERRS],
                      rate[NET_RX_DROP] + rate[NET_TX_DROP]);
        for (k = 0; k < NET_FIELDS; k++) {
            const struct tocsin_thresholds *th =
                k == NET_RX_BYTES || k == NET_TX_BYTES ? &n->bytes :
                k == NET_RX_PACKETS || k == NET_TX_PACKETS ? &n->packets : NULL;

            snprintf(label, sizeof(label), "%s_%s_per_s", n->cur.names[i], net_labels[k]);
            tocsin_check_perf(chk, label, rate[k], k == NET_RX_BYTES ||
                              k == NET_TX_BYTES ? "B" : "", th, 0, 0, TOCSIN_PERF_MIN);
        }
    }
    if (resampled)
        tocsin_check_long(chk, "the counters went back since the previous check "
                          "(an interface made anew, a wrap, a reboot); re-sampled");
    tocsin_check_set(chk, state, "NET %s - %s over %.1f s", tocsin_state_name(state),
                     msg, secs);
    tocsin_counters_swap(&n->prev, &n->cur);
}

/* Descriptions for --help; docs/check-net.md tells more. */
static const struct tocsin_option_help net_help[] = {
    { "interface", NULL,
      "fnmatch patterns of the interfaces to report" },
    { "exclude_interface", NULL,
      "patterns left out" },
    { "bytes_warning", NULL,
      "bytes/s, received or sent (each judged)" },
    { "bytes_critical", NULL,
      "bytes/s, received or sent (each judged)" },
    { "packets_warning", NULL,
      "packets/s, received or sent" },
    { "packets_critical", NULL,
      "packets/s, received or sent" },
    { "errors_warning", NULL,
      "errors/s, received plus sent" },
    { "errors_critical", NULL,
      "errors/s, received plus sent" },
    { "drops_warning", NULL,
      "drops/s, received plus sent" },
    { "drops_critical", NULL,
      "drops/s, received plus sent" },
    { "sample_window", NULL,
      "the first check's own window" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "net",
    .version = "0.1.0",
    .summary = "bytes, packets, errors and drops per second per network interface",
    .options = net_options,
    .help = net_help,
    .setup = net_setup,
    .teardown = net_teardown,
    .check = net_check,
);
