/* Classification benchmark: f32, loss + gradient, default options, default threads.
 * Prints ns per element (logit) for lossfn and for the plain scalar C loop a user would write
 * (one fused pass per position with expf/logf, single thread), and the speed-up.
 * Build: cmake target bench_classification, or
 *   cargo build --release && gcc -O2 -std=c99 -Iinclude benches/bench_classification.c \
 *     -Ltarget/release -llossfn -lm -o /tmp/bench_classification && \
 *   LD_LIBRARY_PATH=target/release /tmp/bench_classification */
#define _POSIX_C_SOURCE 200809L
#include <lossfn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 9

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float frand(void) { return (float)rand() / (float)RAND_MAX; }

/* ---- the plain C loops (MEAN reductions as lossfn's defaults) ---- */

/* Cross entropy, [N, C] rows. */
static float c_ce_rows(const float *x, const int64_t *y, size_t n, size_t c, float *g) {
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        const float *z = x + i * c;
        float *gr = g + i * c, m = z[0], s = 0;
        for (size_t k = 1; k < c; k++) m = z[k] > m ? z[k] : m;
        for (size_t k = 0; k < c; k++) { gr[k] = expf(z[k] - m); s += gr[k]; }
        acc += logf(s) - (z[y[i]] - m);
        for (size_t k = 0; k < c; k++) gr[k] = gr[k] / s * inv;
        gr[y[i]] -= inv;
    }
    return (float)(acc / n);
}

/* Cross entropy, NCHW: the class axis is strided by `sp`. */
static float c_ce_ncs(const float *x, const int64_t *y, size_t nb, size_t c, size_t sp, float *g) {
    double acc = 0;
    float inv = 1.0f / (float)(nb * sp);
    for (size_t b = 0; b < nb; b++)
        for (size_t j = 0; j < sp; j++) {
            const float *z = x + b * c * sp + j;
            float *gr = g + b * c * sp + j, m = z[0], s = 0;
            int64_t t = y[b * sp + j];
            for (size_t k = 1; k < c; k++) m = z[k * sp] > m ? z[k * sp] : m;
            for (size_t k = 0; k < c; k++) { gr[k * sp] = expf(z[k * sp] - m); s += gr[k * sp]; }
            acc += logf(s) - (z[t * sp] - m);
            for (size_t k = 0; k < c; k++) gr[k * sp] = gr[k * sp] / s * inv;
            gr[t * sp] -= inv;
        }
    return (float)(acc / (nb * sp));
}

static float c_bce(const float *x, const float *t, size_t n, float *g) {
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float e = expf(-fabsf(x[i])), sp = fmaxf(-x[i], 0.0f) + log1pf(e);
        float p = x[i] >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        acc += (1.0f - t[i]) * x[i] + sp;
        g[i] = (p - t[i]) * inv;
    }
    return (float)(acc / n);
}

static float c_sigmoid_focal(const float *x, const float *t, size_t n, float *g) {
    const float alpha = 0.25f;
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        float e = expf(-fabsf(x[i])), p = x[i] >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        float ce = (1.0f - t[i]) * x[i] + fmaxf(-x[i], 0.0f) + log1pf(e);
        float b = p * (1.0f - t[i]) + (1.0f - p) * t[i], at = alpha * t[i] + (1 - alpha) * (1 - t[i]);
        acc += at * ce * b * b;
        g[i] = at * ((p - t[i]) * b * b + ce * 2.0f * b * p * (1.0f - p) * (1.0f - 2.0f * t[i])) * inv;
    }
    return (float)(acc / n);
}

static float c_softmax_focal(const float *x, const int64_t *y, size_t n, size_t c, float *g) {
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        const float *z = x + i * c;
        float *gr = g + i * c, m = z[0], s = 0;
        for (size_t k = 1; k < c; k++) m = z[k] > m ? z[k] : m;
        for (size_t k = 0; k < c; k++) { gr[k] = expf(z[k] - m); s += gr[k]; }
        float lq = (z[y[i]] - m) - logf(s), q = expf(lq), u = 1.0f - q;
        acc += -u * u * lq;
        float f = u * u - 2.0f * u * q * lq;
        for (size_t k = 0; k < c; k++) gr[k] = gr[k] / s * f * inv;
        gr[y[i]] -= f * inv;
    }
    return (float)(acc / n);
}

static float c_entropy(const float *x, size_t n, size_t c, float *g) {
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        const float *z = x + i * c;
        float *gr = g + i * c, m = z[0], s = 0, h = 0;
        for (size_t k = 1; k < c; k++) m = z[k] > m ? z[k] : m;
        for (size_t k = 0; k < c; k++) { gr[k] = expf(z[k] - m); s += gr[k]; }
        float ls = logf(s);
        for (size_t k = 0; k < c; k++) h -= gr[k] / s * (z[k] - m - ls);
        acc += h;
        for (size_t k = 0; k < c; k++) gr[k] = -gr[k] / s * (z[k] - m - ls + h) * inv;
    }
    return (float)(acc / n);
}

static float c_distill(const float *xs, const float *xt, size_t n, size_t c, float temp, float *g, float *q) {
    double acc = 0;
    float inv = 1.0f / (float)n;
    for (size_t i = 0; i < n; i++) {
        const float *a = xs + i * c, *b = xt + i * c;
        float *gr = g + i * c, ma = a[0], mb = b[0], sa = 0, sb = 0, kl = 0;
        for (size_t k = 1; k < c; k++) { ma = a[k] > ma ? a[k] : ma; mb = b[k] > mb ? b[k] : mb; }
        for (size_t k = 0; k < c; k++) {
            gr[k] = expf((a[k] - ma) / temp); sa += gr[k];
            q[k] = expf((b[k] - mb) / temp); sb += q[k];
        }
        float lsa = logf(sa), lsb = logf(sb);
        for (size_t k = 0; k < c; k++) kl += q[k] / sb * (((b[k] - mb) / temp - lsb) - ((a[k] - ma) / temp - lsa));
        acc += temp * temp * kl;
        for (size_t k = 0; k < c; k++) gr[k] = temp * (gr[k] / sa - q[k] / sb) * inv;
    }
    return (float)(acc / n);
}

/* ---- driver ---- */

enum { CE_NSC, CE_NCS, BCE, SIGMOID_FOCAL, SOFTMAX_FOCAL, ENTROPY, DISTILL, COUNT };

int main(void) {
    const size_t n = 65536, c = 80, nb = 8, c2 = 21, sp = 256 * 256;
    size_t big = n * c > nb * c2 * sp ? n * c : nb * c2 * sp;
    float *x = malloc(big * sizeof(float)), *t = malloc(big * sizeof(float));
    float *teacher = malloc(n * c * sizeof(float)), *g = malloc(big * sizeof(float)), q[80];
    int64_t *y = malloc(nb * sp * sizeof(int64_t));
    srand(1);
    for (size_t i = 0; i < big; i++) { x[i] = frand() * 8 - 4; t[i] = frand() < 0.1f ? 1.0f : 0.0f; }
    for (size_t i = 0; i < n * c; i++) teacher[i] = frand() * 8 - 4;
    for (size_t i = 0; i < nb * sp; i++) y[i] = rand() % 21;
    memset(g, 0, big * sizeof(float));

    lossfn_shape rows = {n, c, 1, LOSSFN_LAYOUT_NSC}, ncs = {nb, c2, sp, LOSSFN_LAYOUT_NCS};
    lossfn_distillation_options kd = lossfn_distillation_options_default();
    kd.reduction = LOSSFN_REDUCTION_MEAN; /* same normalisation as the C loop */
    kd.temperature = 4.0;
    const char *names[COUNT] = {"cross_entropy [65536,80] NSC", "cross_entropy [8,21,256*256] NCS",
                                "bce_with_logits [65536,80]",   "sigmoid_focal_loss [65536,80]",
                                "softmax_focal_loss [65536,80]", "entropy [65536,80]",
                                "kl_div_logits T=4 [65536,80]"};
    printf("lossfn %s, %zu threads, f32, loss + gradient (C loop: 1 thread)\n", lossfn_version_string(),
           lossfn_get_num_threads());
    printf("%-34s %10s %10s %10s %10s\n", "loss", "lossfn ms", "ns/elem", "C ns/elem", "vs C loop");
    for (int k = 0; k < COUNT; k++) {
        size_t elems = k == CE_NCS ? nb * c2 * sp : n * c;
        double best = 1e9, best_c = 1e9;
        float loss = 0, loss_c = 0;
        for (int r = 0; r < REPS; r++) {
            lossfn_status st = LOSSFN_OK;
            double t0 = now();
            switch (k) {
            case CE_NSC: st = lossfn_cross_entropy_f32(x, y, NULL, rows, NULL, &loss, g); break;
            case CE_NCS: st = lossfn_cross_entropy_f32(x, y, NULL, ncs, NULL, &loss, g); break;
            case BCE: st = lossfn_bce_with_logits_f32(x, t, NULL, NULL, rows, NULL, &loss, g); break;
            case SIGMOID_FOCAL: st = lossfn_sigmoid_focal_loss_f32(x, t, NULL, rows, NULL, &loss, g); break;
            case SOFTMAX_FOCAL: st = lossfn_softmax_focal_loss_f32(x, y, NULL, rows, NULL, &loss, g); break;
            case ENTROPY: st = lossfn_entropy_f32(x, rows, NULL, &loss, g); break;
            default: st = lossfn_kl_div_logits_f32(x, teacher, rows, &kd, &loss, g); break;
            }
            double dt = now() - t0;
            if (st != LOSSFN_OK) {
                char msg[256];
                lossfn_last_error(msg, sizeof msg);
                fprintf(stderr, "%s: %s\n", names[k], msg);
                return 1;
            }
            if (dt < best) best = dt;
            t0 = now();
            switch (k) {
            case CE_NSC: loss_c = c_ce_rows(x, y, n, c, g); break;
            case CE_NCS: loss_c = c_ce_ncs(x, y, nb, c2, sp, g); break;
            case BCE: loss_c = c_bce(x, t, n * c, g); break;
            case SIGMOID_FOCAL: loss_c = c_sigmoid_focal(x, t, n * c, g); break;
            case SOFTMAX_FOCAL: loss_c = c_softmax_focal(x, y, n, c, g); break;
            case ENTROPY: loss_c = c_entropy(x, n, c, g); break;
            default: loss_c = c_distill(x, teacher, n, c, 4.0f, g, q); break;
            }
            dt = now() - t0;
            if (dt < best_c) best_c = dt;
        }
        if (fabsf(loss - loss_c) > 1e-3f * fabsf(loss_c) + 1e-6f) {
            fprintf(stderr, "%s: lossfn %g vs C loop %g\n", names[k], loss, loss_c);
            return 1;
        }
        double ns = best / elems * 1e9, ns_c = best_c / elems * 1e9;
        printf("%-34s %10.2f %10.3f %10.3f %9.2fx\n", names[k], best * 1e3, ns, ns_c, ns_c / ns);
    }
    free(x);
    free(t);
    free(teacher);
    free(g);
    free(y);
    return 0;
}
