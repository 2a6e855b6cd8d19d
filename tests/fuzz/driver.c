/*
 * driver.c - a small stand-in for libFuzzer, linked with a harness when
 * the compiler has no libFuzzer (gcc builds): it feeds the harness's
 * LLVMFuzzerTestOneInput every file of the seed corpus, then inputs made
 * from them by deterministic mutations (bit flips, byte changes,
 * truncations, insertions, deletions, duplicated runs and splices of two
 * seeds), drawn from a PRNG with a fixed seed, until a count or a time
 * budget is reached. No coverage feedback: this only makes every
 * `make check` exercise the harnesses and their invariants.
 *
 *   harness [-seconds=S] [-runs=N] [-seed=N] CORPUS_DIR_OR_FILE...
 *
 * Prints one TAP test, on a descriptor of its own (the harness's standard
 * output goes to standard error). A harness that fails an invariant aborts; the
 * input that was being run is then written to ./crash-input-PID first
 * (from a signal handler), so it can be added to the corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The harness. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Longest input made by mutation. */
#define MUTATED_MAX 65536

struct seed {
    uint8_t *data;
    size_t len;
};

static struct seed *seeds;
static size_t nseeds, seeds_alloc;

/* The input being run, for the crash handler. */
static const uint8_t *current;
static size_t current_len;

static uint64_t prng_state;

/* xorshift64*: a fixed sequence for a given seed. */
static uint64_t prng(void)
{
    prng_state ^= prng_state >> 12;
    prng_state ^= prng_state << 25;
    prng_state ^= prng_state >> 27;
    return prng_state * 2685821657736338717ULL;
}

/* A number in [0, n); n > 0. */
static size_t pick(size_t n)
{
    return (size_t)(prng() % n);
}

/* On a crash, save the input that caused it, then die by the signal. */
static void on_crash(int sig)
{
    char name[64];
    int fd, len;

    len = snprintf(name, sizeof(name), "crash-input-%ld", (long)getpid());
    if (len > 0 && current) {
        fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ssize_t n = write(fd, current, current_len);

            (void)n;
            close(fd);
            n = write(2, "fuzz driver: input saved to ", 28);
            n = write(2, name, (size_t)len);
            n = write(2, "\n", 1);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Append a copy of `len` bytes to the seeds. Exits on oom. */
static void seed_add(const uint8_t *data, size_t len)
{
    if (nseeds == seeds_alloc) {
        size_t want = seeds_alloc ? seeds_alloc * 2 : 32;
        struct seed *grown = realloc(seeds, want * sizeof(*grown));

        if (!grown) {
            perror("fuzz driver");
            exit(2);
        }
        seeds = grown;
        seeds_alloc = want;
    }
    seeds[nseeds].data = malloc(len ? len : 1);
    if (!seeds[nseeds].data) {
        perror("fuzz driver");
        exit(2);
    }
    if (len)
        memcpy(seeds[nseeds].data, data, len);
    seeds[nseeds].len = len;
    nseeds++;
}

/* Read one file into the seeds. Returns 0, or -1 with a message. */
static int seed_file(const char *path)
{
    uint8_t buf[MUTATED_MAX];
    size_t len = 0;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    seed_add(buf, len);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read a file, or every regular file of a directory in name order. */
static int seed_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, alloc = 0, i;
    int rc = 0;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return seed_file(path);
    d = opendir(path);
    if (!d) {
        fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char full[4096];

        if (e->d_name[0] == '.')
            continue;
        if (snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= (int)sizeof(full))
            continue;
        if (n == alloc) {
            char **grown;

            alloc = alloc ? alloc * 2 : 16;
            grown = realloc(names, alloc * sizeof(*grown));
            if (!grown) {
                rc = -1;
                goto out;
            }
            names = grown;
        }
        names[n] = strdup(full);
        if (!names[n]) {
            rc = -1;
            goto out;
        }
        n++;
    }
    qsort(names, n, sizeof(*names), by_name);
    for (i = 0; i < n && rc == 0; i++)
        rc = seed_file(names[i]);
out:
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* Bytes that often matter to parsers. */
static const uint8_t interesting[] = {
    0, '\n', '\r', ' ', '\t', '|', ';', '=', '\'', '"', ':', '@', '~', ',',
    '.', '-', '+', '{', '}', '[', ']', '\\', '#', '0', '9', 'U', 'e', 0x7f,
    0x80, 0xc3, 0xe2, 0xf0, 0xff
};

/*
 * Build one mutated input into buf (MUTATED_MAX bytes) from a random seed
 * and 1..4 random mutations. Returns its length.
 */
static size_t mutate(uint8_t *buf)
{
    const struct seed *s = &seeds[pick(nseeds)];
    size_t len = s->len, rounds = 1 + pick(4), r;

    memcpy(buf, s->data, len);
    for (r = 0; r < rounds; r++) {
        size_t at = len ? pick(len) : 0, n;

        switch (pick(8)) {
        case 0: /* flip a bit */
            if (len)
                buf[at] ^= (uint8_t)(1u << pick(8));
            break;
        case 1: /* set a byte to an interesting one */
            if (len)
                buf[at] = interesting[pick(sizeof(interesting))];
            break;
        case 2: /* truncate */
            len = at;
            break;
        case 3: /* insert a byte */
            if (len < MUTATED_MAX) {
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = pick(2) ? interesting[pick(sizeof(interesting))]
                                  : (uint8_t)pick(256);
                len++;
            }
            break;
        case 4: /* delete a run */
            if (len) {
                n = 1 + pick(len - at < 16 ? len - at : 16);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 5: /* duplicate a run */
            if (len) {
                n = 1 + pick(len - at < 64 ? len - at : 64);
                if (len + n <= MUTATED_MAX) {
                    memmove(buf + at + n, buf + at, len - at);
                    len += n;
                }
            }
            break;
        case 6: { /* splice: our head, another seed's tail */
            const struct seed *o = &seeds[pick(nseeds)];
            size_t from = o->len ? pick(o->len) : 0;

            n = o->len - from;
            if (at + n > MUTATED_MAX)
                n = MUTATED_MAX - at;
            memcpy(buf + at, o->data + from, n);
            len = at + n;
            break;
        }
        default: /* a random byte */
            if (len)
                buf[at] = (uint8_t)pick(256);
            break;
        }
    }
    return len;
}

/* Run one input, copied to a buffer of its exact size so that reads past
 * its end are caught by AddressSanitizer. */
static void run_one(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);

    if (!copy) {
        perror("fuzz driver");
        exit(2);
    }
    if (len)
        memcpy(copy, data, len);
    current = copy;
    current_len = len;
    LLVMFuzzerTestOneInput(copy, len);
    current = NULL;
    free(copy);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static uint8_t buf[MUTATED_MAX];
    double seconds = 2, start;
    unsigned long runs = 1000000, done = 0;
    const char *name = strrchr(argv[0], '/');
    int i, npaths = 0, name_len;
    FILE *tap;
    size_t k;

    name = name ? name + 1 : argv[0];
    if (strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".fuzz") == 0)
        name_len = (int)strlen(name) - 5;
    else
        name_len = (int)strlen(name);
    prng_state = 0x9e3779b97f4a7c15ULL;
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "-seconds=", 9) == 0)
            seconds = atof(argv[i] + 9);
        else if (strncmp(argv[i], "-runs=", 6) == 0)
            runs = strtoul(argv[i] + 6, NULL, 10);
        else if (strncmp(argv[i], "-seed=", 6) == 0)
            prng_state = strtoull(argv[i] + 6, NULL, 10) | 1;
        else if (argv[i][0] == '-')
            continue; /* a libFuzzer flag: ignored */
        else if (seed_path(argv[i]) < 0) {
            printf("1..1\nnot ok 1 - %.*s: cannot read the corpus %s\n", name_len, name,
                   argv[i]);
            return 1;
        } else
            npaths++;
    }
    if (npaths == 0 || nseeds == 0) {
        printf("1..1\nnot ok 1 - %.*s: no seed corpus given\n", name_len, name);
        return 1;
    }
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    signal(SIGILL, on_crash);
    /* The TAP lines get a descriptor of their own. What the code under
     * test writes to standard output (libconfuse's lexer echoes a
     * character it cannot match) goes to standard error instead, where
     * it cannot run into a TAP line and hide it. */
    tap = fdopen(dup(STDOUT_FILENO), "w");
    if (!tap || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        printf("1..1\nnot ok 1 - %.*s: cannot set up the TAP output: %s\n", name_len, name,
               strerror(errno));
        return 1;
    }
    fprintf(tap, "1..1\n");
    fflush(tap);
    start = now();
    for (k = 0; k < nseeds; k++)
        run_one(seeds[k].data, seeds[k].len);
    while (done < runs && now() - start < seconds) {
        size_t len = mutate(buf);

        run_one(buf, len);
        done++;
    }
    fprintf(tap, "ok 1 - %.*s: %zu seeds and %lu mutations in %.1f s\n", name_len, name,
            nseeds, done, now() - start);
    fclose(tap);
    for (k = 0; k < nseeds; k++)
        free(seeds[k].data);
    free(seeds);
    return 0;
}
