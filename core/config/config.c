/*
 * config.c - loading the configuration: the main file's options, every
 * *.conf of the include directory in sorted order, the list of errors as
 * "FILE:LINE: message", and freeing what was loaded. See config.h; each
 * section type is read in its own config-*.c, references between sections
 * are resolved in config-resolve.c.
 */
#include "config/config.h"
#include "config/config-internal.h"
#include "config/http-conf.h"
#include "config/timeperiod.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* The load in progress; set and cleared by tocsin_config_load. */
struct tocsin_conf_ctx *tocsin_conf_parse;

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

void tocsin_conf_error(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tocsin_buf_printf(tocsin_conf_parse->errors, "%s:%d: ", file, line);
    va_start(ap, fmt);
    tocsin_buf_vprintf(tocsin_conf_parse->errors, fmt, ap);
    va_end(ap);
    tocsin_buf_putc(tocsin_conf_parse->errors, '\n');
    tocsin_conf_parse->nerrors++;
}

void tocsin_conf_warn(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (!tocsin_conf_parse->warnings)
        return;
    tocsin_buf_printf(tocsin_conf_parse->warnings, "%s:%d: warning: ", file, line);
    va_start(ap, fmt);
    tocsin_buf_vprintf(tocsin_conf_parse->warnings, fmt, ap);
    va_end(ap);
    tocsin_buf_putc(tocsin_conf_parse->warnings, '\n');
}

/* 1 when the `n` bytes at `name` name one of the main file's options. */
static int is_main_option_n(const char *name, size_t n)
{
    const cfg_opt_t *o;

    for (o = tocsin_conf_parse->main_opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return 1;
    return 0;
}

/*
 * Say more than libconfuse's "no such option 'X'" when the reason is
 * clear: a global option written inside a section or in a conf.d file,
 * or the unit of a duration written with a blank and no quotes
 * (`interval = 5 minutes` reads "minutes" as the next option). Returns 1
 * when the error was reported here, 0 to report libconfuse's text.
 */
static int unknown_option_hint(cfg_t *cfg, const char *text)
{
    static const char prefix[] = "no such option '";
    const char *name, *end;
    char unit[40];
    long ms;
    int in_section;

    if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    name = text + sizeof(prefix) - 1;
    end = strchr(name, '\'');
    if (!end || end[1] || end == name)
        return 0;
    in_section = cfg->name && strcmp(cfg->name, "root") != 0;
    snprintf(unit, sizeof(unit), "1%.*s", (int)(end - name), name);
    if (in_section && strlen(unit) == (size_t)(end - name) + 1 &&
        strspn(unit + 1, "abcdefghijklmnopqrstuvwxyz") == strlen(unit + 1) &&
        tocsin_duration_parse(unit, &ms) == 0) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line,
                          "no such option '%.*s': a duration with a blank needs quotes "
                          "(\"5 %.*s\")",
                          (int)(end - name), name, (int)(end - name), name);
        return 1;
    }
    if ((in_section || strcmp(tocsin_conf_parse->file, tocsin_conf_parse->conf->path) != 0) &&
        is_main_option_n(name, (size_t)(end - name))) {
        tocsin_conf_error(tocsin_conf_parse->file, cfg->line,
                          "%.*s is a global option: put it at the top level of %s",
                          (int)(end - name), name, tocsin_conf_parse->conf->path);
        return 1;
    }
    return 0;
}

/*
 * libconfuse error callback. Free-form label sections (CFGF_KEYSTRVAL)
 * report each key as unknown although they accept it; those reports are
 * dropped. Everything else is kept with the file and line libconfuse
 * tracked.
 */
static void error_cb(cfg_t *cfg, const char *fmt, va_list ap)
{
    struct tocsin_buf msg = TOCSIN_BUF_INIT;
    const char *text;

    tocsin_buf_vprintf(&msg, fmt, ap);
    text = tocsin_buf_str(&msg);
    if ((cfg->flags & CFGF_KEYSTRVAL) && strncmp(text, "no such option", 14) == 0)
        goto out;
    if (unknown_option_hint(cfg, text))
        goto out;
    tocsin_conf_error(tocsin_conf_parse->file, cfg->line, "%s", text);
out:
    tocsin_buf_free(&msg);
}

/* ------------------------------------------------------------------ */
/* Main options                                                        */
/* ------------------------------------------------------------------ */

static int include_dir_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)opt;
    tocsin_conf_parse->include_dir_line = cfg->line;
    return 0;
}

static int nonneg_int_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    if (cfg_opt_getnint(opt, 0) < 0) {
        cfg_error(cfg, "option '%s' must not be negative", opt->name);
        return -1;
    }
    return 0;
}

static int nice_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    long v = cfg_opt_getnint(opt, 0);

    if (v < 0 || v > 19) {
        cfg_error(cfg, "worker_nice must be between 0 and 19 (have %ld)", v);
        return -1;
    }
    return 0;
}

static int fallback_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    (void)opt;
    tocsin_conf_parse->fallback_line = cfg->line;
    return 0;
}

static int log_level_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, 0);

    if (!v || tocsin_log_level_parse(v) < 0) {
        cfg_error(cfg, "log_level \"%s\" is not one of error, warning, info, debug",
                  v ? v : "");
        return -1;
    }
    return 0;
}

/* store_sync: "normal" or "full" (case-insensitive). */
static int store_sync_cb(cfg_t *cfg, cfg_opt_t *opt)
{
    const char *v = cfg_opt_getnstr(opt, 0);

    if (!v || (strcasecmp(v, "normal") != 0 && strcasecmp(v, "full") != 0)) {
        cfg_error(cfg, "store_sync \"%s\" is not one of normal, full", v ? v : "");
        return -1;
    }
    return 0;
}

/*
 * Give option `name` of table `opts` the validation callback `cb`. A name
 * the table lacks is a mistake in this file, reported as an error of the
 * main file so that the load fails at once. Returns 0 or -1. O(n).
 */
static int set_validcb(cfg_opt_t *opts, const char *name, cfg_validate_callback_t cb)
{
    for (; opts->name; opts++)
        if (strcmp(opts->name, name) == 0) {
            opts->validcb = cb;
            return 0;
        }
    tocsin_conf_error(tocsin_conf_parse->conf->path, 1,
                      "internal error: no main option '%s' to validate", name);
    return -1;
}

/* Names and indices of the entries the load's hash indices cover. */
static const char *service_name_at(const void *ud, uint32_t i)
{
    return ((const struct tocsin_config *)ud)->services[i].inst.name;
}

static const char *notifier_name_at(const void *ud, uint32_t i)
{
    return ((const struct tocsin_config *)ud)->notifiers[i].inst.name;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Parse one file with `opts` as its top-level table. Returns the parsed
 * tree (caller frees) or NULL when the file could not be read. */
/* Read a whole stream into `out`. Returns 0 or -1 (errno set). */
static int read_all(FILE *fp, struct tocsin_buf *out)
{
    char chunk[8192];
    size_t n;

    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        if (tocsin_buf_append(out, chunk, n) < 0) {
            errno = ENOMEM;
            return -1;
        }
    return ferror(fp) ? -1 : 0;
}

/*
 * Replace '#', '//' and block comments by spaces (a block comment keeps
 * its newlines), leaving quoted strings alone. libconfuse 3.3 miscounts
 * the lines of comments (each '#' line as three, each block comment one
 * line too many), which would put every later error on the wrong line;
 * with the comments blanked, its line numbers are right. An unterminated
 * block comment is left for libconfuse to report. O(n), in place.
 */
static void blank_line_comments(char *s)
{
    char quote = 0;

    for (; *s; s++) {
        if (quote) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == quote)
                quote = 0;
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (*s == '/' && s[1] == '*') {
            char *end = strstr(s + 2, "*/");

            if (!end)
                return;
            for (; s <= end + 1; s++)
                if (*s != '\n')
                    *s = ' ';
            s--;
        } else if (*s == '#' || (*s == '/' && s[1] == '/')) {
            for (; *s && *s != '\n'; s++)
                *s = ' ';
            if (!*s)
                return;
        }
    }
}

#define OPEN_MAX_TRACKED 16

/* Where a still-open section began: its line and its name as written. */
struct open_section {
    int line;
    char name[64];
};

/* The name of the section whose '{' is at `brace` (`start` is the text's
 * beginning): the quoted title before it (`service "b" {`), or else the
 * bare word (`http {`). Copied into `name`, cut to fit. */
static void section_name(const char *start, const char *brace, char *name, size_t len)
{
    const char *end = brace, *begin;

    while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
                           end[-1] == '\r'))
        end--;
    begin = end;
    if (begin > start && (begin[-1] == '"' || begin[-1] == '\'')) {
        char quote = begin[-1];

        end = --begin;
        while (begin > start && begin[-1] != quote)
            begin--;
    } else {
        while (begin > start && begin[-1] != ' ' && begin[-1] != '\t' &&
               begin[-1] != '\n' && begin[-1] != '}' && begin[-1] != '{')
            begin--;
    }
    snprintf(name, len, "%.*s", (int)(end - begin), begin);
}

/*
 * Report every section of `text` (comments already blanked) that the end
 * of the file leaves open, as "FILE:LINE: section "b" opened here is never
 * closed" at the line of its '{'. libconfuse accepts a file that ends
 * inside a section, so a truncated file (an editor crash, a full disk, a
 * partial copy) would otherwise load its half-written section as if it
 * were whole. Braces inside quoted strings do not count; a '}' without its
 * '{' is left for libconfuse to report. Returns the number reported. O(n).
 */
static int report_unclosed_sections(const char *file, const char *text)
{
    struct open_section open[OPEN_MAX_TRACKED];
    int depth = 0, line = 1, i, reported = 0;
    char quote = 0;
    const char *s;

    for (s = text; *s; s++) {
        if (*s == '\n')
            line++;
        if (quote) {
            if (*s == '\\' && s[1] && s[1] != '\n')
                s++;
            else if (*s == quote)
                quote = 0;
        } else if (*s == '"' || *s == '\'') {
            quote = *s;
        } else if (*s == '{') {
            if (depth < OPEN_MAX_TRACKED) {
                open[depth].line = line;
                section_name(text, s, open[depth].name, sizeof(open[depth].name));
            }
            depth++;
        } else if (*s == '}' && depth > 0) {
            depth--;
        }
    }
    for (i = 0; i < depth && i < OPEN_MAX_TRACKED; i++, reported++)
        tocsin_conf_error(file, open[i].line, "section \"%s\" opened here is never closed",
                          open[i].name);
    return reported;
}

static cfg_t *parse_file(const char *file, cfg_opt_t *opts)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    struct stat st;
    size_t before;
    cfg_t *cfg;
    FILE *fp;

    tocsin_conf_parse->file = file;
    tocsin_conf_parse->npending = 0;
    fp = fopen(file, "r");
    if (!fp) {
        tocsin_conf_error(file, 1, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
        tocsin_conf_error(file, 1, "cannot read: %s",
                          S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
        fclose(fp);
        return NULL;
    }
    if (read_all(fp, &text) < 0) {
        tocsin_conf_error(file, 1, "cannot read: %s", strerror(errno));
        fclose(fp);
        tocsin_buf_free(&text);
        return NULL;
    }
    fclose(fp);
    if (memchr(tocsin_buf_str(&text), '\0', text.len)) {
        tocsin_conf_error(file, 1, "cannot read: the file contains a NUL byte");
        tocsin_buf_free(&text);
        return NULL;
    }
    blank_line_comments(text.data ? text.data : "");
    report_unclosed_sections(file, tocsin_buf_str(&text));
    cfg = cfg_init(opts, CFGF_NONE);
    if (!cfg) {
        tocsin_conf_error(file, 1, "out of memory");
        tocsin_buf_free(&text);
        return NULL;
    }
    cfg_set_error_function(cfg, error_cb);
    cfg_set_validate_func(cfg, "service", tocsin_conf_service_cb);
    cfg_set_validate_func(cfg, "notifier", tocsin_conf_notifier_cb);
    cfg_set_validate_func(cfg, "group", tocsin_conf_group_cb);
    cfg_set_validate_func(cfg, "route", tocsin_conf_route_cb);
    cfg_set_validate_func(cfg, "timeperiod", tocsin_conf_timeperiod_cb);
    cfg_set_validate_func(cfg, "priority", tocsin_conf_priority_cb);
    cfg_set_validate_func(cfg, "priority_rule", tocsin_conf_priority_rule_cb);
    before = tocsin_conf_parse->nerrors;
    if (cfg_parse_buf(cfg, tocsin_buf_str(&text)) != CFG_SUCCESS &&
        tocsin_conf_parse->nerrors == before)
        tocsin_conf_error(file, cfg->line, "syntax error");
    tocsin_buf_free(&text);
    return cfg;
}

static int conf_name_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Parse every *.conf of the include directory, in sorted order. */
static void parse_include_dir(const char *dir, cfg_opt_t *opts)
{
    struct tocsin_buf path = TOCSIN_BUF_INIT;
    struct dirent **names = NULL;
    struct stat st;
    int n, i;

    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int err = errno;

        /* The default conf.d may be absent; one that was asked for may not. */
        if (tocsin_conf_parse->include_dir_line)
            tocsin_conf_error(tocsin_conf_parse->conf->path, tocsin_conf_parse->include_dir_line,
                              "include directory %s: %s", dir,
                              S_ISDIR(st.st_mode) || err ? strerror(err) : "not a directory");
        return;
    }
    n = scandir(dir, &names, conf_name_filter, alphasort);
    if (n < 0) {
        tocsin_conf_error(tocsin_conf_parse->conf->path,
                          tocsin_conf_parse->include_dir_line ? tocsin_conf_parse->include_dir_line
                                                              : 1,
                          "include directory %s: %s", dir, strerror(errno));
        return;
    }
    for (i = 0; i < n; i++) {
        cfg_t *cfg;

        tocsin_buf_reset(&path);
        tocsin_buf_printf(&path, "%s/%s", dir, names[i]->d_name);
        cfg = parse_file(tocsin_buf_str(&path), opts);
        if (cfg)
            cfg_free(cfg);
        free(names[i]);
    }
    free(names);
    tocsin_buf_free(&path);
}

/* The directory part of `path` ("." when none); caller frees. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

struct tocsin_config *tocsin_config_load(const char *path,
                                         const struct tocsin_registry *reg,
                                         struct tocsin_buf *errors)
{
    return tocsin_config_load_warn(path, reg, errors, NULL);
}

struct tocsin_config *tocsin_config_load_warn(const char *path,
                                              const struct tocsin_registry *reg,
                                              struct tocsin_buf *errors,
                                              struct tocsin_buf *warnings)
{
    struct tocsin_conf_ctx pc;
    struct tocsin_config *conf = NULL;
    cfg_opt_t *service_opts = NULL, *notifier_opts = NULL;
    cfg_opt_t *group_opts = NULL, *route_opts = NULL, *period_opts = NULL;
    cfg_opt_t *priority_opts = NULL, *rule_opts = NULL;
    cfg_opt_t *main_opts = NULL, *dir_opts = NULL;
    struct tocsin_buf incdir = TOCSIN_BUF_INIT;
    char hostname[HOST_NAME_MAX + 1];
    char *base = NULL, *fallback = NULL;
    cfg_t *cfg = NULL;
    const char *inc;

    memset(&pc, 0, sizeof(pc));
    pc.reg = reg;
    pc.errors = errors;
    pc.warnings = warnings;
    tocsin_conf_parse = &pc;

    conf = calloc(1, sizeof(*conf));
    if (!conf)
        goto oom;
    tocsin_hashidx_init(&pc.service_names, service_name_at, conf);
    tocsin_hashidx_init(&pc.notifier_names, notifier_name_at, conf);
    pc.conf = conf;
    conf->path = strdup(path);
    if (gethostname(hostname, sizeof(hostname)) < 0)
        hostname[0] = '\0';
    hostname[sizeof(hostname) - 1] = '\0';
    conf->host = strdup(*hostname ? hostname : "localhost");
    if (!conf->path || !conf->host)
        goto oom;

    service_opts = tocsin_conf_union_table(tocsin_conf_service_opts, TOCSIN_PLUGIN_CHECK, reg);
    notifier_opts = tocsin_conf_union_table(tocsin_conf_notifier_opts, TOCSIN_PLUGIN_NOTIFIER, reg);
    group_opts = tocsin_conf_union_table(tocsin_conf_group_opts, 0, reg);
    route_opts = tocsin_conf_union_table(tocsin_conf_route_opts, 0, reg);
    period_opts = tocsin_conf_union_table(tocsin_timeperiod_opts, 0, reg);
    priority_opts = tocsin_conf_union_table(tocsin_conf_priority_opts, 0, reg);
    rule_opts = tocsin_conf_union_table(tocsin_conf_priority_rule_opts, 0, reg);
    if (!service_opts || !notifier_opts || !group_opts || !route_opts || !period_opts ||
        !priority_opts || !rule_opts)
        goto oom;
    {
        cfg_opt_t m[] = {
            CFG_STR("include_dir", "conf.d", CFGF_NONE),
            CFG_STR("host", NULL, CFGF_NONE),
            CFG_STR("state_dir", TOCSIN_STATE_DIR, CFGF_NONE),
            CFG_STR("store_sync", "normal", CFGF_NONE),
            CFG_INT("workers", 0, CFGF_NONE),
            CFG_INT("worker_memory_limit", 1024, CFGF_NONE),
            CFG_INT("worker_nice", 5, CFGF_NONE),
            CFG_STR("log_level", "info", CFGF_NONE),
            TOCSIN_OPT_DURATION("max_check_spread", 60000),
            CFG_STR("fallback_notifier", "console", CFGF_NONE),
            CFG_STR("control_socket", TOCSIN_RUN_DIR "/tocsind.sock", CFGF_NONE),
            TOCSIN_OPT_DURATION("retention", 30LL * 86400000),
            TOCSIN_OPT_DURATION("history_detail", 2LL * 86400000),
            TOCSIN_OPT_DURATION("history_keep", 400LL * 86400000),
            CFG_BOOL("flap_detection", cfg_false, CFGF_NONE),
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("timeperiod", period_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("priority", priority_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("priority_rule", rule_opts, CFGF_MULTI),
            CFG_SEC("http", tocsin_http_conf_opts(), CFGF_NONE),
            CFG_END()
        };
        cfg_opt_t d[] = {
            CFG_SEC("service", service_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("notifier", notifier_opts, CFGF_MULTI | CFGF_TITLE | CFGF_DEFINIT),
            CFG_SEC("group", group_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("route", route_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("timeperiod", period_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("priority", priority_opts, CFGF_MULTI | CFGF_TITLE),
            CFG_SEC("priority_rule", rule_opts, CFGF_MULTI),
            CFG_END()
        };

        main_opts = malloc(sizeof(m));
        dir_opts = malloc(sizeof(d));
        if (!main_opts || !dir_opts)
            goto oom;
        memcpy(main_opts, m, sizeof(m));
        memcpy(dir_opts, d, sizeof(d));
        pc.main_opts = main_opts;
        if (set_validcb(main_opts, "include_dir", include_dir_cb) < 0 ||
            set_validcb(main_opts, "workers", nonneg_int_cb) < 0 ||
            set_validcb(main_opts, "worker_memory_limit", nonneg_int_cb) < 0 ||
            set_validcb(main_opts, "worker_nice", nice_cb) < 0 ||
            set_validcb(main_opts, "log_level", log_level_cb) < 0 ||
            set_validcb(main_opts, "store_sync", store_sync_cb) < 0 ||
            set_validcb(main_opts, "fallback_notifier", fallback_cb) < 0)
            goto done;
    }

    /* Global options first: services in the main file use `host`. The
     * main file is parsed once; services defined in it are collected by
     * the section callbacks like those of conf.d. */
    cfg = parse_file(path, main_opts);
    if (!cfg)
        goto done;
    if (cfg_getstr(cfg, "host")) {
        /* Services of the main file already took the machine's name;
         * give them the configured one unless they set their own. */
        size_t i;

        for (i = 0; i < conf->nservices; i++) {
            if (strcmp(conf->services[i].host, conf->host) == 0) {
                char *h = tocsin_conf_intern(cfg_getstr(cfg, "host"));

                if (!h)
                    goto oom;
                conf->services[i].host = h;
            }
        }
        free(conf->host);
        conf->host = strdup(cfg_getstr(cfg, "host"));
        if (!conf->host)
            goto oom;
    }
    conf->state_dir = strdup(cfg_getstr(cfg, "state_dir"));
    conf->store_sync_full = strcasecmp(cfg_getstr(cfg, "store_sync"), "full") == 0;
    conf->workers = (int)cfg_getint(cfg, "workers");
    conf->worker_memory_mb = cfg_getint(cfg, "worker_memory_limit");
    conf->worker_nice = (int)cfg_getint(cfg, "worker_nice");
    conf->max_check_spread_us = cfg_getint(cfg, "max_check_spread") * 1000;
    conf->log_level = tocsin_log_level_parse(cfg_getstr(cfg, "log_level"));
    if (conf->log_level < 0)
        conf->log_level = TOCSIN_LOG_INFO;
    inc = cfg_getstr(cfg, "include_dir");
    base = dir_of(path);
    if (!conf->state_dir || !base)
        goto oom;
    if (inc && *inc == '/')
        tocsin_buf_puts(&incdir, inc);
    else
        tocsin_buf_printf(&incdir, "%s/%s", base, inc ? inc : "conf.d");
    conf->include_dir = tocsin_buf_steal(&incdir);
    if (!conf->include_dir)
        goto oom;
    {
        const char *fb = cfg_getstr(cfg, "fallback_notifier");

        fallback = strdup(fb ? fb : "");
        conf->control_socket = strdup(cfg_getstr(cfg, "control_socket"));
        conf->retention_ms = cfg_getint(cfg, "retention");
        conf->history_detail_ms = cfg_getint(cfg, "history_detail");
        conf->history_keep_ms = cfg_getint(cfg, "history_keep");
        conf->flap_detection = cfg_getbool(cfg, "flap_detection") ? 1 : 0;
        if (!fallback || !conf->control_socket)
            goto oom;
    }
    conf->http = tocsin_http_conf_new(cfg_getsec(cfg, "http"), path, errors);
    if (!conf->http)
        pc.nerrors++;
    cfg_free(cfg);
    cfg = NULL;

    parse_include_dir(conf->include_dir, dir_opts);
    tocsin_conf_resolve(conf, fallback);
    goto done;

oom:
    tocsin_buf_printf(errors, "%s:1: out of memory\n", path);
    pc.nerrors++;
done:
    if (cfg)
        cfg_free(cfg);
    free(base);
    free(fallback);
    free(service_opts);
    free(notifier_opts);
    free(group_opts);
    free(route_opts);
    free(period_opts);
    free(priority_opts);
    free(rule_opts);
    free(main_opts);
    free(dir_opts);
    tocsin_buf_free(&incdir);
    tocsin_hashidx_free(&pc.notifier_names);
    /* The service index outlives the load: tocsin_config_find_service. */
    if (conf && !pc.nerrors && (conf->service_index = malloc(sizeof(pc.service_names))))
        *conf->service_index = pc.service_names;
    else
        tocsin_hashidx_free(&pc.service_names);
    tocsin_conf_parse = NULL;
    if (pc.nerrors) {
        tocsin_config_free(conf);
        return NULL;
    }
    return conf;
}

void tocsin_config_free(struct tocsin_config *conf)
{
    size_t i;

    if (!conf)
        return;
    for (i = 0; i < conf->nservices; i++)
        tocsin_conf_free_service(&conf->services[i]);
    for (i = 0; i < conf->nnotifiers; i++)
        tocsin_conf_free_instance(&conf->notifiers[i].inst);
    for (i = 0; i < conf->nroutes; i++)
        tocsin_conf_free_route(&conf->routes[i]);
    free(conf->services);
    free(conf->notifiers);
    free(conf->routes);
    for (i = 0; i < conf->nperiods; i++)
        tocsin_timeperiod_free(&conf->periods[i]);
    free(conf->periods);
    tocsin_conf_free_priorities(conf);
    free(conf->control_socket);
    tocsin_conf_pool_free(conf->pool);
    if (conf->service_index)
        tocsin_hashidx_free(conf->service_index);
    free(conf->service_index);
    tocsin_http_conf_free(conf->http);
    free(conf->path);
    free(conf->include_dir);
    free(conf->host);
    free(conf->state_dir);
    free(conf);
}

long tocsin_config_find_notifier(const struct tocsin_config *conf, const char *name)
{
    size_t i;

    for (i = 0; i < conf->nnotifiers; i++)
        if (strcmp(conf->notifiers[i].inst.name, name) == 0)
            return (long)i;
    return -1;
}

long tocsin_config_find_service(const struct tocsin_config *conf, const char *name)
{
    size_t i;

    if (conf->service_index)
        return tocsin_hashidx_find(conf->service_index, name);
    for (i = 0; i < conf->nservices; i++)
        if (strcmp(conf->services[i].inst.name, name) == 0)
            return (long)i;
    return -1;
}

