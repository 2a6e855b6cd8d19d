/*
 * secret.c - passwords and tokens from configuration, a file or the
 * environment. See tocsin-plugin.h.
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
        const char *v = getenv(env);

        if (!v) {
            snprintf(err, errlen, "environment variable %s is not set", env);
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
