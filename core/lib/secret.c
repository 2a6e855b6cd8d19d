/*
 * secret.c - passwords and tokens from configuration, a file or the
 * environment. See tocsin-plugin.h.
 *
 * A secret named by an environment variable is read once: the first read
 * copies the value into a table private to the process and removes the
 * variable from the environment, so that no command started later (a
 * check, a notifier's program) inherits it. Later reads, by a reload or by
 * a worker forked afterwards (which inherits the table), find the saved
 * copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "tocsin-plugin.h"

#define SECRET_FILE_MAX 65536

/* One variable taken from the environment: "NAME=value", owned. */
struct saved_env {
    char *entry;
    size_t namelen;
};

/* Every variable taken so far; a handful at most, searched linearly. */
static struct saved_env *saved;
static size_t nsaved;

/* Read the first line of `path` (without its newline) into *out. */
static int read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
    struct tocsin_buf text = TOCSIN_BUF_INIT;
    char chunk[4096];
    struct stat st;
    int fd, rc = -1;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "secret file %s is not a regular file", path);
        goto out;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read secret file %s: %s", path, strerror(errno));
            goto out;
        }
        if (text.len + (size_t)n > SECRET_FILE_MAX) {
            snprintf(err, errlen, "secret file %s is larger than %d bytes", path, SECRET_FILE_MAX);
            goto out;
        }
        tocsin_buf_append(&text, chunk, (size_t)n);
    }
    if (text.oom) {
        snprintf(err, errlen, "out of memory reading secret file %s", path);
        goto out;
    }
    {
        const char *s = tocsin_buf_str(&text);
        size_t len = strcspn(s, "\r\n");

        *out = strndup(s, len);
        if (!*out) {
            snprintf(err, errlen, "out of memory reading secret file %s", path);
            goto out;
        }
    }
    rc = 0;
out:
    if (text.data)
        memset(text.data, 0, text.cap);
    tocsin_buf_free(&text);
    close(fd);
    return rc;
}

/*
 * The value of environment variable `name` as first read: from the private
 * table, or taken out of the environment now (copied into the table, then
 * unset). Returns a pointer into the table (valid for the life of the
 * process), NULL when the variable was never set, or NULL with *oom set.
 * O(variables taken).
 */
static const char *take_env(const char *name, int *oom)
{
    struct saved_env *grown;
    size_t namelen = strlen(name), i, len;
    const char *v;
    char *entry;

    *oom = 0;
    for (i = 0; i < nsaved; i++)
        if (saved[i].namelen == namelen && strncmp(saved[i].entry, name, namelen) == 0)
            return saved[i].entry + namelen + 1;
    v = getenv(name);
    if (!v)
        return NULL;
    len = namelen + 1 + strlen(v) + 1;
    grown = realloc(saved, (nsaved + 1) * sizeof(*saved));
    entry = malloc(len);
    if (grown)
        saved = grown;
    if (!grown || !entry) {
        free(entry);
        *oom = 1;
        return NULL;
    }
    snprintf(entry, len, "%s=%s", name, v);
    saved[nsaved].entry = entry;
    saved[nsaved].namelen = namelen;
    nsaved++;
    /* The value now lives in the table only; the old environment string
     * is not ours to clear. */
    (void)unsetenv(name);
    return entry + namelen + 1;
}

int tocsin_secret(const char *value, const char *file, const char *env,
                  char **out, char *err, size_t errlen)
{
    int ways = (value && *value) + (file && *file) + (env && *env);

    *out = NULL;
    if (ways > 1) {
        snprintf(err, errlen, "give the secret one way only: inline, from a file "
                 "or from an environment variable");
        return -1;
    }
    if (value && *value) {
        *out = strdup(value);
    } else if (file && *file) {
        return read_secret_file(file, out, err, errlen);
    } else if (env && *env) {
        int oom;
        const char *v = take_env(env, &oom);

        if (!v) {
            snprintf(err, errlen, oom ? "out of memory" :
                     "environment variable %s is not set", env);
            return -1;
        }
        *out = strdup(v);
    } else {
        return 0;
    }
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void tocsin_secret_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}
