/*
 * sms.c - a notifier that sends a text message per alert through a
 * Twilio-style HTTP gateway:
 *
 *   notifier "sms" {
 *       plugin = "sms"
 *       account_sid = "AC0123456789abcdef0123456789abcdef"
 *       auth_token_file = "/etc/tocsin/twilio-token"
 *       from = "+15017122661"
 *       to = { "+15558675310", "+15558675311" }
 *   }
 *
 * For each number: POST <base_url>/2010-04-01/Accounts/<account_sid>/
 * Messages.json with the form fields To, From and Body, HTTP basic auth
 * account_sid:auth_token. The text is the rendered template, cut to
 * max_length characters with "..." (never inside a UTF-8 sequence).
 *
 * A notification counts as delivered when every number got it. The
 * instance remembers, for the last SMS_MEMORY notifications, which numbers
 * already got one or were refused for good, so a retry of the same
 * notification goes only to the others. That memory lives in the worker
 * process: after a restart a retry goes to every number again (delivery is
 * at least once).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"

#define SMS_VERSION "0.1.0"

#define SMS_TEMPLATE_DEFAULT "{status} {service}@{host}: {output}"
#define SMS_BASE_URL_DEFAULT "https://api.twilio.com"

/* Bounds of max_length; 1600 is what Twilio takes in one request. */
#define SMS_LENGTH_DEFAULT 160
#define SMS_LENGTH_MIN 20
#define SMS_LENGTH_MAX 1600

/* At most this many numbers (one bit each in struct sms_memory). */
#define SMS_NUMBERS_MAX 64

/* Notifications remembered for partial deliveries. */
#define SMS_MEMORY 16

/* The longest answer body kept. */
#define SMS_ANSWER_MAX 2048

/* What became of one notification's numbers so far. */
struct sms_memory {
    uint64_t key;                  /* identity of the notification; 0: free */
    uint64_t sent;                 /* bit i: number i got it */
    uint64_t refused;              /* bit i: the gateway refused number i for good */
    char reason[512];              /* why the last refused number was */
    unsigned long used;            /* when last used, for replacement */
};

struct sms {
    CURL *curl;                    /* reused for every request */
    struct curl_slist *headers;    /* no Expect */
    char *url;                     /* the Messages.json URL */
    char *peer;                    /* "host:port" of the gateway, for messages */
    char *account;                 /* account_sid, for messages */
    char *from;
    char **to;
    size_t nto;
    char *template;
    size_t max_length;             /* characters */
    struct sms_memory memory[SMS_MEMORY];
    unsigned long clock;           /* ticks once per notification */
    int curl_ready;                /* curl_global_init() succeeded */

    /* What one request gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture answer;  /* start of the answer body */
};

static cfg_opt_t sms_options[] = {
    CFG_STR("base_url", SMS_BASE_URL_DEFAULT, CFGF_NONE),
    CFG_STR("account_sid", "", CFGF_NONE),
    CFG_STR("auth_token", "", CFGF_NONE),
    CFG_STR("auth_token_file", "", CFGF_NONE),
    CFG_STR("auth_token_env", "", CFGF_NONE),
    CFG_STR("from", "", CFGF_NONE),
    CFG_STR_LIST("to", "{}", CFGF_NONE),
    CFG_STR("template", SMS_TEMPLATE_DEFAULT, CFGF_NONE),
    CFG_INT("max_length", SMS_LENGTH_DEFAULT, CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

/*
 * Make `text` fit a text message, in place: bytes that are not valid UTF-8
 * become '?', control characters other than newlines become spaces,
 * trailing white space goes, and a text longer than `max` characters
 * (code points) is cut to max - 3 of them followed by "...". The cut falls
 * between characters, never inside one. Returns text.
 */
static char *sms_fit(char *text, size_t max)
{
    unsigned char *p = (unsigned char *)text, *w = p, *cut = NULL;
    size_t n = strlen(text), k, chars = 0;

    while (n) {
        k = tocsin_utf8_len((const char *)p, n);
        if (chars == max - 3)
            cut = w;
        if (k == 0) {
            *w++ = '?';
            k = 1;
        } else if (k == 1 && ((*p < 0x20 && *p != '\n') || *p == 0x7f)) {
            *w++ = ' ';
        } else {
            memmove(w, p, k);
            w += k;
        }
        p += k;
        n -= k;
        chars++;
    }
    *w = '\0';
    if (chars > max && cut) {
        while (cut > (unsigned char *)text && (cut[-1] == ' ' || cut[-1] == '\n'))
            cut--;
        memcpy(cut, "...", 4);
        return text;
    }
    while (w > (unsigned char *)text && (w[-1] == ' ' || w[-1] == '\n'))
        *--w = '\0';
    return text;
}

/*
 * The text for `alert`: the template rendered for it; when several alerts
 * are told, "N alerts: " and the template for each, separated by "; ".
 * Cut to max_length characters. Returns a string the caller frees, or
 * NULL when out of memory.
 */
static char *sms_text(const struct sms *s, const struct tocsin_alert *alert)
{
    char *text = NULL, *part;
    size_t len = 0, i;
    FILE *f = open_memstream(&text, &len);
    int ok = 1, bad;

    if (!f)
        return NULL;
    if (alert->ngrouped)
        fprintf(f, "%zu alerts: ", alert->ngrouped + 1);
    for (i = 0; i <= alert->ngrouped; i++) {
        if (!(part = tocsin_template_render(s->template, i ? &alert->grouped[i - 1] : alert))) {
            ok = 0;
            break;
        }
        fprintf(f, "%s%s", i ? "; " : "", part);
        free(part);
    }
    bad = ferror(f);
    if (fclose(f) != 0 || bad || !ok) {
        free(text);
        return NULL;
    }
    return sms_fit(text, s->max_length);
}

/* 64-bit FNV-1a of `s` and a separator byte 0xff, continuing from h. */
static uint64_t sms_hash(uint64_t h, const char *s)
{
    return tocsin_fnv1a(tocsin_fnv1a(h, s), "\xff");
}

/* The identity of a notification: the same alert retried has the same. */
static uint64_t sms_key(const struct tocsin_alert *a, const char *text)
{
    char num[96];
    uint64_t h = TOCSIN_FNV1A_INIT;

    snprintf(num, sizeof(num), "%d/%d/%lld/%zu", (int)a->kind, (int)a->state,
             (long long)a->at, a->ngrouped);
    h = sms_hash(h, num);
    h = sms_hash(h, a->incident);
    h = sms_hash(h, a->service);
    h = sms_hash(h, text);
    return h ? h : 1;
}

/* The memory slot of notification `key`: the one it had, else a free or
 * the least recently used one, emptied. */
static struct sms_memory *sms_remember(struct sms *s, uint64_t key)
{
    struct sms_memory *m = &s->memory[0];
    size_t i;

    for (i = 0; i < SMS_MEMORY; i++)
        if (s->memory[i].key == key) {
            m = &s->memory[i];
            goto out;
        }
    for (i = 0; i < SMS_MEMORY; i++)
        if (s->memory[i].key == 0 || s->memory[i].used < m->used)
            m = &s->memory[i];
    memset(m, 0, sizeof(*m));
    m->key = key;
out:
    m->used = ++s->clock;
    return m;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void sms_teardown(void *instance)
{
    struct sms *s = instance;
    size_t i;

    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->headers);
    free(s->url);
    free(s->peer);
    free(s->account);
    free(s->from);
    for (i = 0; i < s->nto; i++)
        free(s->to[i]);
    free(s->to);
    free(s->template);
    tocsin_capture_free(&s->answer);
    if (s->curl_ready)
        curl_global_cleanup();
    free(s);
}

/* 1 when `n` is an E.164 number: '+', then 2 to 15 digits, not starting
 * with 0. */
static int sms_e164(const char *n)
{
    size_t digits = strspn(n + 1, "0123456789");

    return n[0] == '+' && n[1] >= '1' && n[1] <= '9' && digits >= 2 && digits <= 15 &&
           n[1 + digits] == '\0';
}

/* 1 when `id` is an alphanumeric sender ID: 1 to 11 letters, digits or
 * spaces, with at least one letter. */
static int sms_sender_id(const char *id)
{
    size_t n = strlen(id), i;
    int letter = 0;

    if (n < 1 || n > 11)
        return 0;
    for (i = 0; i < n; i++) {
        char c = id[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            letter = 1;
        else if (!(c >= '0' && c <= '9') && c != ' ')
            return 0;
    }
    return letter;
}

/*
 * Build the Messages.json URL from base_url and the account, and
 * "host:port" for messages. Returns 0, or -1 with err.
 */
static int sms_build_url(struct sms *s, const char *base, char *err, size_t errlen)
{
    static const char sep[] = "/2010-04-01/Accounts/", tail[] = "/Messages.json";
    CURLU *u;
    char *user = NULL, *path = NULL;
    size_t len;
    int rc = -1;

    if (tocsin_curl_open_url(base, "option 'base_url'", SMS_BASE_URL_DEFAULT, &u, &s->peer,
                             err, errlen) < 0)
        return -1;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        snprintf(err, errlen, "option 'base_url' must not hold a user or password: "
                 "the gateway is given account_sid and auth_token");
        goto out;
    }
    len = sizeof(sep) + strlen(s->account) + sizeof(tail);
    if (!(path = malloc(len)))
        goto oom;
    snprintf(path, len, "%s%s%s", sep, s->account, tail);
    if (!(s->url = tocsin_curl_url_join(u, path)))
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    free(path);
    curl_free(user);
    curl_url_cleanup(u);
    return rc;
}

/* Read and check the numbers of option 'to'. */
static int sms_numbers(struct sms *s, cfg_t *options, char *err, size_t errlen)
{
    unsigned i, n = cfg_size(options, "to");

    if (n == 0) {
        snprintf(err, errlen, "option 'to' is required: the numbers to text, in "
                 "E.164 form, e.g. to = { \"+15558675310\" }");
        return -1;
    }
    if (n > SMS_NUMBERS_MAX) {
        snprintf(err, errlen, "option 'to': %u numbers, at most %d", n, SMS_NUMBERS_MAX);
        return -1;
    }
    if (!(s->to = calloc(n, sizeof(*s->to)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        const char *num = cfg_getnstr(options, "to", i);

        if (!num || !sms_e164(num)) {
            snprintf(err, errlen, "option 'to': \"%s\" is not a number in E.164 "
                     "form such as +15558675310", num ? num : "");
            return -1;
        }
        if (!(s->to[i] = strdup(num))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->nto++;
    }
    return 0;
}

/* Validate the options into a struct sms with a libcurl handle ready to
 * post. Nothing is sent here. */
static int sms_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct sms *s;
    const char *base = cfg_getstr(options, "base_url");
    const char *account = cfg_getstr(options, "account_sid");
    const char *from = cfg_getstr(options, "from");
    long max_length = cfg_getint(options, "max_length");
    char *token = NULL, why[256];
    CURLcode rc = CURLE_OK;

    if (!(s = calloc(1, sizeof(*s))))
        goto oom;
    s->answer.max = SMS_ANSWER_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    s->curl_ready = 1;

    if (!account || !*account) {
        snprintf(err, errlen, "option 'account_sid' is required");
        goto fail;
    }
    if (strlen(account) > 64 ||
        strspn(account, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_-") != strlen(account)) {
        snprintf(err, errlen, "option 'account_sid': \"%s\" is not an account ID "
                 "(letters and digits, such as AC0123456789abcdef0123456789abcdef)",
                 account);
        goto fail;
    }
    if (!(s->account = strdup(account)))
        goto oom;
    if (sms_build_url(s, base && *base ? base : SMS_BASE_URL_DEFAULT, err, errlen) < 0)
        goto fail;

    if (tocsin_option_secret(options, "auth_token", &token, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "auth_token: %s", why);
        goto fail;
    }
    if (!token) {
        snprintf(err, errlen, "the auth token is required: give auth_token_file (a "
                 "file holding it), auth_token_env or auth_token");
        goto fail;
    }

    if (!from || !*from) {
        snprintf(err, errlen, "option 'from' is required: the sending number "
                 "(E.164, e.g. +15017122661) or an alphanumeric sender ID");
        goto fail;
    }
    if (!sms_e164(from) && !sms_sender_id(from)) {
        snprintf(err, errlen, "option 'from': \"%s\" is neither a number in E.164 "
                 "form such as +15017122661 nor a sender ID of 1 to 11 letters "
                 "and digits", from);
        goto fail;
    }
    if (!(s->from = strdup(from)))
        goto oom;
    if (sms_numbers(s, options, err, errlen) < 0)
        goto fail;

    if (tocsin_option_template(options, "template", 0, &s->template, err, errlen) < 0)
        goto fail;
    if (max_length < SMS_LENGTH_MIN || max_length > SMS_LENGTH_MAX) {
        snprintf(err, errlen, "option 'max_length': %ld is not between %d and %d "
                 "characters", max_length, SMS_LENGTH_MIN, SMS_LENGTH_MAX);
        goto fail;
    }
    s->max_length = (size_t)max_length;

    if (!(s->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    /* No "Expect: 100-continue" wait before a large body. */
    if (!(s->headers = curl_slist_append(NULL, "Expect:")))
        goto oom;
    rc = tocsin_curl_notifier(s->curl, s->url, s->headers, s->errbuf,
                              "tocsin-sms/" SMS_VERSION, &s->answer);
    /* libcurl keeps its own copy of the token. */
    if (rc == CURLE_OK)
        rc = tocsin_curl_basic(s->curl, s->account, token);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        goto fail;
    }
    tocsin_secret_free(token);
    *instance = s;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(token);
    sms_teardown(s);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/*
 * What the gateway said, for a message: Twilio's error JSON as
 * "MESSAGE (code N)", else the start of the body on one line. Written to
 * out; "" when there is nothing to say.
 */
static const char *sms_answer(const struct sms *s, char *out, size_t outlen)
{
    json_t *root = json_loadb(s->answer.data, s->answer.len, 0, NULL);
    json_t *message = root ? json_object_get(root, "message") : NULL;
    json_t *code = root ? json_object_get(root, "code") : NULL;
    size_t i, used = 0;

    out[0] = '\0';
    if (json_is_string(message)) {
        if (json_is_integer(code))
            snprintf(out, outlen, "%s (code %" JSON_INTEGER_FORMAT ")",
                     json_string_value(message), json_integer_value(code));
        else
            snprintf(out, outlen, "%s", json_string_value(message));
    } else {
        for (i = 0; i < s->answer.len && used + 1 < outlen && i < 200; i++)
            if ((unsigned char)s->answer.data[i] >= 0x20 && s->answer.data[i] != 0x7f)
                out[used++] = s->answer.data[i];
        out[used] = '\0';
    }
    json_decref(root);
    for (i = 0; out[i]; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = ' ';
    return out;
}

/*
 * Send `text` to number `to` with one request, within `left_ms`. Returns
 * the outcome with a reason in err, and the seconds of a Retry-After in
 * *wait.
 */
static enum tocsin_delivery sms_send_one(struct sms *s, const char *to, const char *text,
                                         long left_ms, long *wait, char *err,
                                         size_t errlen)
{
    char *eto = curl_easy_escape(s->curl, to, 0);
    char *efrom = curl_easy_escape(s->curl, s->from, 0);
    char *ebody = curl_easy_escape(s->curl, text, 0);
    char *form = NULL, said[256];
    enum tocsin_delivery outcome = TOCSIN_RETRY;
    long code = 0;
    size_t len;
    CURLcode rc;

    *wait = 0;
    if (!eto || !efrom || !ebody)
        goto oom;
    len = strlen(eto) + strlen(efrom) + strlen(ebody) + sizeof("To=&From=&Body=");
    if (!(form = malloc(len)))
        goto oom;
    snprintf(form, len, "To=%s&From=%s&Body=%s", eto, efrom, ebody);

    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, left_ms);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, left_ms);
    rc = tocsin_curl_post(s->curl, s->errbuf, &s->answer, form, &code);
    if (rc != CURLE_OK) {
        const char *why = tocsin_curl_why(s->errbuf, rc);

        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(err, errlen, "the gateway %s did not answer within %.1f s",
                     s->peer, (double)left_ms / 1000);
        } else if (rc == CURLE_COULDNT_CONNECT) {
            snprintf(err, errlen, "cannot connect to the gateway %s: %s", s->peer,
                     tocsin_curl_connect_why(s->curl, s->errbuf, rc));
        } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
            snprintf(err, errlen, "TLS certificate of the gateway %s not accepted: %s",
                     s->peer, why);
            outcome = TOCSIN_FAILED;
        } else {
            snprintf(err, errlen, "request to the gateway %s failed: %s", s->peer, why);
        }
        goto out;
    }
    outcome = tocsin_http_outcome(code);
    if (outcome == TOCSIN_DELIVERED)
        goto out;
    if (outcome == TOCSIN_RETRY)
        *wait = tocsin_curl_retry_after(s->curl);
    sms_answer(s, said, sizeof(said));
    if (code == 401)
        snprintf(err, errlen, "the gateway refused the credentials of account %s: "
                 "answered 401%s%s", s->account, *said ? ": " : "", said);
    else
        snprintf(err, errlen, "the gateway answered %ld for %s%s%s", code, to,
                 *said ? ": " : "", said);
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    curl_free(eto);
    curl_free(efrom);
    curl_free(ebody);
    free(form);
    return outcome;
}

/*
 * Text the alert (and those grouped with it, in one text) to every number
 * that has not got it yet, one request each, before the deadline. Numbers
 * that got it, or that the gateway refused for good, are remembered, so a
 * retry of the same notification skips them. Delivered when every number
 * got it; retry while some may still get it; failed when the rest were
 * refused.
 */
static enum tocsin_delivery sms_notify(void *instance, const struct tocsin_alert *alert,
                                       char *err, size_t errlen)
{
    struct sms *s = instance;
    struct sms_memory *m;
    char *text, why[512] = "";
    size_t i, sent = 0;
    int retry = 0;
    long wait;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    if (!(text = sms_text(s, alert))) {
        snprintf(err, errlen, "out of memory building the text");
        return TOCSIN_RETRY;
    }
    m = sms_remember(s, sms_key(alert, text));
    for (i = 0; i < s->nto; i++) {
        uint64_t bit = (uint64_t)1 << i;
        long left;

        if ((m->sent | m->refused) & bit)
            continue;
        if ((left = tocsin_ms_left(&alert->deadline)) < 1) {
            snprintf(why, sizeof(why), "no time left before the deadline for %s", s->to[i]);
            retry = 1;
            break;
        }
        switch (sms_send_one(s, s->to[i], text, left, &wait, why, sizeof(why))) {
        case TOCSIN_DELIVERED:
            m->sent |= bit;
            break;
        case TOCSIN_FAILED:
            m->refused |= bit;
            snprintf(m->reason, sizeof(m->reason), "%s", why);
            break;
        default:
            retry = 1;
            if (wait > *alert->retry_after)
                *alert->retry_after = wait;
            break;
        }
    }
    free(text);
    for (i = 0; i < s->nto; i++)
        if (m->sent & ((uint64_t)1 << i))
            sent++;
    if (sent == s->nto) {
        m->key = 0;
        return TOCSIN_DELIVERED;
    }
    if (retry) {
        if (sent)
            snprintf(err, errlen, "%zu of %zu numbers got it; %s", sent, s->nto, why);
        else
            snprintf(err, errlen, "%s", why);
        return TOCSIN_RETRY;
    }
    if (sent)
        snprintf(err, errlen, "%zu of %zu numbers got it; %s", sent, s->nto, m->reason);
    else
        snprintf(err, errlen, "%s", m->reason);
    m->key = 0;
    return TOCSIN_FAILED;
}

/* Descriptions for --help; docs/notify-sms.md tells more. */
static const struct tocsin_option_help sms_help[] = {
    { "base_url", "URL",
      "the gateway; requests go to "
      "<base_url>/2010-04-01/Accounts/<account_sid>/Messages.json" },
    { "account_sid", NULL,
      "the account, letters, digits, _ and - (Twilio's start with AC)" },
    { "auth_token", "SECRET",
      "the account's token, inline" },
    { "auth_token_file", "FILE",
      "the account's token, from the first line of this file" },
    { "auth_token_env", "VARIABLE",
      "the account's token, from this environment variable" },
    { "from", NULL,
      "the sending number in E.164 form" },
    { "to", NULL,
      "list of numbers in E.164 form" },
    { "template", "TEMPLATE",
      "template of the text" },
    { "max_length", NULL,
      "longest text, in characters (Unicode code points), 20 to 1600" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "sms",
    .version = SMS_VERSION,
    .summary = "text alerts through a Twilio-style SMS gateway",
    .options = sms_options,
    .help = sms_help,
    .setup = sms_setup,
    .teardown = sms_teardown,
    .notify = sms_notify,
);
