// Tiny test harness for the C++ tests: CHECK counts, finish() prints "N passed, N failed".
#ifndef LOSSFN_TEST_CHECK_HPP
#define LOSSFN_TEST_CHECK_HPP

#include <cstdio>

static int passed, failed;
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (cond) passed++;                                                               \
        else {                                                                            \
            failed++;                                                                     \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                                 \
    } while (0)

static inline int finish() {
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
