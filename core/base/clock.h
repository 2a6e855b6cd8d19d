/*
 * clock.h - time as the scheduler sees it: microseconds on CLOCK_MONOTONIC,
 * which never jumps with the wall clock.
 */
#ifndef TOCSIN_CLOCK_H
#define TOCSIN_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since an arbitrary point (CLOCK_MONOTONIC). */
int64_t tocsin_mono_us(void);

/* Convert between microseconds and struct timespec on the same clock. */
struct timespec tocsin_us_to_timespec(int64_t us);
int64_t tocsin_timespec_to_us(const struct timespec *ts);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for times people
 * and other machines read, never for scheduling. */
int64_t tocsin_wall_ms(void);

#endif
