/*
 * http-conf.h - the `http { ... }` section of the main configuration
 * file: where the daemon's HTTP endpoint listens, its bearer token and TLS
 * files. Read with the rest of the configuration; the endpoint itself
 * (serve/httpd.h) only consumes the validated result.
 */
#ifndef TOCSIN_HTTP_CONF_H
#define TOCSIN_HTTP_CONF_H

#include <confuse.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf.h"

/* An `api_token "NAME" { ... }` of the `http` section: a bearer token
 * that may submit results (POST /api/v1/results, /api/v1/alertmanager)
 * for the services its patterns match, and nothing else. */
struct tocsin_api_token {
    char *name;                   /* the section's title, for messages */
    char *token;                  /* the secret (tocsin_secret_free) */
    char **services;              /* glob patterns; none: every service */
    size_t nservices;
};

/* The `http` section, validated. */
struct tocsin_http_conf {
    int enabled;
    char *listen;                 /* as written: "127.0.0.1:9746", "[::1]:9746" */
    struct sockaddr_storage addr; /* ... parsed */
    socklen_t addrlen;
    char *token;                  /* bearer token, or NULL: no authentication */
    char *tls_cert;               /* PEM file paths, both or neither */
    char *tls_key;
    int64_t health_max_lateness_us; /* /health fails when the scheduler is
                                       further behind than this */
    struct tocsin_api_token *api_tokens; /* may submit results */
    size_t napi_tokens;
};

/* The option table of the `http` section, for the main file's table. Its
 * callbacks check each value as it is read (address syntax, files
 * readable) and report problems through cfg_error() at the option's line.
 * The table is static; the pointer stays valid. */
cfg_opt_t *tocsin_http_conf_opts(void);

/* Build the validated configuration from the parsed `http` section `sec`
 * (of file `file`). Problems found only once the whole section is known
 * (a certificate without a key, a token given two ways, an unreadable
 * token) are appended to `errors` as "FILE:LINE: message\n". Returns the
 * configuration (free with tocsin_http_conf_free) or NULL. Never puts a
 * token into `errors`. */
struct tocsin_http_conf *tocsin_http_conf_new(cfg_t *sec, const char *file,
                                              struct tocsin_buf *errors);

/* Free a configuration; the token is overwritten first. NULL is fine. */
void tocsin_http_conf_free(struct tocsin_http_conf *hc);

/* Whether going from `prev` to `next` (the http sections of the running
 * and of a reloaded configuration) changes a setting that takes effect
 * only when the daemon starts: enabled, listen, tls_cert or tls_key (the
 * token and health_max_lateness are applied by a reload). When it does,
 * the first such setting's name ("enabled", "listen", "tls_cert,
 * tls_key") goes to `what` (`len` bytes, always terminated) and 1 is
 * returned; otherwise 0, `what` untouched. NULL for either is 0. */
int tocsin_http_conf_restart_needed(const struct tocsin_http_conf *prev,
                                    const struct tocsin_http_conf *next,
                                    char *what, size_t len);

/* Parse "A.B.C.D:PORT" or "[IPV6]:PORT" (numeric addresses only, port
 * 1-65535) into `addr`. Returns 0, or -1 with a reason in `err`. */
int tocsin_http_parse_listen(const char *text, struct sockaddr_storage *addr,
                             socklen_t *len, char *err, size_t errlen);

#endif
