/*
 * slack.c - a notifier that posts alerts to a Slack incoming webhook:
 *
 *   notifier "slack" {
 *       plugin = "slack"
 *       url_file = "/etc/tocsin/slack-webhook"
 *       channel = "#ops"
 *   }
 *
 * One message per notification: `text` (the rendered template, also what
 * Slack shows in notifications) and one attachment per alert told, coloured
 * by severity (green for a recovery), with fields for service, host, state,
 * severity, duration and labels. The webhook URL is a secret: it never
 * appears in a message of this plugin.
 *
 * One libcurl handle per instance, made at setup and reused, so the
 * connection to Slack stays open between notifications.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tocsin-plugin.h"
#include "common/curl-client.h"

#define SLACK_VERSION "0.1.0"

#define SLACK_TEMPLATE_DEFAULT "{status}: {service} on {host}"
/* What the default says of an alert with a priority. */
#define SLACK_TEMPLATE_PRIORITY "{priority} {status}: {service} on {host}"

/* The longest answer body kept for messages. */
#define SLACK_ANSWER_MAX 256

/* Colours of the attachment bar. */
#define SLACK_GREEN "good"
#define SLACK_YELLOW "warning"       /* Slack's own #daa038 */
#define SLACK_RED "#d00000"
#define SLACK_DANGER "danger"        /* Slack's own deep red */
#define SLACK_BLUE "#439fe0"

struct slack {
    CURL *curl;                        /* reused for every post */
    struct curl_slist *headers;        /* Content-Type, no Expect */
    char *peer;                        /* "host:port" of the URL, for messages */
    char *channel;                     /* or NULL: the webhook's own */
    char *username;                    /* or NULL */
    char *icon_emoji;                  /* or NULL */
    char *template;                    /* for `text` */
    int curl_ready;                    /* curl_global_init() succeeded */

    /* What one post gathers; reset before each. */
    char errbuf[CURL_ERROR_SIZE];
    struct tocsin_capture answer;      /* start of the answer body */
};

static cfg_opt_t slack_options[] = {
    CFG_STR("url", "", CFGF_NONE),
    CFG_STR("url_file", "", CFGF_NONE),
    CFG_STR("url_env", "", CFGF_NONE),
    CFG_STR("channel", "", CFGF_NONE),
    CFG_STR("username", "", CFGF_NONE),
    CFG_STR("icon_emoji", "", CFGF_NONE),
    CFG_STR("template", SLACK_TEMPLATE_DEFAULT, CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

/*
 * A copy of `s` in Slack's message formatting: '&', '<' and '>' become
 * "&amp;", "&lt;" and "&gt;", so that text from a check is never read as
 * a link or a mention; with `escape` 0 only the next rule applies. Bytes
 * that are not valid UTF-8 become '?', since JSON text must be UTF-8.
 * Returns a string the caller frees, or NULL when out of memory. NULL in
 * gives "".
 */
static char *slack_clean(const char *s, int escape)
{
    const unsigned char *p;
    size_t n, k;
    char *out, *q;

    if (!s)
        s = "";
    n = strlen(s);
    if (!(out = malloc(5 * n + 1)))
        return NULL;
    for (p = (const unsigned char *)s, q = out; n;) {
        k = tocsin_utf8_len((const char *)p, n);
        if (k == 0) {
            *q++ = '?';
            k = 1;
        } else if (escape && *p == '&') {
            memcpy(q, "&amp;", 5);
            q += 5;
        } else if (escape && (*p == '<' || *p == '>')) {
            memcpy(q, *p == '<' ? "&lt;" : "&gt;", 4);
            q += 4;
        } else {
            memcpy(q, p, k);
            q += k;
        }
        p += k;
        n -= k;
    }
    *q = '\0';
    return out;
}

/* An alert whose text fields are escaped copies, owned here. */
struct slack_escaped {
    struct tocsin_alert alert;
    char *raw_link;                    /* the link, only made valid UTF-8 */
    struct tocsin_label *labels;
    char **owned;                      /* every string allocated */
    size_t nowned;
};

static void slack_escaped_free(struct slack_escaped *x)
{
    size_t i;

    for (i = 0; i < x->nowned; i++)
        free(x->owned[i]);
    free(x->owned);
    free(x->labels);
    free(x->raw_link);
    x->raw_link = NULL;
    x->owned = NULL;
    x->labels = NULL;
    x->nowned = 0;
}

/* Escape one string field of x->alert in place; 0, or -1 when out of
 * memory. */
static int slack_escape_field(struct slack_escaped *x, const char **field)
{
    char *copy = slack_clean(*field, 1);

    if (!copy)
        return -1;
    x->owned[x->nowned++] = copy;
    *field = copy;
    return 0;
}

/*
 * Make x->alert a copy of `a` with every text that came from a check or
 * from configuration escaped (the template's own text is not, so a
 * template may hold Slack links such as "<{link}|details>"), and without
 * grouped alerts. Returns 0, or -1 when out of memory (x is then
 * released).
 */
static int slack_escaped_make(struct slack_escaped *x, const struct tocsin_alert *a)
{
    size_t i, nfields = 12 + 2 * a->nlabels;
    int rc = 0;

    memset(x, 0, sizeof(*x));
    x->alert = *a;
    x->alert.grouped = NULL;
    x->alert.ngrouped = 0;
    if (!(x->owned = calloc(nfields, sizeof(*x->owned))) ||
        !(x->raw_link = slack_clean(a->link, 0))) {
        slack_escaped_free(x);
        return -1;
    }
    if (a->nlabels && !(x->labels = calloc(a->nlabels, sizeof(*x->labels)))) {
        slack_escaped_free(x);
        return -1;
    }
    rc |= slack_escape_field(x, &x->alert.service);
    rc |= slack_escape_field(x, &x->alert.host);
    rc |= slack_escape_field(x, &x->alert.output);
    rc |= slack_escape_field(x, &x->alert.long_output);
    rc |= slack_escape_field(x, &x->alert.perfdata);
    rc |= slack_escape_field(x, &x->alert.incident);
    rc |= slack_escape_field(x, &x->alert.group_key);
    rc |= slack_escape_field(x, &x->alert.route);
    rc |= slack_escape_field(x, &x->alert.link);
    rc |= slack_escape_field(x, &x->alert.reason);
    rc |= slack_escape_field(x, &x->alert.priority);
    rc |= slack_escape_field(x, &x->alert.assignee);
    for (i = 0; i < a->nlabels; i++) {
        x->labels[i] = a->labels[i];
        rc |= slack_escape_field(x, &x->labels[i].key);
        rc |= slack_escape_field(x, &x->labels[i].value);
    }
    x->alert.labels = x->labels;
    if (rc) {
        slack_escaped_free(x);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The payload                                                         */
/* ------------------------------------------------------------------ */

/* 1 when the alert is about an incident with a priority. */
static int slack_has_priority(const struct tocsin_alert *a)
{
    return a->priority && *a->priority;
}

/* The colour of an alert's attachment. */
static const char *slack_color(const struct tocsin_alert *a)
{
    if (a->kind == TOCSIN_ALERT_RECOVERY)
        return SLACK_GREEN;
    if (a->kind == TOCSIN_ALERT_ACKNOWLEDGED)
        return SLACK_BLUE;
    switch (a->severity) {
    case TOCSIN_SEVERITY_INFO:
        return SLACK_GREEN;
    case TOCSIN_SEVERITY_WARNING:
        return SLACK_YELLOW;
    case TOCSIN_SEVERITY_CRITICAL:
        return SLACK_DANGER;
    default:
        return SLACK_RED;
    }
}

/* Add {"title": title, "value": value, "short": short} to `fields`. */
static int slack_field(json_t *fields, const char *title, const char *value, int brief)
{
    json_t *f = json_pack("{s:s, s:s, s:b}", "title", title, "value", value,
                          "short", brief);

    return f ? json_array_append_new(fields, f) : -1;
}

/*
 * The attachment of one (escaped) alert: colour, a fallback line, a title
 * ("CRITICAL: db on host1", linked to `link` unless it is ""), the output
 * and long output, and the fields. NULL when out of memory.
 */
static json_t *slack_attachment(const struct tocsin_alert *a, const char *link)
{
    json_t *att = NULL, *fields = NULL;
    char *title = NULL, *fallback = NULL, *state = NULL, *text = NULL,
         *duration = NULL, *labels = NULL;

    title = tocsin_template_render(slack_has_priority(a) ? SLACK_TEMPLATE_PRIORITY
                                   : SLACK_TEMPLATE_DEFAULT, a);
    fallback = tocsin_template_render("{status} {service} on {host}: {output}", a);
    state = tocsin_template_render(a->kind == TOCSIN_ALERT_RECOVERY ||
                                   a->previous != a->state ?
                                   "{previous} \xe2\x86\x92 {state}" : "{state}", a);
    text = tocsin_template_render(a->long_output && *a->long_output
                                  ? "{output}\n{long_output}" : "{output}", a);
    duration = tocsin_template_render("{duration}", a);
    labels = tocsin_template_render("{labels}", a);
    if (!title || !fallback || !state || !text || !duration || !labels)
        goto fail;
    if (!(fields = json_array()) ||
        slack_field(fields, "Service", a->service ? a->service : "", 1) < 0 ||
        slack_field(fields, "Host", a->host ? a->host : "", 1) < 0 ||
        slack_field(fields, "State", state, 1) < 0 ||
        slack_field(fields, "Severity", tocsin_severity_name((int)a->severity), 1) < 0 ||
        (slack_has_priority(a) && slack_field(fields, "Priority", a->priority, 1) < 0) ||
        (a->assignee && *a->assignee && slack_field(fields, "Assignee", a->assignee, 1) < 0) ||
        slack_field(fields, a->kind == TOCSIN_ALERT_RECOVERY ? "Lasted" : "Duration",
                    duration, 1) < 0 ||
        (a->nlabels && slack_field(fields, "Labels", labels, 0) < 0) ||
        (a->reason && *a->reason && slack_field(fields, "Reason", a->reason, 0) < 0))
        goto fail;
    att = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I}", "color", slack_color(a),
                    "fallback", fallback, "title", title, "text", text,
                    "fields", fields, "footer", "Tocsin",
                    "ts", (json_int_t)(a->at > 0 ? a->at : time(NULL)));
    fields = NULL;                     /* taken by json_pack, even on failure */
    if (att && *link && json_object_set_new(att, "title_link", json_string(link)) < 0) {
        json_decref(att);
        att = NULL;
    }
fail:
    json_decref(fields);
    free(title);
    free(fallback);
    free(state);
    free(text);
    free(duration);
    free(labels);
    return att;
}

/*
 * The JSON body for `alert` and those grouped with it: `text` from the
 * template (with " (+N more)" when several alerts are told) and one
 * attachment per alert. Returns a string the caller frees, or NULL when
 * out of memory.
 */
static char *slack_payload(const struct slack *s, const struct tocsin_alert *alert)
{
    size_t i, n = alert->ngrouped + 1, made = 0;
    struct slack_escaped *x = calloc(n, sizeof(*x));
    struct tocsin_alert *grouped = n > 1 ? calloc(n - 1, sizeof(*grouped)) : NULL;
    json_t *root = NULL, *atts = NULL, *att;
    char *text = NULL, *body = NULL, *grown;

    if (!x || (n > 1 && !grouped))
        goto out;
    /* x[0] is the alert, x[1..] those grouped with it. */
    for (made = 0; made < n; made++)
        if (slack_escaped_make(&x[made], made ? &alert->grouped[made - 1] : alert) < 0)
            goto out;
    for (i = 1; i < n; i++)
        grouped[i - 1] = x[i].alert;
    x[0].alert.grouped = grouped;
    x[0].alert.ngrouped = n - 1;

    /* The default text leads with the priority when there is one. */
    if (!(text = tocsin_template_render(strcmp(s->template, SLACK_TEMPLATE_DEFAULT) == 0 &&
                                        slack_has_priority(alert) ? SLACK_TEMPLATE_PRIORITY
                                        : s->template, &x[0].alert)))
        goto out;
    if (n > 1) {
        char more[48];
        size_t len = strlen(text);

        snprintf(more, sizeof(more), " (+%zu more)", n - 1);
        if (!(grown = realloc(text, len + strlen(more) + 1)))
            goto out;
        text = grown;
        memcpy(text + len, more, strlen(more) + 1);
    }
    if (!(atts = json_array()))
        goto out;
    for (i = 0; i < n; i++)
        if (!(att = slack_attachment(&x[i].alert, x[i].raw_link)) || json_array_append_new(atts, att) < 0)
            goto out;
    root = json_pack("{s:s, s:O}", "text", text, "attachments", atts);
    if (!root ||
        (s->channel && json_object_set_new(root, "channel", json_string(s->channel)) < 0) ||
        (s->username && json_object_set_new(root, "username", json_string(s->username)) < 0) ||
        (s->icon_emoji &&
         json_object_set_new(root, "icon_emoji", json_string(s->icon_emoji)) < 0))
        goto out;
    body = json_dumps(root, JSON_COMPACT);
out:
    for (i = 0; i < made; i++)
        slack_escaped_free(&x[i]);
    free(x);
    free(grouped);
    json_decref(root);
    json_decref(atts);
    free(text);
    return body;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void slack_teardown(void *instance)
{
    struct slack *s = instance;

    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    curl_slist_free_all(s->headers);
    free(s->peer);
    free(s->channel);
    free(s->username);
    free(s->icon_emoji);
    free(s->template);
    tocsin_capture_free(&s->answer);
    if (s->curl_ready)
        curl_global_cleanup();
    free(s);
}

/* Check that `url` is http(s) with a host; set s->peer. The URL is never
 * put in err. */
static int slack_parse_url(struct slack *s, const char *url, char *err, size_t errlen)
{
    return tocsin_curl_open_url(url, "the webhook URL",
                                "https://hooks.slack.com/services/...", NULL, &s->peer,
                                err, errlen);
}

/* Validate the options into a struct slack with a libcurl handle ready to
 * post. Nothing is sent here. */
static int slack_setup(cfg_t *options, void **instance, char *err, size_t errlen)
{
    struct slack *s;
    const char *emoji = cfg_getstr(options, "icon_emoji");
    char *url = NULL, why[256];
    struct curl_slist *grown;
    CURLcode rc = CURLE_OK;
    int oom = 0;

    if (!(s = calloc(1, sizeof(*s))))
        goto oom;
    s->answer.max = SLACK_ANSWER_MAX;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl could not be initialised");
        goto fail;
    }
    s->curl_ready = 1;

    if (tocsin_option_secret(options, "url", &url, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "webhook URL: %s", why);
        goto fail;
    }
    if (!url) {
        snprintf(err, errlen, "the webhook URL is required: give url_file (a file "
                 "holding it), url_env or url");
        goto fail;
    }
    if (slack_parse_url(s, url, err, errlen) < 0)
        goto fail;

    if (tocsin_option_template(options, "template", 0, &s->template, err, errlen) < 0)
        goto fail;
    if (!tocsin_utf8_valid(s->template) ||
        !tocsin_utf8_valid(cfg_getstr(options, "channel")) ||
        !tocsin_utf8_valid(cfg_getstr(options, "username"))) {
        snprintf(err, errlen, "options 'template', 'channel' and 'username' must be "
                 "UTF-8 text");
        goto fail;
    }
    if (emoji && *emoji &&
        (strlen(emoji) < 3 || emoji[0] != ':' || emoji[strlen(emoji) - 1] != ':' ||
         strpbrk(emoji, " \t\r\n"))) {
        snprintf(err, errlen, "option 'icon_emoji': \"%s\" is not an emoji name "
                 "such as \":rotating_light:\"", emoji);
        goto fail;
    }
    s->channel = tocsin_option_strdup(options, "channel", &oom);
    s->username = tocsin_option_strdup(options, "username", &oom);
    s->icon_emoji = tocsin_option_strdup(options, "icon_emoji", &oom);
    if (oom)
        goto oom;

    if (!(s->curl = curl_easy_init())) {
        snprintf(err, errlen, "libcurl could not make a handle");
        goto fail;
    }
    /* No "Expect: 100-continue" wait before a large body. */
    if (!(s->headers = curl_slist_append(NULL, "Content-Type: application/json")) ||
        !(grown = curl_slist_append(s->headers, "Expect:")))
        goto oom;
    s->headers = grown;
    /* libcurl keeps its own copy of the URL. */
    rc = tocsin_curl_notifier(s->curl, url, s->headers, s->errbuf,
                              "tocsin-slack/" SLACK_VERSION, &s->answer);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused an option: %s", curl_easy_strerror(rc));
        goto fail;
    }
    tocsin_secret_free(url);
    *instance = s;
    return 0;

oom:
    snprintf(err, errlen, "out of memory");
fail:
    tocsin_secret_free(url);
    slack_teardown(s);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Posting                                                             */
/* ------------------------------------------------------------------ */

/* Slack's answer made fit for one line: control characters dropped,
 * quotes and spaces around it trimmed. Returns out. */
static const char *slack_answer(const struct slack *s, char *out, size_t outlen)
{
    size_t i, used = 0;

    for (i = 0; i < s->answer.len && used + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s->answer.data[i];

        if (c >= 0x20 && c != 0x7f)
            out[used++] = (char)c;
    }
    out[used] = '\0';
    return out;
}

/* Post one message for the alert (and those grouped with it) before the
 * deadline, and judge Slack's answer. */
static enum tocsin_delivery slack_notify(void *instance, const struct tocsin_alert *alert,
                                         char *err, size_t errlen)
{
    struct slack *s = instance;
    enum tocsin_delivery outcome;
    char *body, answer[SLACK_ANSWER_MAX + 1];
    long left, code = 0;
    CURLcode rc;

    if (alert->kind == TOCSIN_ALERT_RESULT)
        return TOCSIN_DELIVERED;
    if ((left = tocsin_curl_timeout(s->curl, &alert->deadline)) < 1) {
        snprintf(err, errlen, "no time left before the deadline");
        return TOCSIN_RETRY;
    }
    if (!(body = slack_payload(s, alert))) {
        snprintf(err, errlen, "cannot build the message: out of memory");
        return TOCSIN_RETRY;
    }
    rc = tocsin_curl_post(s->curl, s->errbuf, &s->answer, body, &code);
    free(body);

    if (rc != CURLE_OK) {
        const char *why = tocsin_curl_why(s->errbuf, rc);

        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(err, errlen, "slack (%s) did not answer within %.1f s", s->peer,
                     (double)left / 1000);
        } else if (rc == CURLE_COULDNT_CONNECT) {
            snprintf(err, errlen, "cannot connect to slack (%s): %s", s->peer,
                     tocsin_curl_connect_why(s->curl, s->errbuf, rc));
        } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
            snprintf(err, errlen, "TLS certificate of slack (%s) not accepted: %s",
                     s->peer, why);
            return TOCSIN_FAILED;
        } else {
            snprintf(err, errlen, "posting to slack (%s) failed: %s", s->peer, why);
        }
        return TOCSIN_RETRY;
    }
    outcome = tocsin_http_outcome(code);
    if (outcome == TOCSIN_DELIVERED)
        return outcome;
    if (outcome == TOCSIN_RETRY && tocsin_curl_retry_after(s->curl) > 0)
        *alert->retry_after = tocsin_curl_retry_after(s->curl);
    slack_answer(s, answer, sizeof(answer));
    snprintf(err, errlen, "slack answered %ld%s%s", code, *answer ? ": " : "", answer);
    return outcome;
}

/* Descriptions for --help; docs/notify-slack.md tells more. */
static const struct tocsin_option_help slack_help[] = {
    { "url", "URL",
      "the webhook URL, inline (a secret: see url_file, url_env)" },
    { "url_file", "FILE",
      "the webhook URL (a secret), from the first line of this file" },
    { "url_env", "VARIABLE",
      "the webhook URL (a secret), from this environment variable" },
    { "channel", NULL,
      "#channel or a user to post to, when the webhook allows overriding it" },
    { "username", "USER",
      "name shown as the poster" },
    { "icon_emoji", NULL,
      "emoji shown as the poster's icon, :rotating_light:" },
    { "template", "TEMPLATE",
      "template of the message's text (what notifications show)" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_NOTIFIER,
    .name = "slack",
    .version = SLACK_VERSION,
    .summary = "post alerts to a Slack incoming webhook",
    .options = slack_options,
    .help = slack_help,
    .setup = slack_setup,
    .teardown = slack_teardown,
    .notify = slack_notify,
);
