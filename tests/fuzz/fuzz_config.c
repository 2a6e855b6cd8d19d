/*
 * fuzz_config.c - fuzz harness for the configuration loader (config/):
 * the input is written to a file in a private directory and loaded, with
 * a registry holding two plugins known by their descriptors only (a
 * check "dummy" and a notifier "console", with a few options of the
 * core's option types), as the unit tests do.
 *
 * Input: configuration text (FUZZ_VERBOSE=1 in the environment prints
 * why each is refused). Inputs naming "include" are skipped, so that
 * a mutation cannot point include_dir at the rest of the file system.
 * Invariants: a refused configuration says why; a loaded one reports no
 * error, finds every service and notifier by its name at its index, and
 * holds only values in range (intervals and timeouts positive, attempts
 * at least 1, timeout states UNKNOWN or CRITICAL, severities and
 * resolved indices in range); loading the same text again gives the same
 * definitions (service hashes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "config/config.h"
#include "fuzz-registry.h"
#include "fuzz.h"

static char dir[] = "/tmp/tocsin-fuzz-config-XXXXXX";
static char path[sizeof(dir) + 16];

static void remove_dir(void)
{
    char confd[sizeof(dir) + 16];

    unlink(path);
    snprintf(confd, sizeof(confd), "%s/conf.d", dir);
    rmdir(confd);
    rmdir(dir);
}

/* The private directory, made once and removed at exit. */
static int setup(void)
{
    char confd[sizeof(dir) + 16];

    if (path[0])
        return 0;
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/tocsin.conf", dir);
    snprintf(confd, sizeof(confd), "%s/conf.d", dir);
    if (mkdir(confd, 0700) < 0)
        return -1;
    atexit(remove_dir);
    tocsin_log_set_level(-1);
    return 0;
}

static void check_config(const struct tocsin_config *conf)
{
    size_t i, k;

    for (i = 0; i < conf->nservices; i++) {
        const struct tocsin_service_conf *s = &conf->services[i];

        FUZZ_CHECK(s->inst.name, "service %zu has no name", i);
        FUZZ_CHECK(tocsin_config_find_service(conf, s->inst.name) == (long)i,
                   "service '%s' not found at %zu", s->inst.name, i);
        FUZZ_CHECK(s->interval_us > 0 && s->retry_interval_us > 0 && s->timeout_us > 0,
                   "service '%s': interval %lld, retry %lld, timeout %lld", s->inst.name,
                   (long long)s->interval_us, (long long)s->retry_interval_us,
                   (long long)s->timeout_us);
        FUZZ_CHECK(s->max_attempts >= 1, "service '%s': max_attempts %d", s->inst.name,
                   s->max_attempts);
        FUZZ_CHECK(s->timeout_state == TOCSIN_UNKNOWN || s->timeout_state == TOCSIN_CRITICAL,
                   "service '%s': timeout state %d", s->inst.name, (int)s->timeout_state);
        for (k = 0; k < 4; k++)
            FUZZ_CHECK(s->severity[k] >= TOCSIN_SEVERITY_INFO &&
                       s->severity[k] <= TOCSIN_SEVERITY_CRITICAL,
                       "service '%s': severity %d", s->inst.name, (int)s->severity[k]);
        for (k = 0; k < s->ndepends && s->parents; k++)
            FUZZ_CHECK(s->parents[k] < conf->nservices, "service '%s': parent %u",
                       s->inst.name, s->parents[k]);
        for (k = 0; k < s->nmembers; k++)
            FUZZ_CHECK(s->members[k] < conf->nservices, "group '%s': member %u",
                       s->inst.name, s->members[k]);
        FUZZ_CHECK(s->downtime_period_index < (int)conf->nperiods,
                   "service '%s': period %d", s->inst.name, s->downtime_period_index);
        for (k = 0; k < s->nlabels; k++)
            FUZZ_CHECK(s->labels[k].key && s->labels[k].value, "service '%s': label %zu",
                       s->inst.name, k);
    }
    for (i = 0; i < conf->nnotifiers; i++)
        FUZZ_CHECK(tocsin_config_find_notifier(conf, conf->notifiers[i].inst.name) == (long)i,
                   "notifier '%s' not found at %zu", conf->notifiers[i].inst.name, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tocsin_buf errors = TOCSIN_BUF_INIT;
    struct tocsin_config *conf = NULL, *again = NULL;
    FILE *f;
    size_t i;

    if (memmem(data, size, "include", 7) || setup() < 0)
        return 0;
    f = fopen(path, "wb");
    if (!f)
        return 0;
    if (fwrite(data, 1, size, f) != size) {
        fclose(f);
        return 0;
    }
    if (fclose(f) != 0)
        return 0;
    conf = tocsin_config_load(path, tocsin_fuzz_registry(), &errors);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s: %s\n", conf ? "loaded" : "refused", tocsin_buf_str(&errors));
    if (!conf) {
        FUZZ_CHECK(errors.len > 0, "refused without a message");
        goto out;
    }
    FUZZ_CHECK(errors.len == 0, "loaded with errors: %s", tocsin_buf_str(&errors));
    check_config(conf);
    again = tocsin_config_load(path, tocsin_fuzz_registry(), &errors);
    FUZZ_CHECK(again && again->nservices == conf->nservices, "loading again failed: %s",
               tocsin_buf_str(&errors));
    for (i = 0; i < conf->nservices; i++)
        FUZZ_CHECK(tocsin_config_service_hash(&conf->services[i]) ==
                   tocsin_config_service_hash(&again->services[i]),
                   "service '%s' hashes differently when loaded again",
                   conf->services[i].inst.name);
out:
    if (again)
        tocsin_config_free(again);
    if (conf)
        tocsin_config_free(conf);
    tocsin_buf_free(&errors);
    return 0;
}
