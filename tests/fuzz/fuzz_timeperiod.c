/*
 * fuzz_timeperiod.c - fuzz harness for timeperiod definitions
 * (config/timeperiod.c): the `timeperiod` sections of the configuration
 * read by libconfuse with the item parse callbacks, compiled and linked,
 * then evaluated; and local times as tocsinctl downtime reads them.
 *
 * Input: configuration text holding timeperiod sections; its first line
 * is also tried as a local time ("2026-03-04 09:00 Europe/Berlin").
 * Invariants: a compiled period's spans lie in their ranges (minutes
 * 0..1440 with first < last, months and weekdays in their bits); linking
 * resolves every include and exclude to a period; evaluation answers 0
 * or 1, and the same answer whatever order instants are asked in (the
 * zone cache changes nothing).
 */
#include <confuse.h>
#include <stdarg.h>
#include <string.h>

#include "config/timeperiod.h"
#include "fuzz.h"

#define MAX_PERIODS 64

static void quiet(cfg_t *cfg, const char *fmt, va_list ap)
{
    (void)cfg;
    (void)fmt;
    (void)ap;
}

static void check_period(const struct tocsin_timeperiod *tp, size_t n)
{
    size_t i;

    FUZZ_CHECK(tp->name, "a period without a name");
    FUZZ_CHECK(tp->weekdays < 0x80 && tp->months < 0x1000, "%s: bits out of range", tp->name);
    for (i = 0; i < tp->ntimes; i++)
        FUZZ_CHECK(tp->times[i].first >= 0 && tp->times[i].first < tp->times[i].last &&
                   tp->times[i].last <= 1440, "%s: times %d..%d", tp->name,
                   tp->times[i].first, tp->times[i].last);
    for (i = 0; i < tp->ninclude; i++)
        FUZZ_CHECK(tp->include[i] < n, "%s: include %zu unresolved", tp->name, i);
    for (i = 0; i < tp->nexclude; i++)
        FUZZ_CHECK(tp->exclude[i] < n, "%s: exclude %zu unresolved", tp->name, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const time_t instants[] = {
        0, 86399, 1700000000, 1711846800, 1711850400, 1729990800, 1740787200,
        1767225599, 1767225600, 2000000000, 4102444800
    };
    enum { NINSTANTS = sizeof(instants) / sizeof(instants[0]) };
    cfg_opt_t opts[] = {
        CFG_SEC("timeperiod", tocsin_timeperiod_opts,
                CFGF_TITLE | CFGF_MULTI | CFGF_NO_TITLE_DUPES),
        CFG_END()
    };
    struct tocsin_timeperiod tps[MAX_PERIODS];
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    char *text = fuzz_string(data, size), *nl, err[256];
    int answers[MAX_PERIODS][NINSTANTS];
    size_t ntps = 0, i, k;
    unsigned count;
    cfg_t *cfg = NULL;
    time_t t;

    memset(tps, 0, sizeof(tps));
    if (!text)
        return 0;
    cfg = cfg_init(opts, CFGF_NONE);
    if (!cfg)
        goto out;
    cfg_set_error_function(cfg, quiet);
    if (cfg_parse_buf(cfg, text) != CFG_SUCCESS)
        goto local;
    count = cfg_size(cfg, "timeperiod");
    for (i = 0; i < count && ntps < MAX_PERIODS; i++) {
        cfg_t *sec = cfg_getnsec(cfg, "timeperiod", (unsigned)i);

        if (tocsin_timeperiod_compile(sec, "fuzz.conf", (int)i + 1, &tps[ntps], &errors) == 0)
            ntps++;
        else
            FUZZ_CHECK(errors.len > 0, "compile refused without a message");
    }
    if (tocsin_timeperiods_link(tps, ntps, &errors) < 0) {
        FUZZ_CHECK(errors.len > 0, "link refused without a message");
        goto local;
    }
    for (i = 0; i < ntps; i++) {
        check_period(&tps[i], ntps);
        FUZZ_CHECK(tocsin_timeperiod_find(tps, ntps, tps[i].name) == (long)i,
                   "period %zu not found by its name", i);
    }
    for (i = 0; i < ntps; i++)
        for (k = 0; k < NINSTANTS; k++) {
            answers[i][k] = tocsin_timeperiod_contains(tps, ntps, i, instants[k]);
            FUZZ_CHECK(answers[i][k] == 0 || answers[i][k] == 1, "contains gave %d",
                       answers[i][k]);
        }
    for (k = NINSTANTS; k-- > 0;)
        for (i = ntps; i-- > 0;)
            FUZZ_CHECK(tocsin_timeperiod_contains(tps, ntps, i, instants[k]) == answers[i][k],
                       "period %s at %lld: the answer changed with the order asked",
                       tps[i].name, (long long)instants[k]);

local:
    nl = strchr(text, '\n');
    if (nl)
        *nl = '\0';
    t = 12345;
    if (tocsin_local_time_parse(text, NULL, &t, err, sizeof(err)) < 0)
        FUZZ_CHECK(t == 12345 && err[0], "a refused local time changed *out or gave no reason");
out:
    for (i = 0; i < MAX_PERIODS; i++)
        tocsin_timeperiod_free(&tps[i]);
    tocsin_buf_free(&errors);
    if (cfg)
        cfg_free(cfg);
    free(text);
    return 0;
}
