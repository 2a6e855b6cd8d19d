/*
 * status.c - the histograms of status.h.
 */
#include <string.h>

#include "serve/status.h"

void tocsin_histogram_init(struct tocsin_histogram *h)
{
    static const double b[TOCSIN_HIST_BOUNDS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
    };

    memset(h, 0, sizeof(*h));
    memcpy(h->bounds, b, sizeof(b));
}

void tocsin_histogram_add(struct tocsin_histogram *h, double seconds)
{
    int i;

    for (i = 0; i < TOCSIN_HIST_BOUNDS && seconds > h->bounds[i]; i++)
        ;
    h->counts[i]++;
    h->sum += seconds;
    h->count++;
}
