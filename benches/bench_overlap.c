/* Benchmark of the overlap family: Dice and Tversky on [8, 21, 256*256] float logits (NCHW),
 * int64 index targets, softmax inside, gradient on.
 *
 * Prints ns per logit for lossfn (default threads, and 1 thread), for the C loop (the two-pass
 * code a user would write: softmax with expf per position, sums, then the gradient; samples in
 * parallel with OpenMP, compiled as below), and for the memory bound of two passes over the
 * logits (pass 1 reads them, pass 2 reads them and writes the gradient), from the measured read
 * and memcpy bandwidth.
 *
 * Where lossfn's time goes, two measurements beside it:
 *  - its arithmetic alone: the same call on a [1, 21, 4096] slice (its blocks' size: input,
 *    gradient and scratch stay in L2), repeated, 1 thread, ns per logit;
 *  - the memory access pattern of its passes alone, in C with no arithmetic to speak of: per
 *    sample, the 21 class rows in blocks of 4096 positions copied into the gradient buffer
 *    (pass 1 parks p there), then swept in place (pass 2), 1 and 2 threads.
 * Then the two-phase batch Dice across ranks on one rank (phase 1 + phase 2, docs/distributed.md)
 * against the one-call batch Dice.
 *
 * Build & run:
 *   cargo build --release && gcc -O3 -march=native -ffast-math -fopenmp -std=gnu99 -Iinclude \
 *     benches/bench_overlap.c -Ltarget/release -llossfn -lm -o /tmp/bench_overlap && \
 *   LD_LIBRARY_PATH=target/release /tmp/bench_overlap
 */
#define _POSIX_C_SOURCE 200809L
#include "lossfn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_loop_common.h"
#ifdef _OPENMP
#include <omp.h>
#else
static int omp_get_max_threads(void) { return 1; }
static void omp_set_num_threads(int n) { (void)n; }
#endif

#define N 8
#define C 21
#define S (256 * 256)
#define REPS 7

/* The straightforward two-pass Dice / Tversky a user would write (MONAI semantics, defaults:
 * smooth 1e-5, include_background, per-sample scores, MEAN, gamma 1). */
static float scalar_loss(int tversky, const float *x, const int64_t *t, float *grad) {
    static double tp[N][C], sp[N][C], sg[N][C];
    static float cg[N][C], cp[N][C];
    const double snr = 1e-5, sdr = 1e-5, alpha = 0.3, beta = 0.7;
    memset(tp, 0, sizeof tp);
    memset(sp, 0, sizeof sp);
    memset(sg, 0, sizeof sg);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float pc[C];
        for (int s = 0; s < S; s++) {
            const float *xs = x + (size_t)n * C * S + s;
            float m = xs[0], z = 0.0f;
            for (int c = 1; c < C; c++) m = xs[(size_t)c * S] > m ? xs[(size_t)c * S] : m;
            for (int c = 0; c < C; c++) z += pc[c] = expf(xs[(size_t)c * S] - m);
            int64_t k = t[(size_t)n * S + s];
            for (int c = 0; c < C; c++) sp[n][c] += pc[c] / z;
            tp[n][k] += pc[k] / z;
            sg[n][k] += 1.0;
        }
    }
    double total = 0.0;
    const double scale = 1.0 / (N * C);
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            double num, den, dtp, dp;
            if (tversky) {
                num = tp[n][c] + snr;
                den = tp[n][c] + alpha * (sp[n][c] - tp[n][c]) + beta * (sg[n][c] - tp[n][c]) + sdr;
                dtp = 1.0 / den - (1.0 - alpha - beta) * num / (den * den);
                dp = -alpha * num / (den * den);
            } else {
                num = 2.0 * tp[n][c] + snr;
                den = sp[n][c] + sg[n][c] + sdr;
                dtp = 2.0 / den;
                dp = -num / (den * den);
            }
            total += 1.0 - num / den;
            cg[n][c] = (float)(-scale * dtp);
            cp[n][c] = (float)(-scale * dp);
        }
    }
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float pc[C];
        for (int s = 0; s < S; s++) {
            const float *xs = x + (size_t)n * C * S + s;
            float *gs = grad + (size_t)n * C * S + s;
            float m = xs[0], z = 0.0f, dot = 0.0f;
            for (int c = 1; c < C; c++) m = xs[(size_t)c * S] > m ? xs[(size_t)c * S] : m;
            for (int c = 0; c < C; c++) z += pc[c] = expf(xs[(size_t)c * S] - m);
            int64_t k = t[(size_t)n * S + s];
            for (int c = 0; c < C; c++) {
                pc[c] /= z;
                dot += pc[c] * (cp[n][c] + (c == k ? cg[n][c] : 0.0f));
            }
            for (int c = 0; c < C; c++) gs[(size_t)c * S] = pc[c] * (cp[n][c] + (c == k ? cg[n][c] : 0.0f) - dot);
        }
    }
    return (float)(total * scale);
}

static volatile float sink;

/* The access pattern of lossfn's two passes (per-sample scores, NCS) with almost no arithmetic:
   per sample, blocks of W positions of the C class rows (planes S apart) copied into the gradient
   buffer, then swept in place; blocks in parallel. */
#define W 4096
static void access_pattern(const float *x, float *grad) {
    for (int n = 0; n < N; n++) {
        const float *xn = x + (size_t)n * C * S;
        float *gn = grad + (size_t)n * C * S;
#pragma omp parallel for schedule(static)
        for (int b = 0; b < S; b += W)
            for (int c = 0; c < C; c++)
                for (int j = 0; j < W; j++) gn[(size_t)c * S + b + j] = xn[(size_t)c * S + b + j] * 0.5f;
#pragma omp parallel for schedule(static)
        for (int b = 0; b < S; b += W)
            for (int c = 0; c < C; c++)
                for (int j = 0; j < W; j++) gn[(size_t)c * S + b + j] = gn[(size_t)c * S + b + j] * 0.5f + 0.25f;
    }
}

int main(int argc, char **argv) {
    (void)argc;
    omp_passive(argv);
    const size_t elems = (size_t)N * C * S, bytes = elems * sizeof(float);
    float *x = malloc(bytes), *grad = malloc(bytes), *grad2 = malloc(bytes), *copy = malloc(bytes);
    int64_t *t = malloc((size_t)N * S * sizeof(int64_t));
    if (!x || !grad || !grad2 || !copy || !t) return 1;
    unsigned long long r = 42;
    for (size_t i = 0; i < elems; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((r >> 40) * (1.0 / (1 << 24)) * 8.0 - 4.0);
    }
    for (size_t i = 0; i < (size_t)N * S; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        t[i] = (int64_t)((r >> 33) % C);
    }
    memset(grad, 0, bytes);
    memset(grad2, 0, bytes);
    memset(copy, 0, bytes);

    /* Memory bound: best read (sum) and memcpy times over the logits. */
    double t_read = 1e9, t_copy = 1e9;
    for (int k = 0; k < REPS; k++) {
        double t0 = now();
        float acc[8] = {0};
        for (size_t i = 0; i < elems; i += 8)
            for (int j = 0; j < 8; j++) acc[j] += x[i + j];
        sink = acc[0] + acc[7];
        double t1 = now();
        memcpy(copy, x, bytes);
        double t2 = now();
        if (t1 - t0 < t_read) t_read = t1 - t0;
        if (t2 - t1 < t_copy) t_copy = t2 - t1;
    }
    double bound = t_read + t_copy; /* pass 1 reads the logits; pass 2 reads them and writes grad */
    printf("shape [%d, %d, %d] f32 NCS, index targets, softmax, gradient on; %zu logits\n", N, C, S, elems);
    printf("memory (1 thread): read %.1f GB/s, memcpy %.1f GB/s; two-pass bound %.2f ms = %.3f ns/logit\n",
           bytes / t_read * 1e-9, 2.0 * bytes / t_copy * 1e-9, bound * 1e3, bound / elems * 1e9);
    printf("lossfn threads (default): %zu\n\n", lossfn_get_num_threads());

    const char *names[2] = {"dice", "tversky"};
    for (int which = 0; which < 2; which++) {
        lossfn_overlap_options o = lossfn_overlap_options_default();
        lossfn_shape shape = {N, C, S, LOSSFN_LAYOUT_NCS};
        float loss = 0.0f, loss_ref = 0.0f;
        double best[2] = {1e9, 1e9}, best_scalar = 1e9;
        for (int threads = 0; threads < 2; threads++) {
            lossfn_set_num_threads(threads == 0 ? 0 : 1);
            for (int k = 0; k < REPS; k++) {
                double t0 = now();
                lossfn_status st = which ? lossfn_tversky_loss_f32(x, t, NULL, shape, &o, &loss, grad)
                                         : lossfn_dice_loss_f32(x, t, NULL, shape, &o, &loss, grad);
                double t1 = now();
                if (st != LOSSFN_OK) {
                    fprintf(stderr, "lossfn failed: %s\n", lossfn_status_name(st));
                    return 1;
                }
                if (t1 - t0 < best[threads]) best[threads] = t1 - t0;
            }
        }
        lossfn_set_num_threads(0);
        for (int k = 0; k < 3; k++) {
            double t0 = now();
            loss_ref = scalar_loss(which, x, t, grad2);
            double t1 = now();
            if (t1 - t0 < best_scalar) best_scalar = t1 - t0;
        }
        double maxdiff = 0.0;
        for (size_t i = 0; i < elems; i++) {
            double d = fabs((double)grad[i] - grad2[i]);
            if (d > maxdiff) maxdiff = d;
        }
        printf("%-8s loss %.6f (scalar loop %.6f, max |grad diff| %.2e)\n", names[which], loss, loss_ref, maxdiff);
        printf("  lossfn default threads %8.2f ms  %6.3f ns/logit\n", best[0] * 1e3, best[0] / elems * 1e9);
        printf("  lossfn 1 thread        %8.2f ms  %6.3f ns/logit\n", best[1] * 1e3, best[1] / elems * 1e9);
        printf("  C loop (%d threads)     %8.2f ms  %6.3f ns/logit\n", omp_get_max_threads(), best_scalar * 1e3, best_scalar / elems * 1e9);
        printf("  ratio C loop/lossfn: %.1fx (default threads), %.1fx (1 thread)\n", best_scalar / best[0], best_scalar / best[1]);
        printf("  ratio lossfn/two-pass memory bound: %.2fx (default threads), %.2fx (1 thread)\n\n", best[0] / bound, best[1] / bound);
    }

    /* Where the time goes: lossfn's arithmetic alone (a cache-resident slice, 1 thread) and the
       access pattern of its passes alone (C, 1 and default threads). */
    {
        const int slice = 4096, reps = 400;
        lossfn_overlap_options o = lossfn_overlap_options_default();
        lossfn_shape shape = {1, C, slice, LOSSFN_LAYOUT_NCS};
        float loss = 0.0f;
        double hot = 1e9, pattern[2] = {1e9, 1e9};
        lossfn_set_num_threads(1);
        for (int k = 0; k < REPS; k++) {
            double t0 = now();
            for (int r2 = 0; r2 < reps; r2++) lossfn_dice_loss_f32(x, t, NULL, shape, &o, &loss, grad);
            double t1 = now();
            if ((t1 - t0) / reps < hot) hot = (t1 - t0) / reps;
        }
        lossfn_set_num_threads(0);
        const int team = omp_get_max_threads();
        for (int threads = 0; threads < 2; threads++) {
            omp_set_num_threads(threads ? 1 : team);
            for (int k = 0; k < REPS; k++) {
                double t0 = now();
                access_pattern(x, grad);
                double t1 = now();
                if (t1 - t0 < pattern[threads]) pattern[threads] = t1 - t0;
            }
        }
        omp_set_num_threads(team);
        const double per = (double)C * slice;
        printf("where Dice's time goes (ns/logit): its arithmetic alone, [1, %d, %d] in cache, 1 thread: %.3f\n", C, slice, hot / per * 1e9);
        printf("  its passes' memory access pattern alone (C, blocks of %d positions): %.3f (%d threads), %.3f (1 thread)\n",
               W, pattern[0] / elems * 1e9, team, pattern[1] / elems * 1e9);
        printf("  two-pass memory bound: %.3f\n\n", bound / elems * 1e9);
    }

    /* The two-phase batch Dice across ranks (docs/distributed.md) on one rank: phase 1 (the
       statistics) + phase 2 (loss and gradient from them) against the one-call batch Dice. */
    {
        lossfn_overlap_options o = lossfn_overlap_options_default();
        o.batch = true;
        lossfn_shape shape = {N, C, S, LOSSFN_LAYOUT_NCS};
        double stats[3 * C];
        float loss1 = 0.0f, loss2 = 0.0f;
        double one[2] = {1e9, 1e9}, two[2] = {1e9, 1e9}, p1[2] = {1e9, 1e9};
        for (int threads = 0; threads < 2; threads++) {
            lossfn_set_num_threads(threads == 0 ? 0 : 1);
            for (int k = 0; k < REPS; k++) {
                double t0 = now();
                lossfn_status st = lossfn_dice_loss_f32(x, t, NULL, shape, &o, &loss1, grad);
                double t1 = now();
                st |= lossfn_overlap_stats_f32(LOSSFN_OVERLAP_DICE, x, t, shape, &o, stats, 3 * C);
                double t2 = now();
                st |= lossfn_overlap_loss_from_stats_f32(LOSSFN_OVERLAP_DICE, x, t, NULL, shape, &o, stats, 3 * C, &loss2, grad2);
                double t3 = now();
                if (st != LOSSFN_OK) {
                    fprintf(stderr, "batch Dice failed\n");
                    return 1;
                }
                if (t1 - t0 < one[threads]) one[threads] = t1 - t0;
                if (t3 - t1 < two[threads]) two[threads] = t3 - t1;
                if (t2 - t1 < p1[threads]) p1[threads] = t2 - t1;
            }
        }
        lossfn_set_num_threads(0);
        int same = loss1 == loss2 && memcmp(grad, grad2, bytes) == 0;
        printf("batch dice (batch = true), one rank: phase 1 + phase 2 %s the one-call loss bit for bit\n", same ? "equals" : "DIFFERS FROM");
        for (int threads = 0; threads < 2; threads++)
            printf("  %-16s one call %8.2f ms; phase 1 %8.2f ms + phase 2 %8.2f ms = %8.2f ms: %.2fx the one call\n",
                   threads ? "1 thread" : "default threads", one[threads] * 1e3, p1[threads] * 1e3,
                   (two[threads] - p1[threads]) * 1e3, two[threads] * 1e3, two[threads] / one[threads]);
        printf("\n");
    }
    free(x);
    free(grad);
    free(grad2);
    free(copy);
    free(t);
    return 0;
}
