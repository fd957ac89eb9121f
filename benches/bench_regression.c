/* Regression benchmark: 16M f32 elements, loss + gradient, MEAN, no weights. Per loss and for 1
 * and 2 threads: the bytes a call must move (12 per element: input and target read, gradient
 * written), the bound they give at the copy bandwidth this run measures on as many threads,
 * lossfn's time and its fraction of the bound, and the C loop's time (the plain loop a
 * performance-minded user writes: branch-free, auto-vectorised by gcc -O3 -march=native
 * -ffast-math, OpenMP over the threads, its idle threads passive: omp_passive) with lossfn's
 * speed-up over it. Best of 7.
 * Results against torch: benches/vs_torch_regression.py.
 * Build: cmake target bench_regression, or
 *   gcc -O3 -march=native -ffast-math -fopenmp -std=gnu99 -Iinclude benches/bench_regression.c \
 *       -Ltarget/release -llossfn -lm -o /tmp/bench_regression */
#define _POSIX_C_SOURCE 200809L
#include <lossfn.h>
#include "c_loop_common.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define N (16u << 20)
#define REPS 7

/* The loops, one per loss as a user writes them: loss (double accumulator) and gradient of the
 * mean; beta = delta = 1 (Huber and Smooth L1 coincide); log-cosh as logf(coshf(d)) and tanhf(d)
 * (libmvec's vector coshf, logf, tanhf under -ffast-math). */
#define C_LOOP(name, LOSS, GRAD)                                                                      \
    static float name(const float *restrict x, const float *restrict t, size_t n, float *restrict grad) { \
        double acc = 0.0;                                                                             \
        float inv = 1.0f / (float)n;                                                                  \
        _Pragma("omp parallel for simd schedule(static) reduction(+ : acc)")                         \
        for (size_t i = 0; i < n; i++) {                                                              \
            float d = x[i] - t[i], a = fabsf(d);                                                      \
            (void)a;                                                                                  \
            acc += (LOSS);                                                                            \
            grad[i] = (GRAD) * inv;                                                                   \
        }                                                                                             \
        return (float)(acc / n);                                                                      \
    }
C_LOOP(c_l1, a, (d > 0) - (d < 0))
C_LOOP(c_mse, d * d, 2 * d)
C_LOOP(c_smooth_l1, a < 1.0f ? 0.5f * d * d : a - 0.5f, fminf(fmaxf(d, -1.0f), 1.0f))
C_LOOP(c_log_cosh, logf(coshf(d)), tanhf(d))

typedef lossfn_status (*reg_fn)(const float *, const float *, const float *, size_t,
                                const lossfn_regression_options *, float *, float *);

int main(int argc, char **argv) {
    (void)argc;
    omp_passive(argv);
    float *x = malloc(N * sizeof(float)), *t = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    srand(1);
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)rand() / RAND_MAX * 4 - 2;
        t[i] = (float)rand() / RAND_MAX * 4 - 2;
        g[i] = 0;
    }
    double bw[3];
    for (int th = 1; th <= 2; th++) {
#ifdef _OPENMP
        omp_set_num_threads(th);
#endif
        bw[th] = copy_bw();
    }
    printf("lossfn %s, %u f32 elements, %.0f MB moved per call; best of %d\n", lossfn_version_string(), N, 12.0 * N / 1e6, REPS);
    printf("copy bandwidth (256 MB, read + write): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw[1] / 1e9, bw[2] / 1e9);
    printf("%-16s %3s %9s %10s %9s %10s %9s\n", "loss", "thr", "bound ms", "lossfn ms", "of bound", "C loop ms", "C/lossfn");
    const char *names[5] = {"l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"};
    reg_fn fns[5] = {lossfn_l1_loss_f32, lossfn_mse_loss_f32, lossfn_smooth_l1_loss_f32, lossfn_huber_loss_f32, lossfn_log_cosh_loss_f32};
    float (*c_loops[5])(const float *restrict, const float *restrict, size_t, float *restrict) = {c_l1, c_mse, c_smooth_l1, c_smooth_l1, c_log_cosh};
    for (int k = 0; k < 5; k++) {
        for (int th = 1; th <= 2; th++) {
            lossfn_set_num_threads((size_t)th);
#ifdef _OPENMP
            omp_set_num_threads(th);
#endif
            double best = 1e9, best_c = 1e9;
            float loss = 0, loss_c = 0;
            for (int r = 0; r < REPS; r++) {
                double t0 = now();
                if (fns[k](x, t, NULL, N, NULL, &loss, g) != LOSSFN_OK) return 1;
                double dt = now() - t0;
                if (dt < best) best = dt;
                t0 = now();
                loss_c = c_loops[k](x, t, N, g);
                dt = now() - t0;
                if (dt < best_c) best_c = dt;
            }
            if (fabsf(loss - loss_c) > 1e-4f * fabsf(loss_c)) {
                fprintf(stderr, "%s: lossfn %g vs C loop %g\n", names[k], loss, loss_c);
                return 1;
            }
            double bound = 12.0 * N / bw[th];
            printf("%-16s %3d %9.3f %10.3f %8.0f%% %10.3f %8.2fx\n", names[k], th, 1e3 * bound, 1e3 * best, 100 * bound / best,
                   1e3 * best_c, best_c / best);
        }
    }
    lossfn_set_num_threads(0);
    free(x);
    free(t);
    free(g);
    return 0;
}
