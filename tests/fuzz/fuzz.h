/*
 * fuzz.h - what the fuzz harnesses in tests/fuzz/ share: the entry point
 * libFuzzer (or tests/fuzz/driver.c) calls, and a check that reports a
 * broken invariant and aborts, so the fuzzer keeps the input.
 */
#ifndef TOCSIN_FUZZ_H
#define TOCSIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Run one input; returns 0 (libFuzzer's contract). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with a message when `cond` does not hold. Not assert(): it stays
 * active under NDEBUG. */
#define FUZZ_CHECK(cond, ...)                                              \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__,     \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* A NUL-terminated copy of the input (the caller frees it), or NULL when
 * memory runs out. Bytes after an embedded NUL are kept but unseen by
 * string functions. */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s) {
        for (size_t i = 0; i < size; i++)
            s[i] = (char)data[i];
        s[size] = '\0';
    }
    return s;
}

#endif
