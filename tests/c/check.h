/* Tiny test harness for the C tests: CHECK counts, FINISH prints "N passed, N failed". */
#ifndef LOSSFN_TEST_CHECK_H
#define LOSSFN_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            check_passed++;                                               \
        } else {                                                          \
            check_failed++;                                               \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, "\n");                                        \
        }                                                                 \
    } while (0)

static int finish(void) {
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* The fixture tolerance rule of tests/fixtures/README.md; returns the first bad index or -1. */
static inline long close_to(const double *got, const double *expected, size_t n, int f32) {
    double rtol = f32 ? 2e-4 : 1e-8, atol = f32 ? 2e-5 : 1e-10, scale = 1e-3;
    for (size_t i = 0; i < n; i++)
        if (fabs(expected[i]) > scale) scale = fabs(expected[i]);
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - expected[i]) <= rtol * fabs(expected[i]) + atol * scale)) return (long)i;
    return -1;
}

static inline const char *fixtures_dir(void) {
    const char *d = getenv("LOSSFN_FIXTURES");
#ifdef LOSSFN_FIXTURES_DEFAULT
    if (!d) d = LOSSFN_FIXTURES_DEFAULT;
#endif
    return d ? d : "tests/fixtures";
}

#endif
