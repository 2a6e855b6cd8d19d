/*
 * options.c - reading a plugin's validated options into the structures
 * the plugin works with: ranges, thresholds, secrets, files, templates.
 * See tocsin-plugin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tocsin-plugin.h"

/* Longest option name a secret's companions are built from. */
#define OPTION_NAME_MAX 128

int tocsin_option_range(cfg_t *options, const char *name,
                        struct tocsin_range *range, char *err, size_t errlen)
{
    char why[256];

    if (tocsin_range_parse(cfg_getstr(options, name), range, why,
                           sizeof(why)) < 0) {
        snprintf(err, errlen, "option '%s': %s", name, why);
        return -1;
    }
    return 0;
}

int tocsin_option_thresholds(cfg_t *options, const char *warning_name,
                             const char *critical_name,
                             struct tocsin_thresholds *th, char *err,
                             size_t errlen)
{
    if (tocsin_option_range(options, warning_name, &th->warning, err,
                            errlen) < 0 ||
        tocsin_option_range(options, critical_name, &th->critical, err,
                            errlen) < 0)
        return -1;
    return 0;
}

int tocsin_option_secret(cfg_t *options, const char *name, char **out,
                         char *err, size_t errlen)
{
    char file[OPTION_NAME_MAX], env[OPTION_NAME_MAX];

    *out = NULL;
    if ((size_t)snprintf(file, sizeof(file), "%s_file", name) >= sizeof(file) ||
        (size_t)snprintf(env, sizeof(env), "%s_env", name) >= sizeof(env)) {
        snprintf(err, errlen, "option name %s is too long", name);
        return -1;
    }
    return tocsin_secret(cfg_getstr(options, name), cfg_getstr(options, file),
                         cfg_getstr(options, env), out, err, errlen);
}

char *tocsin_option_strdup(cfg_t *options, const char *name, int *oom)
{
    const char *s = cfg_getstr(options, name);
    char *copy;

    if (!s || !*s)
        return NULL;
    copy = strdup(s);
    if (!copy)
        *oom = 1;
    return copy;
}

const char *tocsin_option_str(cfg_t *options, const char *name)
{
    const char *s = cfg_getstr(options, name);

    return s && *s ? s : NULL;
}

int tocsin_option_readable(cfg_t *options, const char *name, char *err,
                           size_t errlen)
{
    const char *path = tocsin_option_str(options, name);
    int e;

    if (path && access(path, R_OK) < 0) {
        e = errno;
        snprintf(err, errlen, "option '%s': cannot read %s: %s", name, path,
                 strerror(e));
        return -1;
    }
    return 0;
}

int tocsin_option_template(cfg_t *options, const char *name, int may_be_empty,
                           char **out, char *err, size_t errlen)
{
    const char *t = cfg_getstr(options, name);
    char why[256];

    *out = NULL;
    if (!t)
        t = "";
    if (!*t && !may_be_empty) {
        snprintf(err, errlen, "option '%s' must not be empty", name);
        return -1;
    }
    if (tocsin_template_check(t, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "option '%s': %s", name, why);
        return -1;
    }
    if (!(*out = strdup(t))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
