/*
 * procs.c - the number of processes, all of them or those matching
 * filters, against Nagios ranges, as check_procs counts them, without
 * running ps:
 *
 *   check = "procs"
 *   command = "nginx"            # exact command name (check_procs -C)
 *   critical = "1:"              # at least one
 *
 *   check = "procs"              # no filter: every process
 *   warning = "200"              # (the defaults when no filter is set)
 *   critical = "300"
 *
 * Filters, all of which a process must pass: command (name, as ps shows
 * COMMAND: the first 15 bytes of the executable's name), command_regex
 * (an extended regex on that name), argument (a substring of the command
 * line, check_procs -a), argument_regex (an extended regex on it,
 * check_procs --ereg-argument-array), user (a name or a uid, check_procs
 * -u), state (process states, as in check_procs -s: "Z" for zombies).
 * The process that counts is left out, as check_procs leaves itself out.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tocsin-plugin.h"
#include "common/procfs.h"

/* Longest command line kept for matching; ps cuts too. */
#define PROCS_ARGS_MAX 4096

struct procs {
    struct tocsin_thresholds th;
    char *command;          /* exact command name, or NULL */
    char *argument;         /* substring of the command line, or NULL */
    char *state;            /* state letters, or NULL */
    regex_t command_re, argument_re;
    int have_command_re, have_argument_re;
    int have_user;
    uid_t uid;
    char filters[768];      /* "with command name 'x', ..." for the output */
};

static cfg_opt_t procs_options[] = {
    TOCSIN_OPT_RANGE("warning", ""),
    TOCSIN_OPT_RANGE("critical", ""),
    CFG_STR("command", "", CFGF_NONE),
    CFG_STR("command_regex", "", CFGF_NONE),
    CFG_STR("argument", "", CFGF_NONE),
    CFG_STR("argument_regex", "", CFGF_NONE),
    CFG_STR("user", "", CFGF_NONE),
    CFG_STR("state", "", CFGF_NONE),
    CFG_END()
};

static void procs_teardown(void *instance)
{
    struct procs *p = instance;

    if (!p)
        return;
    free(p->command);
    free(p->argument);
    free(p->state);
    if (p->have_command_re)
        regfree(&p->command_re);
    if (p->have_argument_re)
        regfree(&p->argument_re);
    free(p);
}

/* Compile regex option `name` into *re when it is set. Returns 1 when
 * compiled, 0 when unset, -1 with a reason in err. */
static int procs_regex(cfg_t *options, const char *name, regex_t *re,
                       char *err, size_t errlen)
{
    const char *text = tocsin_option_str(options, name);
    char why[128];
    int rc;

    if (!text)
        return 0;
    rc = regcomp(re, text, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, re, why, sizeof(why));
        snprintf(err, errlen, "option '%s': bad regular expression \"%s\": %s",
                 name, text, why);
        return -1;
    }
    return 1;
}

/* Resolve option 'user' (a name, or a number) to a uid. Returns 1 when
 * set, 0 when unset, -1 with a reason in err. */
static int procs_user(cfg_t *options, uid_t *uid, char *err, size_t errlen)
{
    const char *text = tocsin_option_str(options, "user");
    struct passwd pw, *found = NULL;
    char buf[4096], *end;
    unsigned long v;
    int rc;

    if (!text)
        return 0;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (isdigit((unsigned char)*text) && !*end && !errno) {
        *uid = (uid_t)v;
        return 1;
    }
    rc = getpwnam_r(text, &pw, buf, sizeof(buf), &found);
    if (rc != 0 || !found) {
        snprintf(err, errlen, "option 'user': no user \"%s\"", text);
        return -1;
    }
    *uid = found->pw_uid;
    return 1;
}

/* Validate the options into a struct procs owned by the instance. Without
 * any filter and without ranges, the total is judged against 200 and 300. */
static int procs_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct procs *p = calloc(1, sizeof(*p));
    const char *text;
    size_t n = 0;
    int oom = 0, rc;

    if (!p) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &p->th,
                                 err, errlen) < 0)
        goto fail;
    p->command = tocsin_option_strdup(options, "command", &oom);
    p->argument = tocsin_option_strdup(options, "argument", &oom);
    p->state = tocsin_option_strdup(options, "state", &oom);
    if (oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((rc = procs_regex(options, "command_regex", &p->command_re, err, errlen)) < 0)
        goto fail;
    p->have_command_re = rc;
    if ((rc = procs_regex(options, "argument_regex", &p->argument_re, err, errlen)) < 0)
        goto fail;
    p->have_argument_re = rc;
    if ((rc = procs_user(options, &p->uid, err, errlen)) < 0)
        goto fail;
    p->have_user = rc;

    if (p->command)
        tocsin_append(p->filters, sizeof(p->filters), &n, "%scommand name '%s'",
                      n ? ", " : " with ", p->command);
    if ((text = tocsin_option_str(options, "command_regex")))
        tocsin_append(p->filters, sizeof(p->filters), &n, "%scommand name "
                      "matching '%s'", n ? ", " : " with ", text);
    if (p->argument)
        tocsin_append(p->filters, sizeof(p->filters), &n, "%sargs '%s'",
                      n ? ", " : " with ", p->argument);
    if ((text = tocsin_option_str(options, "argument_regex")))
        tocsin_append(p->filters, sizeof(p->filters), &n, "%sregex args '%s'",
                      n ? ", " : " with ", text);
    if (p->have_user)
        tocsin_append(p->filters, sizeof(p->filters), &n, "%sUID %lu",
                      n ? ", " : " with ", (unsigned long)p->uid);
    if (p->state)
        tocsin_append(p->filters, sizeof(p->filters), &n, "%sstatus %s",
                      n ? ", " : " with ", p->state);
    if (!n && !p->th.warning.set && !p->th.critical.set) {
        if (tocsin_range_parse("200", &p->th.warning, err, errlen) < 0 ||
            tocsin_range_parse("300", &p->th.critical, err, errlen) < 0)
            goto fail;
    }
    *instance = p;
    return 0;

fail:
    procs_teardown(p);
    return -1;
}

/* Read file `name` of process directory `pid` (under the /proc fd `dir`)
 * into buf, NUL-terminated. Returns its length, or -1 (the process may
 * have just ended). comm and stat are one line that the kernel hands over
 * whole in one read: a read ending in a newline ends them, which saves
 * the read that would only say end of file (a quarter of the system calls
 * of a filtered count). */
static ssize_t procs_read(int dir, const char *pid, const char *name,
                          char *buf, size_t len)
{
    int one_line = strcmp(name, "cmdline") != 0;
    char rel[64];
    ssize_t n, got = 0;
    int fd;

    if (snprintf(rel, sizeof(rel), "%s/%s", pid, name) >= (int)sizeof(rel))
        return -1;
    fd = openat(dir, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    while ((size_t)got < len - 1) {
        n = read(fd, buf + got, len - 1 - (size_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += n;
        if (one_line && buf[got - 1] == '\n')
            break;
    }
    close(fd);
    buf[got] = '\0';
    return got;
}

/* The name and the state from the text of /proc/PID/stat: "PID (NAME) S
 * ...", the name running to the last ')'. Returns 0, or -1 when the text
 * is not of that form. */
static int procs_parse_stat(char *text, char **name, char *state)
{
    char *open = strchr(text, '('), *close = strrchr(text, ')');

    if (!open || !close || close < open || close[1] != ' ' || !close[2])
        return -1;
    *close = '\0';
    *name = open + 1;
    *state = close[2];
    return 0;
}

/* The command line of `pid` with its NULs as spaces, as ps shows args; a
 * process without one (a kernel thread, a zombie) shows "[NAME]". */
static void procs_args(int dir, const char *pid, const char *name, char *buf,
                       size_t len)
{
    ssize_t n = procs_read(dir, pid, "cmdline", buf, len), i;

    while (n > 0 && buf[n - 1] == '\0')
        n--;
    if (n <= 0) {
        snprintf(buf, len, "[%s]", name);
        return;
    }
    for (i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
}

/* What a filter needs to read of each process. */
#define PROCS_NEED_STAT 0x1 /* the state, from /proc/PID/stat */
#define PROCS_NEED_NAME 0x2 /* the name, from /proc/PID/comm or stat */

/* Which files each process costs: none to count them all. */
static unsigned procs_needs(const struct procs *p)
{
    unsigned need = 0;

    if (p->state)
        need |= PROCS_NEED_STAT;
    if (p->command || p->have_command_re || p->argument || p->have_argument_re)
        need |= PROCS_NEED_NAME;
    return need;
}

/* Read the name (and, with PROCS_NEED_STAT, the state) of process `pid`
 * into name (len bytes) and *state. Returns 1 when read, 0 when the
 * process is gone, -1 when its stat file cannot be parsed (the text is
 * left in name for the message). */
static int procs_identity(int dir, const char *pid, unsigned need, char *name,
                          size_t len, char *state)
{
    char text[1024], *n;
    size_t used;
    ssize_t got;

    if (!(need & PROCS_NEED_STAT)) {
        /* comm is the name stat shows, and far cheaper to produce. */
        got = procs_read(dir, pid, "comm", name, len);
        if (got <= 0)
            return 0;
        if (name[got - 1] == '\n')
            name[got - 1] = '\0';
        return 1;
    }
    if (procs_read(dir, pid, "stat", text, sizeof(text)) <= 0)
        return 0;
    used = 0;
    if (procs_parse_stat(text, &n, state) < 0) {
        tocsin_append(name, len, &used, "%s", text);
        return -1;
    }
    tocsin_append(name, len, &used, "%s", n);
    return 1;
}

/* 1 when the process passes every filter. `dir` is the /proc fd. */
static int procs_match(const struct procs *p, int dir, const char *pid,
                       const char *name, char state)
{
    char args[PROCS_ARGS_MAX];
    struct stat st;

    if (p->command && strcmp(p->command, name) != 0)
        return 0;
    if (p->state && !strchr(p->state, state))
        return 0;
    if (p->have_command_re && regexec(&p->command_re, name, 0, NULL, 0) != 0)
        return 0;
    if (p->have_user &&
        (fstatat(dir, pid, &st, 0) < 0 || st.st_uid != p->uid))
        return 0;
    if (p->argument || p->have_argument_re) {
        procs_args(dir, pid, name, args, sizeof(args));
        if (p->argument && !strstr(args, p->argument))
            return 0;
        if (p->have_argument_re && regexec(&p->argument_re, args, 0, NULL, 0) != 0)
            return 0;
    }
    return 1;
}

/* Count the matching processes: one readdir of /proc, and per process
 * only what the filters need: nothing to count them all, comm for a name,
 * stat for a state, cmdline for arguments, a stat() for the owner. A
 * process that ends while being read is not counted. */
static void procs_check(void *instance, struct tocsin_check *chk)
{
    const struct procs *p = instance;
    unsigned need = procs_needs(p);
    char path[512], name[256], st = '?';
    struct dirent *de;
    enum tocsin_state state;
    DIR *d = NULL;
    long count = 0, self = (long)getpid();
    int e, got;

    if (tocsin_procfs_path(TOCSIN_PROCFS_PROC, "", path, sizeof(path)) < 0 ||
        !(d = opendir(path))) {
        e = errno;
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROCS UNKNOWN - cannot open %s: %s",
                         path, strerror(e));
        goto out;
    }
    while ((de = readdir(d))) {
        /* As check_procs leaves itself out, so that a filter on the
         * arguments does not count tocsin-check run with them. */
        if (!isdigit((unsigned char)de->d_name[0]) || atol(de->d_name) == self)
            continue;
        if (need) {
            got = procs_identity(dirfd(d), de->d_name, need, name, sizeof(name), &st);
            if (got < 0) {
                tocsin_check_set(chk, TOCSIN_UNKNOWN, "PROCS UNKNOWN - cannot parse "
                                 "%s%s/stat: \"%.40s\"", path, de->d_name, name);
                goto out;
            }
            if (got == 0 || !procs_match(p, dirfd(d), de->d_name, name, st))
                continue;
        } else if (p->have_user) {
            if (!procs_match(p, dirfd(d), de->d_name, "", st))
                continue;
        }
        count++;
        if (tocsin_check_remaining(chk) <= 0) {
            tocsin_check_timed_out(chk);
            goto out;
        }
    }
    state = tocsin_thresholds_eval(&p->th, (double)count);
    tocsin_check_perf(chk, "procs", (double)count, "", &p->th, 0, 0, TOCSIN_PERF_MIN);
    tocsin_check_set(chk, state, "PROCS %s: %ld process%s%s", tocsin_state_name(state),
                     count, count == 1 ? "" : "es", p->filters);
out:
    if (d)
        closedir(d);
}

/* Descriptions for --help; docs/check-procs.md tells more. */
static const struct tocsin_option_help procs_help[] = {
    { "warning", NULL,
      "-w, -c" },
    { "critical", NULL,
      "-w, -c" },
    { "command", "COMMAND",
      "-C" },
    { "command_regex", NULL,
      "" },
    { "argument", NULL,
      "-a" },
    { "argument_regex", NULL,
      "--ereg-argument-array" },
    { "user", "USER",
      "-u" },
    { "state", NULL,
      "-s (the first letter of STAT)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .name = "procs",
    .version = "0.1.0",
    .summary = "number of processes, by command name, arguments, user or state",
    .options = procs_options,
    .help = procs_help,
    .setup = procs_setup,
    .teardown = procs_teardown,
    .check = procs_check,
);
