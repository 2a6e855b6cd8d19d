/*
 * snmp.c - SNMP GET of one or more objects, with thresholds on numbers and
 * counters turned into rates, through net-snmp:
 *
 *   check = "snmp"
 *   host = "192.0.2.10"
 *   community_file = "/etc/tocsin/snmp-community"
 *   oid = {"SNMPv2-MIB::sysUpTime.0", ".1.3.6.1.2.1.2.2.1.10.1"}
 *   label = {"uptime", "eth0 in"}
 *   rate = {"no", "yes"}          # the second one in units per second
 *   oid_critical = {"", "100000000"}
 *
 * SNMP v1, v2c (community) and v3 (USM: SHA/MD5/SHA-2 authentication,
 * AES/DES privacy) are spoken with the single-session API, so the only
 * global state is net-snmp's own initialisation, done once per worker.
 * The keys of v3 passwords are derived once, at setup. The plugin is
 * stateful: a counter read with rate on is remembered with the time it
 * was read, and the next check reports the rate since then.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "tocsin-plugin.h"

#define SNMPCHK_APP "tocsin"

/* Characters of a string value shown in the output. */
#define SNMPCHK_TEXT_MAX 200

/* Room for one OID's part of the first line. */
#define SNMPCHK_PART_MAX 512

/* Shortest wait for one try, in microseconds. */
#define SNMPCHK_MIN_TRY_US 100000L

/* One object to get. */
struct snmpchk_oid {
    char *text;                   /* as configured; owned */
    char *label;                  /* perfdata and output name; owned */
    oid name[MAX_OID_LEN];
    size_t len;
    struct tocsin_thresholds th;  /* may be unset */
    int rate;                     /* report the change per second */

    /* Kept between checks for the rate. */
    int have_prev;
    u_char prev_type;
    uint64_t prev_raw;            /* counters, exact */
    double prev_value;            /* other numbers */
    double prev_at;               /* CLOCK_MONOTONIC seconds */
};

struct snmpchk {
    char *host;                   /* owned */
    long port;
    char peer[320];               /* "udp:host:port" for net-snmp */
    char where[320];              /* "host:port" for messages */
    long version;                 /* SNMP_VERSION_1, _2c or _3 */
    const char *version_name;     /* "v1", "v2c", "v3" */
    char *community;              /* secret; owned */
    char *user;                   /* v3 security name; owned */
    int sec_level;                /* SNMP_SEC_LEVEL_* */
    oid *auth_proto;              /* net-snmp's, not owned */
    size_t auth_proto_len;
    u_char auth_key[USM_AUTH_KU_LEN]; /* Ku of the auth password */
    size_t auth_key_len;
    oid *priv_proto;
    size_t priv_proto_len;
    u_char priv_key[USM_PRIV_KU_LEN];
    size_t priv_key_len;
    long retries;
    struct snmpchk_oid *oids;
    size_t noids;
};

/* What one object read gave. */
struct snmpchk_value {
    enum { SNMPCHK_NUMBER, SNMPCHK_STRING, SNMPCHK_MISSING } kind;
    u_char type;                  /* ASN type of the answer */
    double number;                /* SNMPCHK_NUMBER */
    uint64_t raw;                 /* counters and unsigned, exact */
    int is_counter;               /* Counter32 or Counter64 */
    int exact;                    /* raw holds the value (no fraction) */
    int negative;                 /* INTEGER below 0 */
    char text[SNMPCHK_TEXT_MAX + 64]; /* strings; why it is missing */
};

static cfg_opt_t snmpchk_options[] = {
    CFG_STR("host", "127.0.0.1", CFGF_NONE),
    CFG_INT("port", 161, CFGF_NONE),
    CFG_STR("version", "2c", CFGF_NONE),
    CFG_STR("community", "", CFGF_NONE),
    CFG_STR("community_file", "", CFGF_NONE),
    CFG_STR("community_env", "", CFGF_NONE),
    CFG_STR("user", "", CFGF_NONE),
    CFG_STR("security_level", "", CFGF_NONE),
    CFG_STR("auth_protocol", "SHA", CFGF_NONE),
    CFG_STR("auth_password", "", CFGF_NONE),
    CFG_STR("auth_password_file", "", CFGF_NONE),
    CFG_STR("auth_password_env", "", CFGF_NONE),
    CFG_STR("priv_protocol", "AES", CFGF_NONE),
    CFG_STR("priv_password", "", CFGF_NONE),
    CFG_STR("priv_password_file", "", CFGF_NONE),
    CFG_STR("priv_password_env", "", CFGF_NONE),
    CFG_STR_LIST("oid", "{}", CFGF_NONE),
    CFG_STR_LIST("label", "{}", CFGF_NONE),
    TOCSIN_OPT_RANGE("warning", ""),
    TOCSIN_OPT_RANGE("critical", ""),
    CFG_STR_LIST_CB("oid_warning", "{}", CFGF_NONE, tocsin_cfg_parse_range),
    CFG_STR_LIST_CB("oid_critical", "{}", CFGF_NONE, tocsin_cfg_parse_range),
    CFG_STR_LIST("rate", "{}", CFGF_NONE),
    CFG_INT("retries", 1, CFGF_NONE),
    CFG_STR("mib_dirs", "", CFGF_NONE),
    CFG_STR_LIST("mibs", "{}", CFGF_NONE),
    CFG_END()
};

/* ------------------------------------------------------------------ */
/* net-snmp, once per process                                          */
/* ------------------------------------------------------------------ */

static int snmpchk_ready;
static int snmpchk_all_mibs;      /* read_all_mibs() was called */
static char *snmpchk_mib_dirs_added; /* the last mib_dirs added */

/* Start net-snmp once: no logging (its messages would reach the
 * daemon's log and tocsin-check's output unasked), no MIB parser noise,
 * no persistent state written. MIB modules are loaded on demand, not the
 * long default list (most of which Debian does not ship): MIBS is set
 * empty for the time of init_snmp() unless the environment sets it. */
static void snmpchk_init(void)
{
    int no_mibs = getenv("MIBS") == NULL;

    if (snmpchk_ready)
        return;
    if (no_mibs && setenv("MIBS", "", 1) < 0)
        no_mibs = 0;
    netsnmp_register_loghandler(NETSNMP_LOGHANDLER_NONE, LOG_DEBUG);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_ERRORS, 0);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIB_WARNINGS, 0);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
                           NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    init_snmp(SNMPCHK_APP);
    if (no_mibs)
        unsetenv("MIBS");
    snmpchk_ready = 1;
}

/* Release net-snmp's global state when the plugin is unloaded or the
 * process exits, so that nothing it allocated outlives it. */
__attribute__((destructor)) static void snmpchk_fini(void)
{
    if (!snmpchk_ready)
        return;
    snmp_shutdown(SNMPCHK_APP);
    snmpchk_ready = 0;
    snmpchk_all_mibs = 0;
    free(snmpchk_mib_dirs_added);
    snmpchk_mib_dirs_added = NULL;
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void snmpchk_teardown(void *instance)
{
    struct snmpchk *s = instance;
    size_t i;

    if (!s)
        return;
    free(s->host);
    tocsin_secret_free(s->community);
    free(s->user);
    memset(s->auth_key, 0, sizeof(s->auth_key));
    memset(s->priv_key, 0, sizeof(s->priv_key));
    for (i = 0; i < s->noids; i++) {
        free(s->oids[i].text);
        free(s->oids[i].label);
    }
    free(s->oids);
    free(s);
}

/* A string option, "" when unset. */
static const char *snmpchk_str(cfg_t *options, const char *name)
{
    const char *v = cfg_getstr(options, name);

    return v ? v : "";
}

/* Resolve the secret given as `name`, `name`_file or `name`_env. Returns
 * 0 with *out (NULL when none is given), or -1 with "option 'NAME': why"
 * in err. */
static int snmpchk_secret(cfg_t *options, const char *name, char **out,
                          char *err, size_t errlen)
{
    char why[256];

    if (tocsin_option_secret(options, name, out, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "option '%s': %s", name, why);
        return -1;
    }
    return 0;
}

/* Derive the key (Ku) of a v3 password with the auth protocol's hash.
 * Returns 0, or -1 with err. The password is not kept. */
static int snmpchk_key(struct snmpchk *s, const char *what, char *password,
                       u_char *key, size_t *keylen, char *err, size_t errlen)
{
    size_t len = strlen(password);

    if (len < USM_LENGTH_P_MIN) {
        snprintf(err, errlen, "option '%s': an SNMPv3 password needs at least "
                 "%d characters", what, USM_LENGTH_P_MIN);
        return -1;
    }
    if (generate_Ku(s->auth_proto, (u_int)s->auth_proto_len, (u_char *)password,
                    len, key, keylen) != SNMPERR_SUCCESS) {
        snprintf(err, errlen, "option '%s': cannot derive a key from it with "
                 "the auth protocol", what);
        return -1;
    }
    return 0;
}

/* The v3 settings: user, security level, protocols, keys. */
static int snmpchk_setup_v3(struct snmpchk *s, cfg_t *options, char *err,
                            size_t errlen)
{
    const char *user = snmpchk_str(options, "user");
    const char *level = snmpchk_str(options, "security_level");
    const char *auth = snmpchk_str(options, "auth_protocol");
    const char *priv = snmpchk_str(options, "priv_protocol");
    char *auth_pw = NULL, *priv_pw = NULL;
    int type, rc = -1;

    if (!*user) {
        snprintf(err, errlen, "option 'user' is needed with SNMP version 3");
        goto out;
    }
    if (!(s->user = strdup(user))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (snmpchk_secret(options, "auth_password", &auth_pw, err, errlen) < 0 ||
        snmpchk_secret(options, "priv_password", &priv_pw, err, errlen) < 0)
        goto out;
    if (!*level)
        s->sec_level = priv_pw ? SNMP_SEC_LEVEL_AUTHPRIV
                     : auth_pw ? SNMP_SEC_LEVEL_AUTHNOPRIV
                     : SNMP_SEC_LEVEL_NOAUTH;
    else if (strcasecmp(level, "noAuthNoPriv") == 0)
        s->sec_level = SNMP_SEC_LEVEL_NOAUTH;
    else if (strcasecmp(level, "authNoPriv") == 0)
        s->sec_level = SNMP_SEC_LEVEL_AUTHNOPRIV;
    else if (strcasecmp(level, "authPriv") == 0)
        s->sec_level = SNMP_SEC_LEVEL_AUTHPRIV;
    else {
        snprintf(err, errlen, "option 'security_level': \"%s\" is not one of "
                 "noAuthNoPriv, authNoPriv, authPriv", level);
        goto out;
    }
    if (s->sec_level >= SNMP_SEC_LEVEL_AUTHNOPRIV && !auth_pw) {
        snprintf(err, errlen, "security level %s needs auth_password (or "
                 "auth_password_file, auth_password_env)",
                 s->sec_level == SNMP_SEC_LEVEL_AUTHPRIV ? "authPriv" : "authNoPriv");
        goto out;
    }
    if (s->sec_level == SNMP_SEC_LEVEL_AUTHPRIV && !priv_pw) {
        snprintf(err, errlen, "security level authPriv needs priv_password (or "
                 "priv_password_file, priv_password_env)");
        goto out;
    }
    if (s->sec_level >= SNMP_SEC_LEVEL_AUTHNOPRIV) {
        type = usm_lookup_auth_type(auth);
        s->auth_proto = type < 0 ? NULL : sc_get_auth_oid(type, &s->auth_proto_len);
        if (!s->auth_proto || type == NETSNMP_USMAUTH_NOAUTH) {
            snprintf(err, errlen, "option 'auth_protocol': \"%s\" is not one of "
                     "MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512", auth);
            goto out;
        }
        s->auth_key_len = sizeof(s->auth_key);
        if (snmpchk_key(s, "auth_password", auth_pw, s->auth_key,
                        &s->auth_key_len, err, errlen) < 0)
            goto out;
    }
    if (s->sec_level == SNMP_SEC_LEVEL_AUTHPRIV) {
        type = usm_lookup_priv_type(priv);
        s->priv_proto = type < 0 ? NULL : sc_get_priv_oid(type, &s->priv_proto_len);
        if (!s->priv_proto || type == USM_CREATE_USER_PRIV_NONE) {
            snprintf(err, errlen, "option 'priv_protocol': \"%s\" is not one of "
                     "DES, AES, AES-192, AES-256", priv);
            goto out;
        }
        s->priv_key_len = sizeof(s->priv_key);
        if (snmpchk_key(s, "priv_password", priv_pw, s->priv_key,
                        &s->priv_key_len, err, errlen) < 0)
            goto out;
    }
    rc = 0;
out:
    tocsin_secret_free(auth_pw);
    tocsin_secret_free(priv_pw);
    return rc;
}

/* Add each directory of the colon-separated `dirs` to the MIB search
 * path. A worker remembers the last list it added, so services that share
 * one do not index the directories again. */
static void snmpchk_mib_dirs(const char *dirs)
{
    char *copy, *dir, *next;

    if (!*dirs || (snmpchk_mib_dirs_added &&
                   strcmp(snmpchk_mib_dirs_added, dirs) == 0))
        return;
    copy = strdup(dirs);
    if (!copy)
        return;
    for (dir = copy; dir; dir = next) {
        next = strchr(dir, ':');
        if (next)
            *next++ = '\0';
        if (*dir)
            add_mibdir(dir);
    }
    free(copy);
    free(snmpchk_mib_dirs_added);
    snmpchk_mib_dirs_added = strdup(dirs);
}

/* 1 if `text` is a numeric OID (".1.3.6..." or "1.3.6..."). */
static int snmpchk_numeric(const char *text)
{
    if (*text == '.')
        text++;
    if (!*text)
        return 0;
    for (; *text; text++)
        if ((*text < '0' || *text > '9') && *text != '.')
            return 0;
    return 1;
}

/* Turn the configured text of `o` into an OID. "MODULE::name" loads the
 * module first; a bare name that the loaded MIBs do not know makes every
 * MIB in the search path load, once. Returns 0, or -1 with err. */
static int snmpchk_resolve(struct snmpchk_oid *o, char *err, size_t errlen)
{
    const char *sep = strstr(o->text, "::");
    char *path;

    if (sep) {
        char module[256];
        size_t n = (size_t)(sep - o->text);

        if (n == 0 || n >= sizeof(module)) {
            snprintf(err, errlen, "OID \"%s\": no MIB module before '::'", o->text);
            return -1;
        }
        memcpy(module, o->text, n);
        module[n] = '\0';
        read_module(module);
    }
    o->len = MAX_OID_LEN;
    if (snmp_parse_oid(o->text, o->name, &o->len))
        return 0;
    if (!sep && !snmpchk_numeric(o->text) && !snmpchk_all_mibs) {
        read_all_mibs();
        snmpchk_all_mibs = 1;
        o->len = MAX_OID_LEN;
        if (snmp_parse_oid(o->text, o->name, &o->len))
            return 0;
    }
    path = netsnmp_get_mib_directory();
    if (snmpchk_numeric(o->text))
        snprintf(err, errlen, "OID \"%s\" is not a valid numeric OID", o->text);
    else
        snprintf(err, errlen, "OID \"%s\" is unknown to the MIBs found in %s "
                 "(give the module's directory with mib_dirs, or the OID in "
                 "numbers)", o->text, path && *path ? path : "the MIB path");
    return -1;
}

/* Parse the yes/no text of a rate entry. Returns 0/1, or -1. */
static int snmpchk_yes(const char *v)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0", "" };
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return -1;
}

/* Parse range `text`, entry `i` (from 1) of list option `name`. */
static int snmpchk_range(const char *name, unsigned i, const char *text,
                         struct tocsin_range *range, char *err, size_t errlen)
{
    char why[256];

    if (tocsin_range_parse(text, range, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "option '%s' entry %u: %s", name, i, why);
        return -1;
    }
    return 0;
}

/* The objects: OIDs resolved, labels, thresholds and rate flags. */
static int snmpchk_setup_oids(struct snmpchk *s, cfg_t *options, char *err,
                              size_t errlen)
{
    unsigned n = cfg_size(options, "oid"), nlabel = cfg_size(options, "label"),
             nw = cfg_size(options, "oid_warning"),
             nc = cfg_size(options, "oid_critical"),
             nrate = cfg_size(options, "rate"), i;
    struct tocsin_thresholds th;   /* from warning and critical */

    if (n == 0) {
        snprintf(err, errlen, "option 'oid' is needed: the object(s) to get, "
                 "e.g. oid = {\"SNMPv2-MIB::sysUpTime.0\"} or \".1.3.6.1.2.1.1.3.0\"");
        return -1;
    }
    if (n > SNMP_MAX_PACKET_LEN / 16) {
        snprintf(err, errlen, "option 'oid': %u objects is too many for one "
                 "request", n);
        return -1;
    }
    if (nlabel && nlabel != n) {
        snprintf(err, errlen, "option 'label' has %u entries for %u OIDs: give "
                 "one per OID", nlabel, n);
        return -1;
    }
    if (nw > n || nc > n) {
        snprintf(err, errlen, "option '%s' has %u entries for %u OIDs: give at "
                 "most one per OID", nw > n ? "oid_warning" : "oid_critical",
                 nw > n ? nw : nc, n);
        return -1;
    }
    if (nrate > 1 && nrate != n) {
        snprintf(err, errlen, "option 'rate' has %u entries for %u OIDs: give "
                 "one for all or one per OID", nrate, n);
        return -1;
    }
    if (tocsin_option_thresholds(options, "warning", "critical", &th, err,
                                 errlen) < 0)
        return -1;
    s->oids = calloc(n, sizeof(*s->oids));
    if (!s->oids)
        goto oom;
    for (i = 0; i < n; i++) {
        struct snmpchk_oid *o = &s->oids[i];
        const char *text = cfg_getnstr(options, "oid", i);
        const char *label = nlabel ? cfg_getnstr(options, "label", i) : NULL;
        const char *sep;
        int yes;

        s->noids++;
        if (!text || !*text) {
            snprintf(err, errlen, "option 'oid' entry %u is empty", i + 1);
            return -1;
        }
        if (!(o->text = strdup(text)))
            goto oom;
        if (!label || !*label) {
            /* IF-MIB::ifInOctets.1 is named ifInOctets.1. */
            sep = strstr(text, "::");
            label = sep ? sep + 2 : text;
        }
        if (!(o->label = strdup(label)))
            goto oom;
        if (snmpchk_resolve(o, err, errlen) < 0)
            return -1;
        o->th = th;
        if (i < nw && *cfg_getnstr(options, "oid_warning", i) &&
            snmpchk_range("oid_warning", i + 1, cfg_getnstr(options, "oid_warning", i),
                          &o->th.warning, err, errlen) < 0)
            return -1;
        if (i < nc && *cfg_getnstr(options, "oid_critical", i) &&
            snmpchk_range("oid_critical", i + 1, cfg_getnstr(options, "oid_critical", i),
                          &o->th.critical, err, errlen) < 0)
            return -1;
        if (nrate) {
            const char *r = cfg_getnstr(options, "rate", nrate == 1 ? 0 : i);

            yes = snmpchk_yes(r ? r : "");
            if (yes < 0) {
                snprintf(err, errlen, "option 'rate': \"%s\" is not yes or no",
                         r ? r : "");
                return -1;
            }
            o->rate = yes;
        }
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Validate the options into a struct snmpchk owned by the instance. */
static int snmpchk_setup(cfg_t *options, void **instance, char *err,
                         size_t errlen)
{
    struct snmpchk *s;
    const char *host = snmpchk_str(options, "host");
    const char *version = snmpchk_str(options, "version");
    unsigned i, nmibs = cfg_size(options, "mibs");

    snmpchk_init();
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!*host || strpbrk(host, " \t/")) {
        snprintf(err, errlen, "option 'host': \"%s\" is not a host name or "
                 "address", host);
        goto fail;
    }
    if (!(s->host = strdup(host))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->port = cfg_getint(options, "port");
    if (s->port < 1 || s->port > 65535) {
        snprintf(err, errlen, "option 'port': %ld is not a port (1-65535)", s->port);
        goto fail;
    }
    if (strchr(host, ':')) {      /* an IPv6 address */
        snprintf(s->peer, sizeof(s->peer), "udp6:[%s]:%ld", host, s->port);
        snprintf(s->where, sizeof(s->where), "[%s]:%ld", host, s->port);
    } else {
        snprintf(s->peer, sizeof(s->peer), "udp:%s:%ld", host, s->port);
        snprintf(s->where, sizeof(s->where), "%s:%ld", host, s->port);
    }
    s->retries = cfg_getint(options, "retries");
    if (s->retries < 0 || s->retries > 10) {
        snprintf(err, errlen, "option 'retries': %ld is not between 0 and 10",
                 s->retries);
        goto fail;
    }

    if (strcmp(version, "1") == 0 || strcasecmp(version, "v1") == 0) {
        s->version = SNMP_VERSION_1;
        s->version_name = "v1";
    } else if (strcasecmp(version, "2c") == 0 || strcasecmp(version, "v2c") == 0 ||
               strcmp(version, "2") == 0) {
        s->version = SNMP_VERSION_2c;
        s->version_name = "v2c";
    } else if (strcmp(version, "3") == 0 || strcasecmp(version, "v3") == 0) {
        s->version = SNMP_VERSION_3;
        s->version_name = "v3";
    } else {
        snprintf(err, errlen, "option 'version': \"%s\" is not one of 1, 2c, 3",
                 version);
        goto fail;
    }
    if (s->version == SNMP_VERSION_3) {
        if (snmpchk_setup_v3(s, options, err, errlen) < 0)
            goto fail;
    } else {
        if (snmpchk_secret(options, "community", &s->community, err, errlen) < 0)
            goto fail;
        if (!s->community && !(s->community = strdup("public"))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }

    snmpchk_mib_dirs(snmpchk_str(options, "mib_dirs"));
    for (i = 0; i < nmibs; i++) {
        const char *m = cfg_getnstr(options, "mibs", i);

        if (!m || !*m)
            continue;
        if (strcasecmp(m, "ALL") == 0) {
            if (!snmpchk_all_mibs)
                read_all_mibs();
            snmpchk_all_mibs = 1;
        } else {
            read_module(m);
        }
    }
    if (snmpchk_setup_oids(s, options, err, errlen) < 0)
        goto fail;
    *instance = s;
    return 0;

fail:
    snmpchk_teardown(s);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

/* Copy `len` bytes of a string value into out->text, printable; binary
 * data is shown as hex octets as net-snmp does ("00 3f dd"). */
static void snmpchk_text(const u_char *data, size_t len,
                         struct snmpchk_value *out)
{
    size_t i, n = 0, cap = sizeof(out->text);
    int binary = 0;

    for (i = 0; i < len; i++) {
        /* A trailing NUL, as some agents send, is not binary. */
        if (data[i] == 0 && i == len - 1)
            break;
        if ((data[i] < 0x20 && data[i] != '\t' && data[i] != '\n' &&
             data[i] != '\r') || data[i] == 0x7f)
            binary = 1;
    }
    if (binary) {
        for (i = 0; i < len && n + 4 < cap && n < SNMPCHK_TEXT_MAX; i++)
            n += (size_t)snprintf(out->text + n, cap - n, "%s%02x",
                                  i ? " " : "", data[i]);
    } else {
        for (i = 0; i < len && n < SNMPCHK_TEXT_MAX && data[i]; i++) {
            u_char c = data[i];

            out->text[n++] = c == '\n' || c == '\r' || c == '\t' ? ' '
                           : c == '|' ? '/' : (char)c;
        }
    }
    if (i < len && !(i == len - 1 && data[i] == 0) && n + 4 < cap)
        n += (size_t)snprintf(out->text + n, cap - n, "...");
    out->text[n < cap ? n : cap - 1] = '\0';
}

/* A string that is a number ("0.15", " 42 ") counts as one, as
 * check_snmp counts it. Returns 1 and sets *v when it is. */
static int snmpchk_string_number(const char *text, double *v)
{
    char *end;

    while (*text == ' ')
        text++;
    if (!*text)
        return 0;
    errno = 0;
    *v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(*v))
        return 0;
    while (*end == ' ')
        end++;
    return *end == '\0';
}

/* Read one answer variable into `out`. Costs nothing but formatting. */
static void snmpchk_value(const netsnmp_variable_list *v,
                          struct snmpchk_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = v->type;
    out->kind = SNMPCHK_NUMBER;
    switch (v->type) {
    case ASN_INTEGER:
        out->number = (double)*v->val.integer;
        out->negative = *v->val.integer < 0;
        out->raw = (uint64_t)*v->val.integer;
        out->exact = 1;
        break;
    case ASN_COUNTER:
        out->is_counter = 1;
        /* fall through */
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        out->raw = (uint64_t)(*v->val.integer & 0xffffffffUL);
        out->number = (double)out->raw;
        out->exact = 1;
        break;
    case ASN_COUNTER64:
        out->is_counter = 1;
        out->raw = ((uint64_t)v->val.counter64->high << 32) |
                   (v->val.counter64->low & 0xffffffffUL);
        out->number = (double)out->raw;
        out->exact = 1;
        break;
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
    case ASN_OPAQUE_COUNTER64:
    case ASN_OPAQUE_U64:
        out->is_counter = v->type == ASN_OPAQUE_COUNTER64;
        out->raw = ((uint64_t)v->val.counter64->high << 32) |
                   (v->val.counter64->low & 0xffffffffUL);
        out->number = (double)out->raw;
        out->exact = 1;
        break;
    case ASN_OPAQUE_I64:
        out->raw = ((uint64_t)v->val.counter64->high << 32) |
                   (v->val.counter64->low & 0xffffffffUL);
        out->number = (double)(int64_t)out->raw;
        out->negative = (int64_t)out->raw < 0;
        out->exact = 1;
        break;
    case ASN_OPAQUE_FLOAT:
        out->number = *v->val.floatVal;
        break;
    case ASN_OPAQUE_DOUBLE:
        out->number = *v->val.doubleVal;
        break;
#endif
    case ASN_OCTET_STR:
    case ASN_BIT_STR:
    case ASN_OPAQUE:
        out->kind = SNMPCHK_STRING;
        snmpchk_text(v->val.string, v->val_len, out);
        if (v->type == ASN_OCTET_STR &&
            snmpchk_string_number(out->text, &out->number))
            out->kind = SNMPCHK_NUMBER;
        break;
    case ASN_IPADDRESS:
        out->kind = SNMPCHK_STRING;
        if (v->val_len == 4)
            snprintf(out->text, sizeof(out->text), "%u.%u.%u.%u",
                     v->val.string[0], v->val.string[1], v->val.string[2],
                     v->val.string[3]);
        else
            snmpchk_text(v->val.string, v->val_len, out);
        break;
    case ASN_OBJECT_ID:
        out->kind = SNMPCHK_STRING;
        snprint_objid(out->text, sizeof(out->text), v->val.objid,
                      v->val_len / sizeof(oid));
        break;
    case ASN_NULL:
        out->kind = SNMPCHK_MISSING;
        snprintf(out->text, sizeof(out->text), "a NULL value");
        break;
    case SNMP_NOSUCHOBJECT:
        out->kind = SNMPCHK_MISSING;
        snprintf(out->text, sizeof(out->text), "no such object");
        break;
    case SNMP_NOSUCHINSTANCE:
        out->kind = SNMPCHK_MISSING;
        snprintf(out->text, sizeof(out->text), "no such instance");
        break;
    case SNMP_ENDOFMIBVIEW:
        out->kind = SNMPCHK_MISSING;
        snprintf(out->text, sizeof(out->text), "end of MIB view (not "
                 "visible to this community or user)");
        break;
    default:
        out->kind = SNMPCHK_MISSING;
        snprintf(out->text, sizeof(out->text), "a value of unknown type 0x%02x",
                 v->type);
        break;
    }
}

/* A number for output: integers exactly, others with at most 2 decimals
 * and no trailing zeros ("12.3", "0.05", "1000"). */
static const char *snmpchk_num(double v, char *buf, size_t len)
{
    char *dot, *end;

    if (fabs(v) >= 1e15 || (v == floor(v) && fabs(v) < 1e15)) {
        snprintf(buf, len, "%.0f", v);
        return buf;
    }
    snprintf(buf, len, "%.2f", v);
    dot = strchr(buf, '.');
    if (dot) {
        end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, len, "0");
    return buf;
}

/* A value as the first line shows it. */
static const char *snmpchk_show(const struct snmpchk_value *val, char *buf,
                                size_t len)
{
    if (val->exact && !val->negative)
        snprintf(buf, len, "%llu", (unsigned long long)val->raw);
    else if (val->exact)
        snprintf(buf, len, "%lld", (long long)(int64_t)val->raw);
    else
        snmpchk_num(val->number, buf, len);
    return buf;
}

static double snmpchk_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The change per second of `o` since the last check, from the value
 * just read at time `at`. Counters that went down wrapped (Counter32 at
 * 2^32, Counter64 at 2^64) if the wrapped difference is less than half
 * their range; otherwise the counter was reset (an agent restart) and
 * the rate starts again. Returns 1 with *rate set, 0 when there is no
 * rate yet (with *why set). Remembers the value for the next check.
 */
static int snmpchk_rate(struct snmpchk_oid *o, const struct snmpchk_value *val,
                        double at, double *rate, const char **why)
{
    int have = 0;
    double dt = at - o->prev_at;

    *why = "rate from the next check";
    if (o->have_prev && o->prev_type == val->type && dt > 0.001) {
        if (val->is_counter) {
            uint64_t delta = val->raw - o->prev_raw;   /* mod 2^64 */
            int wide = val->type != ASN_COUNTER;

            if (!wide)
                delta &= 0xffffffffULL;
            if (val->raw >= o->prev_raw ||
                delta < (wide ? (1ULL << 63) : (1ULL << 31))) {
                *rate = (double)delta / dt;
                have = 1;
            } else {
                *why = "counter reset, rate from the next check";
            }
        } else {
            *rate = (val->number - o->prev_value) / dt;
            have = 1;
        }
    }
    o->have_prev = 1;
    o->prev_type = val->type;
    o->prev_raw = val->raw;
    o->prev_value = val->number;
    o->prev_at = at;
    return have;
}

/* The SMI name of an answer's type, for long output. */
static const char *snmpchk_type_name(u_char type)
{
    switch (type) {
    case ASN_INTEGER: return "INTEGER";
    case ASN_COUNTER: return "Counter32";
    case ASN_GAUGE: return "Gauge32";
    case ASN_TIMETICKS: return "TimeTicks";
    case ASN_COUNTER64: return "Counter64";
    case ASN_OCTET_STR: return "OCTET STRING";
    case ASN_BIT_STR: return "BITS";
    case ASN_OPAQUE: return "Opaque";
    case ASN_IPADDRESS: return "IpAddress";
    case ASN_OBJECT_ID: return "OBJECT IDENTIFIER";
#ifdef NETSNMP_WITH_OPAQUE_SPECIAL_TYPES
    case ASN_OPAQUE_FLOAT: return "Opaque Float";
    case ASN_OPAQUE_DOUBLE: return "Opaque Double";
    case ASN_OPAQUE_COUNTER64: return "Opaque Counter64";
    case ASN_OPAQUE_I64: return "Opaque Integer64";
    case ASN_OPAQUE_U64: return "Opaque Unsigned64";
#endif
    default: return "other";
    }
}

/* Report one object of the answer: its part of the first line (appended
 * to `first`), long output, perfdata. Returns its state. */
static enum tocsin_state snmpchk_one(struct snmpchk_oid *o,
                                     const netsnmp_variable_list *var,
                                     double at, struct tocsin_check *chk,
                                     char *first, size_t len, size_t *used)
{
    struct snmpchk_value val;
    enum tocsin_state st = TOCSIN_OK;
    int thresholds = o->th.warning.set || o->th.critical.set;
    /* The OID as configured, when the label is not that text already. */
    const char *alias = strcmp(o->label, o->text) ? o->text : "";
    const char *sep = *alias ? ", " : "";
    char num[64], now[64];
    const char *why;
    double rate;

    if (*used)
        tocsin_append(first, len, used, ", ");
    if (!var) {
        tocsin_append(first, len, used, "%s missing from the answer", o->label);
        tocsin_check_long(chk, "UNKNOWN: %s%s%s%s: the agent's answer has no "
                          "value for it", o->label, *alias ? " (" : "", alias,
                          *alias ? ")" : "");
        return TOCSIN_UNKNOWN;
    }
    snmpchk_value(var, &val);
    if (val.kind == SNMPCHK_MISSING) {
        if (strcmp(o->label, o->text) == 0)
            tocsin_append(first, len, used, "%s: %s", o->text, val.text);
        else
            tocsin_append(first, len, used, "%s (%s): %s", o->label, o->text,
                        val.text);
        tocsin_check_long(chk, "UNKNOWN: %s%s%s%s: %s", o->label,
                          *alias ? " (" : "", alias, *alias ? ")" : "", val.text);
        return TOCSIN_UNKNOWN;
    }
    if (val.kind == SNMPCHK_STRING) {
        tocsin_append(first, len, used, "%s \"%s\"", o->label, val.text);
        if (thresholds || o->rate) {
            tocsin_check_long(chk, "UNKNOWN: %s%s%s%s is not a number (%s): "
                              "%s", o->label, *alias ? " (" : "", alias,
                              *alias ? ")" : "",
                              snmpchk_type_name(val.type),
                              o->rate ? "it has no rate"
                                      : "thresholds apply to numbers only");
            return TOCSIN_UNKNOWN;
        }
        tocsin_check_long(chk, "OK: %s = \"%s\" (%s%s%s)", o->label, val.text,
                          snmpchk_type_name(val.type), sep, alias);
        return TOCSIN_OK;
    }
    if (o->rate) {
        if (!snmpchk_rate(o, &val, at, &rate, &why)) {
            tocsin_append(first, len, used, "%s %s (%s)", o->label,
                        snmpchk_show(&val, num, sizeof(num)), why);
            tocsin_check_long(chk, "OK: %s = %s (%s%s%s): %s", o->label, num,
                              snmpchk_type_name(val.type), sep, alias, why);
            return TOCSIN_OK;
        }
        st = tocsin_thresholds_eval(&o->th, rate);
        tocsin_append(first, len, used, "%s %s/s", o->label,
                    snmpchk_num(rate, num, sizeof(num)));
        tocsin_check_perf(chk, o->label, rate, "", &o->th, 0, 0, 0);
        tocsin_check_long(chk, "%s: %s = %s/s (%s%s%s; now %s)",
                          tocsin_state_name(st), o->label, num,
                          snmpchk_type_name(val.type), sep, alias,
                          snmpchk_show(&val, now, sizeof(now)));
    } else {
        st = tocsin_thresholds_eval(&o->th, val.number);
        tocsin_append(first, len, used, "%s %s", o->label,
                    snmpchk_show(&val, num, sizeof(num)));
        tocsin_check_perf(chk, o->label, val.number, val.is_counter ? "c" : "",
                          &o->th, 0, 0, 0);
        tocsin_check_long(chk, "%s: %s = %s (%s%s%s)", tocsin_state_name(st),
                          o->label, num, snmpchk_type_name(val.type), sep, alias);
    }
    if (st == TOCSIN_CRITICAL)
        tocsin_append(first, len, used, " (critical)");
    else if (st == TOCSIN_WARNING)
        tocsin_append(first, len, used, " (warning)");
    return st;
}

/* Set the result of a request that got no usable answer. `liberr` is
 * net-snmp's error code, `msg` its text (may be NULL). */
static void snmpchk_fail(const struct snmpchk *s, struct tocsin_check *chk,
                         int liberr, const char *msg, double elapsed)
{
    char secs[32];
    const char *user = s->user ? s->user : "";

    switch (liberr) {
    case SNMPERR_TIMEOUT:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - no response "
                         "from %s (SNMP %s) after %s s", s->where,
                         s->version_name,
                         snmpchk_num(floor(elapsed * 10 + 0.5) / 10, secs,
                                     sizeof(secs)));
        if (s->version == SNMP_VERSION_3)
            tocsin_check_long(chk, "check that the agent runs and listens on "
                              "%s, and firewalls; an agent also drops a "
                              "request it cannot decrypt: check priv_password "
                              "and priv_protocol", s->where);
        else
            tocsin_check_long(chk, "an agent does not answer a request with "
                              "a community it does not accept: check the "
                              "community and the agent's access rules, that "
                              "it runs and listens on %s, and firewalls",
                              s->where);
        return;
    case SNMPERR_AUTHENTICATION_FAILURE:
    case SNMPERR_USM_AUTHENTICATIONFAILURE:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - authentication "
                         "failed for user %s", user);
        tocsin_check_long(chk, "the agent at %s rejected the request's "
                          "digest: wrong auth_password or auth_protocol",
                          s->where);
        return;
    case SNMPERR_UNKNOWN_USER_NAME:
    case SNMPERR_USM_UNKNOWNSECURITYNAME:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - unknown user "
                         "%s at %s", user, s->where);
        return;
    case SNMPERR_DECRYPTION_ERR:
    case SNMPERR_USM_DECRYPTIONERROR:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - decryption "
                         "failed for user %s (wrong priv_password or "
                         "priv_protocol)", user);
        return;
    case SNMPERR_UNSUPPORTED_SEC_LEVEL:
    case SNMPERR_USM_UNSUPPORTEDSECURITYLEVEL:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - the agent at %s "
                         "does not accept this security level for user %s",
                         s->where, user);
        return;
    case SNMPERR_BAD_ADDRESS:
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "SNMP UNKNOWN - cannot use "
                         "address %s: %s", s->where,
                         msg && *msg ? msg : snmp_api_errstring(liberr));
        return;
    default:
        tocsin_check_set(chk, TOCSIN_CRITICAL, "SNMP CRITICAL - request to %s "
                         "(SNMP %s) failed: %s", s->where, s->version_name,
                         msg && *msg ? msg : snmp_api_errstring(liberr));
        return;
    }
}

/* Fill a net-snmp session for one request that must end within
 * `budget` seconds, tries and engine discovery included. */
static void snmpchk_session(const struct snmpchk *s, netsnmp_session *sess,
                            double budget)
{
    long tries = (s->retries + 1) * (s->version == SNMP_VERSION_3 ? 2 : 1);
    long per_try = (long)(budget * 1e6 / (double)tries);

    snmp_sess_init(sess);
    sess->peername = (char *)s->peer;
    sess->version = s->version;
    sess->retries = (int)s->retries;
    sess->timeout = per_try > SNMPCHK_MIN_TRY_US ? per_try : SNMPCHK_MIN_TRY_US;
    if (s->version != SNMP_VERSION_3) {
        sess->community = (u_char *)s->community;
        sess->community_len = strlen(s->community);
        return;
    }
    sess->securityName = s->user;
    sess->securityNameLen = strlen(s->user);
    sess->securityLevel = s->sec_level;
    if (s->sec_level >= SNMP_SEC_LEVEL_AUTHNOPRIV) {
        sess->securityAuthProto = s->auth_proto;
        sess->securityAuthProtoLen = s->auth_proto_len;
        memcpy(sess->securityAuthKey, s->auth_key, s->auth_key_len);
        sess->securityAuthKeyLen = s->auth_key_len;
    }
    if (s->sec_level == SNMP_SEC_LEVEL_AUTHPRIV) {
        sess->securityPrivProto = s->priv_proto;
        sess->securityPrivProtoLen = s->priv_proto_len;
        memcpy(sess->securityPrivKey, s->priv_key, s->priv_key_len);
        sess->securityPrivKeyLen = s->priv_key_len;
    }
}

/*
 * One check: a single GET of every configured object, with tries spread
 * over the time the check has left. Costs one round trip (two with v3,
 * whose first request discovers the agent's engine).
 */
static void snmpchk_check(void *instance, struct tocsin_check *chk)
{
    struct snmpchk *s = instance;
    netsnmp_session sess;
    netsnmp_pdu *pdu, *resp = NULL;
    netsnmp_variable_list *var;
    void *handle;
    enum tocsin_state worst = TOCSIN_OK;
    char first[4096], *msg = NULL;
    double remaining = tocsin_check_remaining(chk), budget, t0, at;
    size_t i, used = 0;
    int status, liberr = 0, syserr = 0;

    budget = remaining - (remaining > 5 ? 0.5 : remaining / 10);
    snmpchk_session(s, &sess, budget);
    t0 = snmpchk_mono();
    handle = snmp_sess_open(&sess);
    memset(sess.securityAuthKey, 0, sizeof(sess.securityAuthKey));
    memset(sess.securityPrivKey, 0, sizeof(sess.securityPrivKey));
    if (!handle) {
        snmp_error(&sess, &syserr, &liberr, &msg);
        snmpchk_fail(s, chk, liberr, msg, snmpchk_mono() - t0);
        goto out;
    }
    if (s->version == SNMP_VERSION_3) {
        /* Engine discovery is done: the request gets what is left. */
        netsnmp_session *open = snmp_sess_session(handle);
        double left = budget - (snmpchk_mono() - t0);
        long per_try = (long)(left * 1e6 / (double)(s->retries + 1));

        if (open)
            open->timeout = per_try > SNMPCHK_MIN_TRY_US ? per_try
                                                         : SNMPCHK_MIN_TRY_US;
    }
    pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (!pdu) {
        tocsin_check_set(chk, TOCSIN_UNKNOWN, "SNMP UNKNOWN - out of memory");
        goto out;
    }
    for (i = 0; i < s->noids; i++)
        snmp_add_null_var(pdu, s->oids[i].name, s->oids[i].len);
    status = snmp_sess_synch_response(handle, pdu, &resp);
    at = snmpchk_mono();
    if (status == STAT_TIMEOUT) {
        snmpchk_fail(s, chk, SNMPERR_TIMEOUT, NULL, at - t0);
        goto out;
    }
    if (status != STAT_SUCCESS || !resp) {
        snmp_sess_error(handle, &syserr, &liberr, &msg);
        snmpchk_fail(s, chk, liberr, msg, at - t0);
        goto out;
    }
    if (resp->errstat != SNMP_ERR_NOERROR) {
        long idx = resp->errindex;
        const char *which = idx >= 1 && (size_t)idx <= s->noids
                            ? s->oids[idx - 1].text : NULL;

        tocsin_check_set(chk, TOCSIN_UNKNOWN, "SNMP UNKNOWN - the agent at %s "
                         "answered %s%s%s", s->where,
                         snmp_errstring((int)resp->errstat),
                         which ? " for " : "", which ? which : "");
        goto out;
    }
    var = resp->variables;
    for (i = 0; i < s->noids; i++) {
        worst = tocsin_state_worst(worst,
            snmpchk_one(&s->oids[i], var, at, chk, first, sizeof(first), &used));
        if (var)
            var = var->next_variable;
    }
    tocsin_check_set(chk, worst, "SNMP %s - %s", tocsin_state_name(worst), first);
out:
    free(msg);
    if (resp)
        snmp_free_pdu(resp);
    if (handle)
        snmp_sess_close(handle);
}

/* Descriptions for --help; docs/check-snmp.md tells more. */
static const struct tocsin_option_help snmpchk_help[] = {
    { "host", "HOST",
      "the agent: name, IPv4 or IPv6 address" },
    { "port", "PORT",
      "the agent's UDP port" },
    { "version", NULL,
      "1, 2c or 3" },
    { "community", "SECRET",
      "v1/v2c community (a secret)" },
    { "community_file", "FILE",
      "the community, from the first line of this file" },
    { "community_env", "VARIABLE",
      "the community, from this environment variable" },
    { "user", "USER",
      "v3 user (security name); needed with v3" },
    { "security_level", NULL,
      "noAuthNoPriv, authNoPriv or authPriv" },
    { "auth_protocol", NULL,
      "MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512" },
    { "auth_password", "SECRET",
      "v3 authentication password (at least 8 characters)" },
    { "auth_password_file", "FILE",
      "the v3 authentication password, from the first line of this file" },
    { "auth_password_env", "VARIABLE",
      "the v3 authentication password, from this environment variable" },
    { "priv_protocol", NULL,
      "DES, AES, AES-192, AES-256" },
    { "priv_password", "SECRET",
      "v3 privacy (encryption) password" },
    { "priv_password_file", "FILE",
      "the v3 privacy (encryption) password, from the first line of this file" },
    { "priv_password_env", "VARIABLE",
      "the v3 privacy (encryption) password, from this environment variable" },
    { "oid", NULL,
      "the objects: numeric" },
    { "label", NULL,
      "one per OID: the name in output and perfdata" },
    { "warning", NULL,
      "one range for every OID" },
    { "critical", NULL,
      "one range for every OID" },
    { "oid_warning", NULL,
      "one range per OID, in order" },
    { "oid_critical", NULL,
      "one range per OID, in order" },
    { "rate", NULL,
      "yes/no: one entry for every OID, or one per OID" },
    { "retries", NULL,
      "requests sent again when no answer comes (0-10)" },
    { "mib_dirs", NULL,
      "directories of MIB files, colon-separated, searched before net-snmp's own "
      "path" },
    { "mibs", NULL,
      "MIB modules to load at setup, or ALL" },
    { NULL, NULL, NULL }
};

TOCSIN_PLUGIN_DEFINE(
    .kind = TOCSIN_PLUGIN_CHECK,
    .flags = TOCSIN_PLUGIN_STATEFUL,
    .name = "snmp",
    .version = "0.1.0",
    .summary = "SNMP GET (v1, v2c, v3) with thresholds and counter rates",
    .options = snmpchk_options,
    .help = snmpchk_help,
    .setup = snmpchk_setup,
    .teardown = snmpchk_teardown,
    .check = snmpchk_check,
);
