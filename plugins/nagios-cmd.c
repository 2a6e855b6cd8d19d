/*
 * nagios-cmd.c - forward check results to Nagios as passive results,
 * through its external command file:
 *
 *   notifier "nagios" {
 *       plugin = "nagios-cmd"
 *       command_file = "/var/lib/nagios4/rw/nagios.cmd"
 *   }
 *
 * Each result becomes one line
 *
 *   [EPOCH] PROCESS_SERVICE_CHECK_RESULT;HOST;SERVICE;RC;OUTPUT|PERFDATA\nLONG
 *
 * (the long output after a literal backslash-n, as Nagios reads it) written
 * with a single write(2) of at most PIPE_BUF bytes, so lines from several
 * workers never interleave in the FIFO. The FIFO is opened without
 * blocking for every line: a Nagios that is not running (nobody reads the
 * FIFO) is a retry, never a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tocsin-plugin.h"

#define NAGIOS_CMD_DEFAULT_FILE "/var/lib/nagios4/rw/nagios.cmd"

/* Longest line written, its newline included: what one write(2) to a pipe
 * delivers at once. */
#define NAGIOS_CMD_LINE_MAX PIPE_BUF

/* Said in the result when it had to be cut to fit. */
#define NAGIOS_CMD_CUT_NOTE "[truncated to fit the command pipe]"

struct nagios_cmd {
    char *command_file;   /* the FIFO Nagios reads */
    char *host_tmpl;      /* template of the Nagios host name */
    char *service_tmpl;   /* template of the Nagios service description */
};

static cfg_opt_t nagios_cmd_options[] = {
    CFG_STR("command_file", NAGIOS_CMD_DEFAULT_FILE, CFGF_NONE),
    CFG_STR("host", "{host}", CFGF_NONE),
    CFG_STR("service", "{service}", CFGF_NONE),
    CFG_END()
};

/* A line being assembled in a fixed buffer of NAGIOS_CMD_LINE_MAX bytes. */
struct nagios_cmd_line {
    char text[NAGIOS_CMD_LINE_MAX + 1];
    size_t len;
};

static void nagios_cmd_teardown(void *instance)
{
    struct nagios_cmd *n = instance;

    if (!n)
        return;
    free(n->command_file);
    free(n->host_tmpl);
    free(n->service_tmpl);
    free(n);
}

/* Validate the options into a struct nagios_cmd owned by the instance.
 * The command file need not exist yet (Nagios makes it when it starts),
 * but when it does it must be a FIFO. */
static int nagios_cmd_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct nagios_cmd *n;
    const char *file = cfg_getstr(options, "command_file");
    const char *host = cfg_getstr(options, "host");
    const char *service = cfg_getstr(options, "service");
    struct stat st;

    n = calloc(1, sizeof(*n));
    if (!n)
        goto oom;
    if (!file || file[0] != '/') {
        snprintf(err, errlen, "option 'command_file' must be an absolute path, "
                 "such as %s (Nagios's command_file setting)", NAGIOS_CMD_DEFAULT_FILE);
        goto fail;
    }
    if (stat(file, &st) == 0 && !S_ISFIFO(st.st_mode)) {
        snprintf(err, errlen, "option 'command_file': %s is not a FIFO; give "
                 "the command_file of nagios.cfg", file);
        goto fail;
    }
    if (!host || !*host || !service || !*service) {
        snprintf(err, errlen, "options 'host' and 'service' must not be empty "
                 "(defaults \"{host}\" and \"{service}\")");
        goto fail;
    }
    if (tocsin_option_template(options, "host", 0, &n->host_tmpl, err, errlen) < 0 ||
        tocsin_option_template(options, "service", 0, &n->service_tmpl, err, errlen) < 0)
        goto fail;
    if (!(n->command_file = strdup(file)))
        goto oom;
    *instance = n;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    nagios_cmd_teardown(n);
    return -1;
}

/* ------------------------------------------------------------------ */
/* The line                                                            */
/* ------------------------------------------------------------------ */

enum nagios_cmd_mode {
    NAGIOS_CMD_TEXT,      /* output: newlines become "\n", '|' becomes '/' */
    NAGIOS_CMD_PERF       /* performance data: newlines become blanks */
};

/* The next unit of `s` as written to the line: an escape for a
 * backslash or a newline, one whole UTF-8 character, or a replacement for
 * a control character. Writes it to out (at most 4 bytes) and returns its
 * length; *consumed gets the bytes of s it stands for. */
static size_t nagios_cmd_unit(const char *s, enum nagios_cmd_mode mode, char *out,
                              size_t *consumed)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = 1, i;

    *consumed = 1;
    if (c == '\\') {
        out[0] = out[1] = '\\';
        return 2;
    }
    if (c == '\n') {
        if (mode == NAGIOS_CMD_PERF) {
            out[0] = ' ';
            return 1;
        }
        out[0] = '\\';
        out[1] = 'n';
        return 2;
    }
    if (c == '\r' && s[1] == '\n') {
        *consumed = 2;
        return nagios_cmd_unit(s + 1, mode, out, &i);
    }
    if (c < 0x20 || c == 0x7f) {
        out[0] = ' ';
        return 1;
    }
    if (c == '|' && mode == NAGIOS_CMD_TEXT) {
        out[0] = '/';       /* a '|' would start performance data */
        return 1;
    }
    /* Keep a UTF-8 character whole, so that a cut never splits one. */
    if (c >= 0xf0)
        n = 4;
    else if (c >= 0xe0)
        n = 3;
    else if (c >= 0xc0)
        n = 2;
    for (i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            break;
    n = i;
    memcpy(out, s, n);
    *consumed = n;
    return n;
}

/* Append `s`, escaped per `mode`, while the line stays within `limit`
 * bytes. Returns 1 when all of it went in, 0 when it was cut. */
static int nagios_cmd_put(struct nagios_cmd_line *l, const char *s,
                          enum nagios_cmd_mode mode, size_t limit)
{
    char unit[4];
    size_t n, used;

    while (*s) {
        n = nagios_cmd_unit(s, mode, unit, &used);
        if (l->len + n > limit)
            return 0;
        memcpy(l->text + l->len, unit, n);
        l->len += n;
        s += used;
    }
    return 1;
}

/* Append a string of our own making; 0 when it does not fit `limit`. */
static int nagios_cmd_raw(struct nagios_cmd_line *l, const char *s, size_t limit)
{
    size_t n = strlen(s);

    if (l->len + n > limit)
        return 0;
    memcpy(l->text + l->len, s, n);
    l->len += n;
    return 1;
}

/* Append the performance data items that fit `limit` whole, in order,
 * after a '|'; an item (a quoted label may hold blanks) is never cut.
 * Returns 1 when all fitted. */
static int nagios_cmd_perf(struct nagios_cmd_line *l, const char *perf, size_t limit)
{
    const char *p = perf;
    char item[NAGIOS_CMD_LINE_MAX];
    int first = 1;

    while (*p) {
        const char *start;
        size_t len, saved = l->len;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        start = p;
        if (*p == '\'') {
            for (p++; *p; p++) {
                if (*p == '\'' && p[1] == '\'') {
                    p++;
                } else if (*p == '\'') {
                    p++;
                    break;
                }
            }
        }
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            p++;
        len = (size_t)(p - start);
        if (len >= sizeof(item))
            return 0;
        memcpy(item, start, len);
        item[len] = '\0';
        if (!nagios_cmd_raw(l, first ? "|" : " ", limit) ||
            !nagios_cmd_put(l, item, NAGIOS_CMD_PERF, limit)) {
            l->len = saved;
            return 0;
        }
        first = 0;
    }
    return 1;
}

/* Fill the body of the line after `prefix_len` bytes of prefix: output,
 * '|' and performance data, "\n" and long output, all within `limit`.
 * Returns 1 when everything fitted. */
static int nagios_cmd_body(struct nagios_cmd_line *l, size_t prefix_len,
                           const struct tocsin_alert *a, size_t limit, int *first_cut)
{
    const char *long_output = a->long_output ? a->long_output : "";

    l->len = prefix_len;
    *first_cut = 0;
    if (!nagios_cmd_put(l, a->output ? a->output : "", NAGIOS_CMD_TEXT, limit)) {
        *first_cut = 1;
        return 0;
    }
    if (a->perfdata && *a->perfdata && !nagios_cmd_perf(l, a->perfdata, limit))
        return 0;
    if (*long_output && (!nagios_cmd_raw(l, "\\n", limit) ||
                         !nagios_cmd_put(l, long_output, NAGIOS_CMD_TEXT, limit)))
        return 0;
    return 1;
}

/* Build the command line for one result in l (newline included), cut to
 * NAGIOS_CMD_LINE_MAX bytes when it is longer: first the long output goes,
 * then performance data items, then the end of the first line, and a note
 * says so. Returns 0, or -1 when the names alone do not fit. O(n). */
static int nagios_cmd_build(struct nagios_cmd_line *l, const struct tocsin_alert *a,
                            const char *host, const char *service)
{
    const size_t limit = NAGIOS_CMD_LINE_MAX - 1;  /* room for the newline */
    size_t prefix_len, note_limit;
    int n, first_cut;

    n = snprintf(l->text, sizeof(l->text), "[%lld] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;",
                 (long long)(a->at ? a->at : time(NULL)), host, service, (int)a->state);
    if (n < 0 || (size_t)n + sizeof(NAGIOS_CMD_CUT_NOTE) + 4 > limit)
        return -1;
    prefix_len = (size_t)n;
    if (!nagios_cmd_body(l, prefix_len, a, limit, &first_cut)) {
        /* Again, leaving room for the note: " NOTE" at the end of a cut
         * first line, else "\nNOTE" as a line of its own. */
        note_limit = limit - (sizeof(NAGIOS_CMD_CUT_NOTE) - 1) - 2;
        nagios_cmd_body(l, prefix_len, a, note_limit, &first_cut);
        nagios_cmd_raw(l, first_cut ? " " : "\\n", limit);
        nagios_cmd_raw(l, NAGIOS_CMD_CUT_NOTE, limit);
    }
    l->text[l->len++] = '\n';
    l->text[l->len] = '\0';
    return 0;
}

/* Why Nagios cannot take `name` as a host name or service description in
 * an external command, or NULL when it can: it must not be empty, hold ';'
 * (the field separator) or a control character (a line break would end
 * the command). */
static const char *nagios_cmd_bad_name(const char *name)
{
    const unsigned char *p = (const unsigned char *)name;

    if (!*p)
        return "is empty";
    for (; *p; p++) {
        if (*p == ';')
            return "holds ';', the field separator of external commands";
        if (*p < 0x20 || *p == 0x7f)
            return "holds a line break or another control character";
    }
    return NULL;
}

/* `name` fit for a message: control characters as '?', cut at 100
 * bytes. Returns out. */
static const char *nagios_cmd_show(const char *name, char *out, size_t outlen)
{
    size_t i;

    for (i = 0; name[i] && i < 100 && i + 1 < outlen; i++)
        out[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    out[i] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* Write the line to the command file in one write(2). SIGPIPE is held
 * off while writing, so a Nagios that goes away between open and write
 * costs a retry, not the process. Costs an open, an fstat, a write and a
 * close. */
static enum tocsin_delivery nagios_cmd_write(const struct nagios_cmd *n,
                                             const struct nagios_cmd_line *l,
                                             char *err, size_t errlen)
{
    const char *file = n->command_file;
    sigset_t pipe_set, old_set;
    struct timespec zero = {0, 0};
    struct stat st;
    ssize_t written;
    int fd, e;

    fd = open(file, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        e = errno;
        switch (e) {
        case ENXIO:
            snprintf(err, errlen, "Nagios is not running: nobody reads %s", file);
            return TOCSIN_RETRY;
        case ENOENT:
        case ENOTDIR:
            snprintf(err, errlen, "%s does not exist: give Nagios's command_file, "
                     "with check_external_commands=1 in nagios.cfg", file);
            return TOCSIN_FAILED;
        case EACCES:
        case EPERM:
        case EROFS:
            snprintf(err, errlen, "cannot write to %s: %s (the user tocsind runs "
                     "as must be in the group of the command file, nagios on "
                     "Debian)", file, strerror(e));
            return TOCSIN_FAILED;
        case EISDIR:
        case ELOOP:
            snprintf(err, errlen, "cannot open %s: %s", file, strerror(e));
            return TOCSIN_FAILED;
        default:
            snprintf(err, errlen, "cannot open %s: %s", file, strerror(e));
            return TOCSIN_RETRY;
        }
    }
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        snprintf(err, errlen, "%s is not a FIFO: give Nagios's command_file", file);
        close(fd);
        return TOCSIN_FAILED;
    }

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_set, &old_set);
    do {
        written = write(fd, l->text, l->len);
    } while (written < 0 && errno == EINTR);
    e = written < 0 ? errno : 0;
    if (e == EPIPE && !sigismember(&old_set, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);   /* drop the SIGPIPE it raised */
    sigprocmask(SIG_SETMASK, &old_set, NULL);
    close(fd);

    if (written == (ssize_t)l->len)
        return TOCSIN_DELIVERED;
    if (written >= 0) {
        snprintf(err, errlen, "only %zd of %zu bytes went into %s", written,
                 l->len, file);
        return TOCSIN_RETRY;
    }
    if (e == EAGAIN || e == EWOULDBLOCK)
        snprintf(err, errlen, "the command pipe %s is full: Nagios is not "
                 "keeping up with its external commands", file);
    else if (e == EPIPE)
        snprintf(err, errlen, "Nagios stopped reading %s", file);
    else
        snprintf(err, errlen, "cannot write to %s: %s", file, strerror(e));
    return TOCSIN_RETRY;
}

/* Forward one alert: render and check the names, build the line, write
 * it. */
static enum tocsin_delivery nagios_cmd_send(void *instance, const struct tocsin_alert *a,
                                            char *err, size_t errlen)
{
    const struct nagios_cmd *n = instance;
    char *host = tocsin_template_render(n->host_tmpl, a);
    char *service = tocsin_template_render(n->service_tmpl, a);
    enum tocsin_delivery outcome = TOCSIN_FAILED;
    struct nagios_cmd_line *line = NULL;
    const char *bad;
    char shown[128];

    if (!host || !service || !(line = malloc(sizeof(*line)))) {
        snprintf(err, errlen, "out of memory");
        outcome = TOCSIN_RETRY;
        goto out;
    }
    if ((bad = nagios_cmd_bad_name(host))) {
        snprintf(err, errlen, "host name \"%s\" %s: Nagios cannot take it",
                 nagios_cmd_show(host, shown, sizeof(shown)), bad);
        goto out;
    }
    if ((bad = nagios_cmd_bad_name(service))) {
        snprintf(err, errlen, "service description \"%s\" %s: Nagios cannot "
                 "take it", nagios_cmd_show(service, shown, sizeof(shown)), bad);
        goto out;
    }
    line->len = 0;
    if (nagios_cmd_build(line, a, host, service) < 0) {
        snprintf(err, errlen, "host and service names of %s are too long for "
                 "one external command", nagios_cmd_show(a->service, shown,
                                                         sizeof(shown)));
        goto out;
    }
    outcome = nagios_cmd_write(n, line, err, errlen);
out:
    free(line);
    free(service);
    free(host);
    return outcome;
}

/* Forward the alert and each alert grouped with it, one line each. The
 * outcome is the worst: a retry if any asked for one, else failed if any
 * failed; err holds the reason of the first that was not written. */
static enum tocsin_delivery nagios_cmd_notify(void *instance,
                                              const struct tocsin_alert *alert,
                                              char *err, size_t errlen)
{
    return tocsin_notify_each(alert, nagios_cmd_send, instance, err, errlen);
}

/* Descriptions for --help; docs/forward-nagios-cmd.md tells more. */
static const struct tocsin_option_help nagios_cmd_help[] = {
    { "command_file", "FILE",
      "Nagios's command_file, a FIFO; an absolute path" },
    { "host", "HOST",
      "Nagios host name" },
    { "service", NULL,
      "Nagios service description" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .flags = TOCSIN_PLUGIN_RESULTS,
    .name = "nagios-cmd",
    .version = "0.1.0",
    .summary = "forward check results to Nagios through its external command file",
    .options = nagios_cmd_options,
    .help = nagios_cmd_help,
    .setup = nagios_cmd_setup,
    .teardown = nagios_cmd_teardown,
    .notify = nagios_cmd_notify,
);
