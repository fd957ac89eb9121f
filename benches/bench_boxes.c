/* Box-loss benchmark: lossfn against the memory bound and against the C loops a
 * performance-minded user writes, on 1,000,000 random xyxy boxes in float, MEAN, gradient on.
 *
 *   cargo build --release && gcc -O3 -march=native -ffast-math -fopenmp -std=gnu99 -Iinclude \
 *       benches/bench_boxes.c -Ltarget/release -llossfn -lm -o /tmp/bench_boxes && \
 *       LD_LIBRARY_PATH=target/release /tmp/bench_boxes [n]
 * (or the CMake target bench_boxes, built with the same flags).
 *
 * Per loss and for 1 and 2 threads: the bytes a call must move (48 per box: two boxes read, one
 * gradient written), the bound they give at the copy bandwidth measured by this run on as many
 * threads, lossfn's time and its fraction of that bound, the C loop's time (the same formulas
 * and gradients, auto-vectorised by gcc -O3 -march=native -ffast-math with libmvec's atan2f and
 * sqrtf, spread over the threads by OpenMP) and lossfn's speed-up over it, and the largest
 * gradient difference between the two (a check that both do the same work). Best of 7; OpenMP's
 * idle threads wait passively (omp_passive, c_loop_common.h). Results
 * against torch / torchvision: benches/vs_torch_boxes.py. */
#define _POSIX_C_SOURCE 200809L
#include "lossfn.h"
#include "c_loop_common.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- the hand-written C loops: xyxy boxes, MEAN, gradient dL/dpred ---- */

/* IoU and dIoU/d(x1, y1, x2, y2) of one pair. */
static float iou_grad(const float *p, const float *t, float eps, float *gi, float *inter_out, float *union_out) {
    float w = p[2] - p[0], h = p[3] - p[1];
    float wg = t[2] - t[0], hg = t[3] - t[1];
    float iw = fminf(p[2], t[2]) - fmaxf(p[0], t[0]);
    float ih = fminf(p[3], t[3]) - fmaxf(p[1], t[1]);
    int overlap = iw > 0 && ih > 0;
    float inter = overlap ? iw * ih : 0.0f;
    float uni = w * h + wg * hg - inter;
    float ue = uni + eps;
    float iou = inter / ue;
    /* dIoU/dI = (U + eps + I)/(U + eps)^2, dIoU/dA = -I/(U + eps)^2 */
    float dI = (ue + inter) / (ue * ue), dA = -inter / (ue * ue);
    float dix = overlap ? dI * ih : 0.0f, diy = overlap ? dI * iw : 0.0f;
    gi[0] = -dix * (p[0] > t[0]) - dA * h;
    gi[1] = -diy * (p[1] > t[1]) - dA * w;
    gi[2] = dix * (p[2] < t[2]) + dA * h;
    gi[3] = diy * (p[3] < t[3]) + dA * w;
    *inter_out = inter;
    *union_out = uni;
    return iou;
}

static double c_iou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], inter, uni;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        sum += 1.0f - iou;
        for (int k = 0; k < 4; k++) grad[4 * i + k] = -gi[k] * s;
    }
    return sum / n;
}

static double c_giou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], inter, uni;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        float cw = fmaxf(p[2], t[2]) - fminf(p[0], t[0]);
        float ch = fmaxf(p[3], t[3]) - fminf(p[1], t[1]);
        float c = cw * ch, ce = c + eps;
        sum += 1.0f - iou + (c - uni) / ce;
        float dC = (uni + eps) / (ce * ce), dU = -1.0f / ce;
        float w = p[2] - p[0], h = p[3] - p[1];
        float iw = fminf(p[2], t[2]) - fmaxf(p[0], t[0]);
        float ih = fminf(p[3], t[3]) - fmaxf(p[1], t[1]);
        int overlap = iw > 0 && ih > 0;
        /* U = A + Ag - I */
        float dUx = overlap ? -dU * ih : 0.0f, dUy = overlap ? -dU * iw : 0.0f;
        float g[4];
        g[0] = -gi[0] - dC * ch * (p[0] < t[0]) - dU * h - dUx * (p[0] > t[0]);
        g[1] = -gi[1] - dC * cw * (p[1] < t[1]) - dU * w - dUy * (p[1] > t[1]);
        g[2] = -gi[2] + dC * ch * (p[2] > t[2]) + dU * h + dUx * (p[2] < t[2]);
        g[3] = -gi[3] + dC * cw * (p[3] > t[3]) + dU * w + dUy * (p[3] < t[3]);
        for (int k = 0; k < 4; k++) grad[4 * i + k] = g[k] * s;
    }
    return sum / n;
}

/* rho^2/c^2 and its gradient. */
static float dist_grad(const float *p, const float *t, float eps, float *g, float *cw_out, float *ch_out) {
    float cw = fmaxf(p[2], t[2]) - fminf(p[0], t[0]);
    float ch = fmaxf(p[3], t[3]) - fminf(p[1], t[1]);
    float c2 = cw * cw + ch * ch + eps;
    float dx = 0.5f * (p[0] + p[2]) - 0.5f * (t[0] + t[2]);
    float dy = 0.5f * (p[1] + p[3]) - 0.5f * (t[1] + t[3]);
    float rho2 = dx * dx + dy * dy;
    float dc2 = -rho2 / (c2 * c2);
    g[0] = dx / c2 - 2 * cw * dc2 * (p[0] < t[0]);
    g[1] = dy / c2 - 2 * ch * dc2 * (p[1] < t[1]);
    g[2] = dx / c2 + 2 * cw * dc2 * (p[2] > t[2]);
    g[3] = dy / c2 + 2 * ch * dc2 * (p[3] > t[3]);
    *cw_out = cw;
    *ch_out = ch;
    return rho2 / c2;
}

static double c_diou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], gd[4], inter, uni, cw, ch;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        float d = dist_grad(p, t, eps, gd, &cw, &ch);
        sum += 1.0f - iou + d;
        for (int k = 0; k < 4; k++) grad[4 * i + k] = (gd[k] - gi[k]) * s;
    }
    return sum / n;
}

static double c_ciou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    const float k4 = (float)(4.0 / (3.14159265358979323846 * 3.14159265358979323846));
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], gd[4], inter, uni, cw, ch;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        float d = dist_grad(p, t, eps, gd, &cw, &ch);
        float w = p[2] - p[0], h = p[3] - p[1];
        float delta = atan2f(t[2] - t[0], t[3] - t[1]) - atan2f(w, h);
        float v = k4 * delta * delta;
        float alpha = v / (1.0f - iou + v + eps);
        sum += 1.0f - iou + d + alpha * v;
        float r2 = w * w + h * h;
        float sv = alpha * 2.0f * k4 * delta / (r2 > 0 ? r2 : 1.0f);
        float gw = -sv * h, gh = sv * w;
        grad[4 * i + 0] = (gd[0] - gi[0] - gw) * s;
        grad[4 * i + 1] = (gd[1] - gi[1] - gh) * s;
        grad[4 * i + 2] = (gd[2] - gi[2] + gw) * s;
        grad[4 * i + 3] = (gd[3] - gi[3] + gh) * s;
    }
    return sum / n;
}

static double c_eiou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], gd[4], inter, uni, cw, ch;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        float d = dist_grad(p, t, eps, gd, &cw, &ch);
        float ew = (p[2] - p[0]) - (t[2] - t[0]), eh = (p[3] - p[1]) - (t[3] - t[1]);
        float cw2 = cw * cw + eps, ch2 = ch * ch + eps;
        sum += 1.0f - iou + d + ew * ew / cw2 + eh * eh / ch2;
        float gw = 2 * ew / cw2, gh = 2 * eh / ch2;
        float gcw = -2 * cw * ew * ew / (cw2 * cw2), gch = -2 * ch * eh * eh / (ch2 * ch2);
        grad[4 * i + 0] = (gd[0] - gi[0] - gw - gcw * (p[0] < t[0])) * s;
        grad[4 * i + 1] = (gd[1] - gi[1] - gh - gch * (p[1] < t[1])) * s;
        grad[4 * i + 2] = (gd[2] - gi[2] + gw + gcw * (p[2] > t[2])) * s;
        grad[4 * i + 3] = (gd[3] - gi[3] + gh + gch * (p[3] > t[3])) * s;
    }
    return sum / n;
}

static double c_cdiou(const float *pred, const float *target, size_t n, float eps, float *grad) {
    double sum = 0;
    float s = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < n; i++) {
        const float *p = pred + 4 * i, *t = target + 4 * i;
        float gi[4], inter, uni;
        float iou = iou_grad(p, t, eps, gi, &inter, &uni);
        float cw = fmaxf(p[2], t[2]) - fminf(p[0], t[0]);
        float ch = fmaxf(p[3], t[3]) - fminf(p[1], t[1]);
        float ex1 = p[0] - t[0], ey1 = p[1] - t[1], ex2 = p[2] - t[2], ey2 = p[3] - t[3];
        float d1 = sqrtf(ex1 * ex1 + ey1 * ey1), d2 = sqrtf(ex2 * ex2 + ey1 * ey1);
        float d3 = sqrtf(ex1 * ex1 + ey2 * ey2), d4 = sqrtf(ex2 * ex2 + ey2 * ey2);
        float sd = d1 + d2 + d3 + d4, diag = sqrtf(cw * cw + ch * ch), den = 4 * diag + eps;
        sum += 1.0f - iou + sd / den;
        float gs = 1.0f / den, gdiag = -4 * sd / (den * den);
        float gcw = diag > 0 ? gdiag * cw / diag : 0, gch = diag > 0 ? gdiag * ch / diag : 0;
        float u1 = d1 > 0 ? gs / d1 : 0, u2 = d2 > 0 ? gs / d2 : 0, u3 = d3 > 0 ? gs / d3 : 0, u4 = d4 > 0 ? gs / d4 : 0;
        grad[4 * i + 0] = (-gi[0] - gcw * (p[0] < t[0]) + ex1 * (u1 + u3)) * s;
        grad[4 * i + 1] = (-gi[1] - gch * (p[1] < t[1]) + ey1 * (u1 + u2)) * s;
        grad[4 * i + 2] = (-gi[2] + gcw * (p[2] > t[2]) + ex2 * (u2 + u4)) * s;
        grad[4 * i + 3] = (-gi[3] + gch * (p[3] > t[3]) + ey2 * (u3 + u4)) * s;
    }
    return sum / n;
}

/* ---- driver ---- */

typedef lossfn_status (*lossfn_fn)(const float *, const float *, const float *, size_t, const lossfn_box_options *, float *, float *);
typedef double (*c_fn)(const float *, const float *, size_t, float, float *);

static unsigned long long rng_state = 0x243F6A8885A308D3ull;
static float uniform(float lo, float hi) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng_state >> 40) / (double)(1ull << 24));
}

#define REPS 7

static void set_threads(int t) {
    lossfn_set_num_threads((size_t)t);
#ifdef _OPENMP
    omp_set_num_threads(t);
#endif
}

int main(int argc, char **argv) {
    omp_passive(argv);
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000;
    float *pred = malloc(4 * n * sizeof(float)), *target = malloc(4 * n * sizeof(float));
    float *g1 = malloc(4 * n * sizeof(float)), *g2 = malloc(4 * n * sizeof(float));
    if (!pred || !target || !g1 || !g2) return 1;
    for (size_t i = 0; i < n; i++) {
        float cx = uniform(0, 600), cy = uniform(0, 600), w = uniform(10, 200), h = uniform(10, 200);
        float *t = target + 4 * i, *p = pred + 4 * i;
        t[0] = cx - w / 2; t[1] = cy - h / 2; t[2] = cx + w / 2; t[3] = cy + h / 2;
        float pcx = cx + uniform(-0.5f, 0.5f) * w, pcy = cy + uniform(-0.5f, 0.5f) * h;
        float pw = w * uniform(0.5f, 1.6f), ph = h * uniform(0.5f, 1.6f);
        p[0] = pcx - pw / 2; p[1] = pcy - ph / 2; p[2] = pcx + pw / 2; p[3] = pcy + ph / 2;
    }
    memset(g1, 0, 4 * n * sizeof(float));
    memset(g2, 0, 4 * n * sizeof(float));
    struct { const char *name; lossfn_fn f; c_fn c; } losses[] = {
        {"iou", lossfn_iou_loss_f32, c_iou},       {"giou", lossfn_giou_loss_f32, c_giou},
        {"diou", lossfn_diou_loss_f32, c_diou},    {"ciou", lossfn_ciou_loss_f32, c_ciou},
        {"eiou", lossfn_eiou_loss_f32, c_eiou},    {"cdiou", lossfn_cdiou_loss_f32, c_cdiou},
    };
    lossfn_box_options o = lossfn_box_options_default();
    double bytes = 48.0 * n, bw[3];
    for (int t = 1; t <= 2; t++) set_threads(t), bw[t] = copy_bw();
    printf("%zu boxes (xyxy, f32, MEAN, gradient on), %.0f MB moved per call; best of %d\n", n, bytes / 1e6, REPS);
    printf("copy bandwidth (256 MB, read + write): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", bw[1] / 1e9, bw[2] / 1e9);
    printf("%-6s %3s %9s %10s %9s %10s %9s %12s\n", "loss", "thr", "bound ms", "lossfn ms", "of bound", "C loop ms",
           "C/lossfn", "rel |dgrad|");
    for (size_t l = 0; l < sizeof losses / sizeof losses[0]; l++) {
        for (int th = 1; th <= 2; th++) {
            set_threads(th);
            double best = 1e30, bestc = 1e30;
            float loss = 0;
            double closs = 0;
            for (int r = 0; r < REPS; r++) {
                double t0 = now();
                if (losses[l].f(pred, target, NULL, n, &o, &loss, g1) != LOSSFN_OK) return 2;
                double t1 = now();
                closs = losses[l].c(pred, target, n, 1e-7f, g2);
                double t2 = now();
                if (t1 - t0 < best) best = t1 - t0;
                if (t2 - t1 < bestc) bestc = t2 - t1;
            }
            /* Same gradient? Skip boxes with an exact coordinate tie with their target, where
               lossfn splits the subgradient evenly and the C loop gives it to one side. */
            double dmax = 0, gmax = 0;
            for (size_t i = 0; i < n; i++) {
                int tie = 0;
                for (int k = 0; k < 4; k++) tie |= pred[4 * i + k] == target[4 * i + k];
                for (int k = 0; k < 4 && !tie; k++) {
                    double d = fabs((double)g1[4 * i + k] - g2[4 * i + k]);
                    if (d > dmax) dmax = d;
                    if (fabs(g1[4 * i + k]) > gmax) gmax = fabs(g1[4 * i + k]);
                }
            }
            double bound = bytes / bw[th];
            printf("%-6s %3d %9.3f %10.3f %8.0f%% %10.3f %8.1fx %12.1e   (loss %.6f vs %.6f)\n", losses[l].name, th,
                   1e3 * bound, 1e3 * best, 100 * bound / best, 1e3 * bestc, bestc / best, dmax / gmax, loss, closs);
        }
    }
    lossfn_set_num_threads(0);
    free(pred); free(target); free(g1); free(g2);
    return 0;
}
