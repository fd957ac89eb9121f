/* Regression benchmark: 16M f32 elements, loss + gradient, MEAN, default threads.
 * Prints ns/element, the fraction of the measured copy bandwidth (12 bytes/element: read input
 * and target, write gradient), and the speed-up over a plain scalar C loop doing the same work.
 * Build: cmake target bench_regression, or
 *   gcc -O2 -std=c99 -Iinclude benches/bench_regression.c -Ltarget/release -llossfn -lpthread -lm */
#define _POSIX_C_SOURCE 200809L
#include <lossfn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N (16u << 20)
#define REPS 7

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct { const char *src; char *dst; size_t bytes; } copy_job;
static void *copy_part(void *p) {
    copy_job *j = (copy_job *)p;
    memcpy(j->dst, j->src, j->bytes);
    return NULL;
}

/* Best bytes/s of a copy split over `threads` threads (bytes read + bytes written). */
static double copy_bandwidth(size_t threads) {
    size_t bytes = (size_t)N * 8; /* 128 MiB, far beyond cache */
    char *src = malloc(bytes), *dst = malloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 0, bytes);
    double best = 1e9;
    for (int r = 0; r < REPS; r++) {
        pthread_t t[64];
        copy_job jobs[64];
        double t0 = now();
        for (size_t i = 0; i < threads; i++) {
            jobs[i].src = src + bytes / threads * i;
            jobs[i].dst = dst + bytes / threads * i;
            jobs[i].bytes = bytes / threads;
            pthread_create(&t[i], NULL, copy_part, &jobs[i]);
        }
        for (size_t i = 0; i < threads; i++) pthread_join(t[i], NULL);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    free(src);
    free(dst);
    return 2.0 * bytes / best;
}

/* The plain loops a user would write: loss (double accumulator) and gradient of the mean. */
static float c_loop(int which, const float *x, const float *t, size_t n, float *grad) {
    double acc = 0.0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float d = x[i] - t[i], a = fabsf(d), l, g;
        float s = d > 0 ? 1.0f : (d < 0 ? -1.0f : 0.0f);
        switch (which) {
        case 0: l = a; g = s; break;
        case 1: l = d * d; g = 2 * d; break;
        case 2: if (a < 1.0f) { l = 0.5f * d * d; g = d; } else { l = a - 0.5f; g = s; } break;
        default: if (a < 1.0f) { l = 0.5f * d * d; g = d; } else { l = a - 0.5f; g = s; } break;
        }
        acc += l;
        grad[i] = g * inv;
    }
    return (float)(acc / n);
}

typedef lossfn_status (*reg_fn)(const float *, const float *, const float *, size_t,
                                const lossfn_regression_options *, float *, float *);

int main(void) {
    float *x = malloc(N * sizeof(float)), *t = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    srand(1);
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)rand() / RAND_MAX * 4 - 2;
        t[i] = (float)rand() / RAND_MAX * 4 - 2;
        g[i] = 0;
    }
    size_t threads = lossfn_get_num_threads();
    double bw = copy_bandwidth(threads);
    double bound_ns = 12.0 / bw * 1e9;
    printf("lossfn %s, %zu threads, %u f32 elements; copy bandwidth %.2f GB/s -> bound %.3f ns/element\n",
           lossfn_version_string(), threads, N, bw * 1e-9, bound_ns);
    printf("%-16s %10s %10s %12s %12s\n", "loss", "ns/elem", "C ns/elem", "of copy bw", "vs C loop");
    const char *names[4] = {"l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"};
    reg_fn fns[4] = {lossfn_l1_loss_f32, lossfn_mse_loss_f32, lossfn_smooth_l1_loss_f32, lossfn_huber_loss_f32};
    for (int k = 0; k < 4; k++) {
        double best = 1e9, best_c = 1e9;
        float loss = 0, loss_c = 0;
        for (int r = 0; r < REPS; r++) {
            double t0 = now();
            if (fns[k](x, t, NULL, N, NULL, &loss, g) != LOSSFN_OK) return 1;
            double dt = now() - t0;
            if (dt < best) best = dt;
            t0 = now();
            loss_c = c_loop(k, x, t, N, g);
            dt = now() - t0;
            if (dt < best_c) best_c = dt;
        }
        if (fabsf(loss - loss_c) > 1e-4f * fabsf(loss_c)) {
            fprintf(stderr, "%s: lossfn %g vs C loop %g\n", names[k], loss, loss_c);
            return 1;
        }
        double ns = best / N * 1e9, ns_c = best_c / N * 1e9;
        printf("%-16s %10.3f %10.3f %11.0f%% %11.2fx\n", names[k], ns, ns_c, 100.0 * bound_ns / ns, ns_c / ns);
    }
    free(x);
    free(t);
    free(g);
    return 0;
}
