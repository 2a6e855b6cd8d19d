/*
 * fuzz_control.c - fuzz harness for the control socket's request handling
 * (serve/control.c) through its own interface: a control socket opened in
 * a private directory over a loaded configuration of three services and
 * an alerting stage without a store, as tocsind runs it; each input is
 * sent as one request by a client on that socket, and the socket's
 * events are handled as the daemon's loop does. No daemon runs.
 *
 * Input: one request line (cut at its first newline, then a newline is
 * added: a client sends one request per connection). FUZZ_VERBOSE=1 in
 * the environment prints each request and its answer.
 * Invariants: every request gets exactly one answer, one line of JSON
 * that is an object with a boolean "ok" and, when it is false, a string
 * "error"; the server closes the connection after it; no connection is
 * left open (every later request gets a slot).
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alerting/alerting.h"
#include "base/log.h"
#include "config/config.h"
#include "engine/svc-view.h"
#include "fuzz-registry.h"
#include "fuzz.h"
#include "serve/control.h"
#include "serve/status.h"

#define ANSWER_MAX (1 << 20)

static const char conf_text[] =
    "service \"web\" {\n"
    "    check = \"dummy\"\n"
    "    labels {\n        team = \"web\"\n        tier = \"front\"\n    }\n"
    "}\n"
    "service \"db\" {\n"
    "    check = \"dummy\"\n"
    "    labels {\n        team = \"dba\"\n    }\n"
    "}\n"
    "service \"disk\" {\n"
    "    check = \"dummy\"\n"
    "}\n"
    "service \"backup\" {\n"
    "    passive = true\n"
    "    expect_every = 1h\n"
    "}\n"
    "notifier \"ops\" {\n"
    "    plugin = \"console\"\n"
    "}\n";

static struct {
    char dir[64];
    char sock[128];
    struct tocsin_config *conf;
    struct tocsin_svc_view *views;
    struct tocsin_alerting *alerting;
    struct tocsin_status status;
    struct tocsin_control *control;
    int epfd;
    int ready;
} fx;

static void op_check_now(void *ud, uint32_t svc)
{
    (void)ud;
    (void)svc;
}

static int op_reload(void *ud, struct tocsin_buf *errors, struct tocsin_buf *notes)
{
    (void)ud;
    (void)notes;
    tocsin_buf_puts(errors, "fuzz.conf:1: reload refused by the fuzzer\n");
    return -1;
}

static struct tocsin_alerting *op_alerting(void *ud)
{
    (void)ud;
    return fx.alerting;
}

static int op_submit(void *ud, const char *service, int state, const char *output)
{
    (void)ud;
    FUZZ_CHECK(service && *service, "a submitted result without a service");
    FUZZ_CHECK(state >= 0 && state <= 3, "a submitted state %d", state);
    FUZZ_CHECK(output != NULL, "a submitted result without output");
    return 0;
}

static int hook_send(void *ud, uint32_t notifier, uint32_t seq, const void *alerts,
                     size_t len, uint32_t count)
{
    (void)ud;
    (void)notifier;
    (void)seq;
    (void)alerts;
    (void)len;
    (void)count;
    return 0;
}

static void teardown(void)
{
    char path[192];

    tocsin_control_close(fx.control);
    if (fx.alerting)
        tocsin_alerting_free(fx.alerting);
    if (fx.conf)
        tocsin_config_free(fx.conf);
    free(fx.views);
    if (fx.epfd >= 0)
        close(fx.epfd);
    snprintf(path, sizeof(path), "%s/tocsin.conf", fx.dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/conf.d", fx.dir);
    rmdir(path);
    rmdir(fx.dir);
}

/* The configuration, alerting stage and control socket, made once. */
static int setup(void)
{
    struct tocsin_alerting_hooks hooks = { hook_send, NULL };
    struct tocsin_control_ops ops = { op_check_now, op_reload, op_alerting, op_submit,
                                      NULL };
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    char path[192], err[256];
    size_t i;
    FILE *f;

    if (fx.ready)
        return 0;
    tocsin_log_set_level(-1);
    fx.epfd = -1;
    snprintf(fx.dir, sizeof(fx.dir), "/tmp/tocsin-fuzz-control-XXXXXX");
    if (!mkdtemp(fx.dir))
        return -1;
    atexit(teardown);
    snprintf(path, sizeof(path), "%s/conf.d", fx.dir);
    if (mkdir(path, 0700) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/tocsin.conf", fx.dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    if (fputs(conf_text, f) < 0) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0)
        return -1;
    fx.conf = tocsin_config_load(path, tocsin_fuzz_registry(), &errors);
    if (!fx.conf) {
        fprintf(stderr, "fuzz_control: %s", tocsin_buf_str(&errors));
        tocsin_buf_free(&errors);
        return -1;
    }
    tocsin_buf_free(&errors);
    fx.views = calloc(fx.conf->nservices, sizeof(*fx.views));
    if (!fx.views)
        return -1;
    for (i = 0; i < fx.conf->nservices; i++) {
        fx.views[i].checked = 1;
        fx.views[i].is_hard = 1;
        fx.views[i].attempt = 1;
        fx.views[i].state = fx.views[i].hard_state = i == 1 ? TOCSIN_CRITICAL : TOCSIN_OK;
    }
    fx.alerting = tocsin_alerting_new(fx.conf, NULL, fx.views, &hooks);
    if (!fx.alerting)
        return -1;
    fx.status.conf = fx.conf;
    fx.status.views = fx.views;
    fx.status.alerting = fx.alerting;
    fx.status.started = 1700000000;
    fx.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (fx.epfd < 0)
        return -1;
    snprintf(fx.sock, sizeof(fx.sock), "%s/control.sock", fx.dir);
    fx.control = tocsin_control_open(fx.sock, fx.epfd, &fx.status, &ops, err, sizeof(err));
    if (!fx.control) {
        fprintf(stderr, "fuzz_control: %s\n", err);
        return -1;
    }
    fx.ready = 1;
    return 0;
}

/* Handle what is ready on the control socket, as the daemon's loop does.
 * Returns the number of events handled. */
static int pump(void)
{
    struct epoll_event ev[8];
    int n = epoll_wait(fx.epfd, ev, 8, 0), i;

    for (i = 0; i < n; i++)
        tocsin_control_ready(fx.control, (uint32_t)(ev[i].data.u64 & ~TOCSIN_CONTROL_TAG),
                             ev[i].events);
    return n < 0 ? 0 : n;
}

/* Check one answer: a single line holding a JSON object with "ok". */
static void check_answer(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *answer, *ok;
    const char *nl = memchr(text, '\n', len);

    FUZZ_CHECK(len > 0, "no answer");
    FUZZ_CHECK(nl == text + len - 1, "the answer is not one line: %.*s", (int)len, text);
    answer = json_loadb(text, len - 1, 0, &jerr);
    FUZZ_CHECK(answer && json_is_object(answer), "the answer is not a JSON object (%s): %.*s",
               answer ? "not an object" : jerr.text, (int)len, text);
    ok = json_object_get(answer, "ok");
    FUZZ_CHECK(json_is_boolean(ok), "no boolean \"ok\": %.*s", (int)len, text);
    if (json_is_false(ok))
        FUZZ_CHECK(json_is_string(json_object_get(answer, "error")),
                   "a refusal without an error: %.*s", (int)len, text);
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sockaddr_un addr;
    char *answer = NULL, *request = NULL;
    size_t alen = 0, off = 0, i;
    int fd = -1, rounds, eof = 0;

    if (setup() < 0) {
        fprintf(stderr, "fuzz_control: setup failed: %s\n", strerror(errno));
        abort();
    }
    if (size > 60000)
        return 0;
    request = malloc(size + 1);
    answer = malloc(ANSWER_MAX);
    if (!request || !answer)
        goto out;
    for (i = 0; i < size && data[i] != '\n'; i++)
        request[i] = (char)data[i];
    size = i;
    request[size] = '\n';
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, fx.sock, strlen(fx.sock) + 1);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0, "connect: %s",
               strerror(errno));

    /* Send, answer waiting `check` requests, and read until the server
     * closes; bounded, since every step is local. */
    for (rounds = 0; rounds < 10000 && !eof; rounds++) {
        if (off < size + 1) {
            ssize_t n = send(fd, request + off, size + 1 - off, MSG_NOSIGNAL);

            if (n > 0)
                off += (size_t)n;
        }
        pump();
        if (rounds % 16 == 15)
            for (i = 0; i < fx.conf->nservices; i++)
                tocsin_control_result(fx.control, (uint32_t)i);
        for (;;) {
            ssize_t n = read(fd, answer + alen, ANSWER_MAX - alen);

            if (n > 0) {
                alen += (size_t)n;
                FUZZ_CHECK(alen < ANSWER_MAX, "an answer of a megabyte");
                continue;
            }
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                eof = 1;
            break;
        }
    }
    FUZZ_CHECK(eof, "the server kept the connection open");
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%.*s -> %.*s", (int)size, request, (int)alen, answer);
    check_answer(answer, alen);
    while (pump() > 0)
        ;
out:
    if (fd >= 0)
        close(fd);
    free(request);
    free(answer);
    return 0;
}
