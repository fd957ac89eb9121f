/* What the MPI tests share: the batch data's generator (the same on every rank) and the split
 * of a batch over the ranks (rank 0 holds no sample when there are several, the others 1 : 2 : 3
 * ...: an uneven split with an empty rank). */
#ifndef LOSSFN_MPI_COMMON_H
#define LOSSFN_MPI_COMMON_H
#include <stddef.h>
#include <stdint.h>

static int rank, size, failures;

/* The same pseudo-random batch on every rank. */
static uint64_t rng_state;
static double uniform(double lo, double hi) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Rows [lo, hi) of rank r for n rows. */
static void split(size_t n, int r, size_t *lo, size_t *hi) {
    if (size == 1) { *lo = 0; *hi = n; return; }
    if (r == 0) { *lo = *hi = 0; return; }
    size_t total = (size_t)(size - 1) * (size_t)size / 2, acc = 0;
    for (int q = 1; q < r; q++) acc += (size_t)q;
    *lo = n * acc / total;
    *hi = n * (acc + (size_t)r) / total;
}
#endif
