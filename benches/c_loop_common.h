/* What the C-loop benchmarks (benches/c_loop_*.c) share: a monotonic clock and the copy
 * bandwidth of a 256 MB buffer on the OpenMP threads, the memory bound's unit. */
#ifndef LOSSFN_C_LOOP_COMMON_H
#define LOSSFN_C_LOOP_COMMON_H
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Best copy bandwidth (bytes read + written per second) of a 256 MB buffer. */
static inline double copy_bw(void) {
    long n = 64L << 20;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    memset(a, 1, sizeof(float) * n);
    memset(b, 0, sizeof(float) * n);
    double best = 1e9;
    for (int r = 0; r < 9; r++) {
        double t0 = now();
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i += 4096) memcpy(b + i, a + i, (n - i < 4096 ? n - i : 4096) * sizeof(float));
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    free(a);
    free(b);
    return 2.0 * sizeof(float) * n / best;
}
/* OpenMP's idle threads spin after each loop (OMP_WAIT_POLICY's default), on the very cores
 * lossfn's pool needs for the call timed next: lossfn's 2-thread times then came out at its
 * 1-thread times in some runs. Runs the program again with OMP_WAIT_POLICY=passive unless the
 * caller set a policy (libgomp reads it when it loads, before main). Needs _POSIX_C_SOURCE
 * 200809L. */
#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200809L
static inline void omp_passive(char **argv) {
    if (!getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
    }
}
#endif
#endif
