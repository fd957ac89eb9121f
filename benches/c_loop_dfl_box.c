/* The YOLOv8/11 box branch (ultralytics bbox_decode + BboxLoss: CIoU as bbox_iou, DFLoss) and DFL
 * alone, loss + gradient, as a performance-minded C user writes them: one loop over the anchors
 * that OpenMP spreads over the threads, the 16-bin rows in inner loops gcc auto-vectorises
 * (-O3 -march=native -ffast-math: libmvec expf/logf), the CIoU gradient derived by hand
 * (alpha a constant, as ultralytics' no_grad); f32, MEAN over the anchors' weights.
 *
 *   gcc -O3 -march=native -ffast-math -fopenmp benches/c_loop_dfl_box.c -o /tmp/c_loop_dfl_box -lm
 *   OMP_NUM_THREADS=2 /tmp/c_loop_dfl_box <inputs-file> <n> <bins>
 *
 * The inputs file holds f32 logits (n*4*bins), anchors (n*2), target (n*4), weight (n).
 * benches/vs_ultralytics_dfl_box.py writes it, runs this, and compares loss and gradient with
 * lossfn's. Prints "copy_gbs <GB/s>" (copy bandwidth of a 256 MB buffer, read + write, on the
 * same threads), "box_ms <best ms> loss <L_iou> <L_dfl>" and "dfl_ms <best ms> loss <L_dfl>"
 * (DFL alone on the same logits and bbox2dist targets), and writes the gradients to
 * /tmp/c_loop_dfl_box.grad. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_loop_common.h"

#define EPS 1e-7f
#define MAXBINS 64

/* Softmax of one row into p, returns log-sum-exp. */
static inline float softmax_row(const float *z, float *p, int bins) {
    float m = z[0];
    for (int j = 1; j < bins; j++) m = z[j] > m ? z[j] : m;
    float s = 0;
    for (int j = 0; j < bins; j++) {
        p[j] = expf(z[j] - m);
        s += p[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < bins; j++) p[j] *= inv;
    return m + logf(s);
}

/* Two-hot DFL target of distance t: left bin, its weight. */
static inline int two_hot(float t, int bins, float *wl) {
    float hi = (float)bins - 1.01f;
    t = t < 0 ? 0 : (t > hi ? hi : t);
    int tl = (int)t;
    *wl = (float)(tl + 1) - t;
    return tl;
}

static void box_branch(const float *z, const float *anc, const float *tg, const float *w, long n, int bins, float *g,
                       double *l_iou, double *l_dfl) {
    double den = 0;
    for (long i = 0; i < n; i++) den += w[i];
    const float s = (float)(1.0 / den), k = 4.0f / (float)(M_PI * M_PI);
    double LI = 0, LD = 0;
#pragma omp parallel for schedule(static) reduction(+ : LI, LD)
    for (long i = 0; i < n; i++) {
        float p[4][MAXBINS], d[4], lse[4];
        const float *zi = z + i * 4 * bins;
        const float ax = anc[2 * i], ay = anc[2 * i + 1];
        const float X1 = tg[4 * i], Y1 = tg[4 * i + 1], X2 = tg[4 * i + 2], Y2 = tg[4 * i + 3];
        for (int kk = 0; kk < 4; kk++) {
            lse[kk] = softmax_row(zi + kk * bins, p[kk], bins);
            float e = 0;
            for (int j = 0; j < bins; j++) e += p[kk][j] * (float)j;
            d[kk] = e;
        }
        const float x1 = ax - d[0], y1 = ay - d[1], x2 = ax + d[2], y2 = ay + d[3];
        /* CIoU as ultralytics bbox_iou(xywh=False, CIoU=True) */
        const float w1 = x2 - x1, h1 = y2 - y1 + EPS, w2 = X2 - X1, h2 = Y2 - Y1 + EPS;
        const float iw = fminf(x2, X2) - fmaxf(x1, X1), ih = fminf(y2, Y2) - fmaxf(y1, Y1);
        const float iwc = iw > 0 ? iw : 0, ihc = ih > 0 ? ih : 0, inter = iwc * ihc;
        const float uni = w1 * h1 + w2 * h2 - inter + EPS, iou = inter / uni;
        const float cw = fmaxf(x2, X2) - fminf(x1, X1), ch = fmaxf(y2, Y2) - fminf(y1, Y1);
        const float c2 = cw * cw + ch * ch + EPS;
        const float dx = X1 + X2 - x1 - x2, dy = Y1 + Y2 - y1 - y2, rho2 = (dx * dx + dy * dy) * 0.25f;
        const float da = atanf(w2 / h2) - atanf(w1 / h1), v = k * da * da;
        const float alpha = v / (v - iou + (1 + EPS));
        const float li = 1 - iou + rho2 / c2 + alpha * v;
        /* its corner gradient */
        const float g_inter = -(1 / uni + inter / (uni * uni)), g_union_wh = inter / (uni * uni);
        const float g_iw = g_inter * ihc * (iw > 0), g_ih = g_inter * iwc * (ih > 0);
        const float g_c2 = -rho2 / (c2 * c2), g_cw = g_c2 * 2 * cw, g_ch = g_c2 * 2 * ch;
        const float r2 = w1 * w1 + h1 * h1, cv = alpha * 2 * k * da;
        const float g_w1 = g_union_wh * h1 - cv * h1 / r2, g_h1 = g_union_wh * w1 + cv * w1 / r2;
        const float g_dx = -dx * 0.5f / c2, g_dy = -dy * 0.5f / c2; /* d(rho2/c2)/dx1 = d/dx2 */
        float gc[4];
        gc[0] = -g_w1 - g_iw * (x1 > X1) - g_cw * (x1 < X1) + g_dx;
        gc[1] = -g_h1 - g_ih * (y1 > Y1) - g_ch * (y1 < Y1) + g_dy;
        gc[2] = g_w1 + g_iw * (x2 < X2) + g_cw * (x2 > X2) + g_dx;
        gc[3] = g_h1 + g_ih * (y2 < Y2) + g_ch * (y2 > Y2) + g_dy;
        /* DFL on the same rows, bbox2dist targets */
        const float td[4] = {ax - X1, ay - Y1, X2 - ax, Y2 - ay};
        const float wi = w[i] * s, cd = 0.25f * wi;
        float ld = 0;
        for (int kk = 0; kk < 4; kk++) {
            float wl;
            const int tl = two_hot(td[kk], bins, &wl);
            const float *zr = zi + kk * bins;
            ld += wl * (lse[kk] - zr[tl]) + (1 - wl) * (lse[kk] - zr[tl + 1]);
            const float gd = (kk < 2 ? -gc[kk] : gc[kk]) * wi, dk = d[kk];
            float *gr = g + i * 4 * bins + kk * bins;
            for (int j = 0; j < bins; j++) gr[j] = p[kk][j] * (gd * ((float)j - dk) + cd);
            gr[tl] -= cd * wl;
            gr[tl + 1] -= cd * (1 - wl);
        }
        LI += w[i] * li;
        LD += w[i] * 0.25f * ld;
    }
    *l_iou = LI / den;
    *l_dfl = LD / den;
}

static double dfl_alone(const float *z, const float *t, long rows, int bins, float *g) {
    const float s = 1.0f / (float)(rows / 4), c = 0.25f * s;
    double L = 0;
#pragma omp parallel for schedule(static) reduction(+ : L)
    for (long r = 0; r < rows; r++) {
        float p[MAXBINS], wl;
        const float *zr = z + r * bins;
        const float lse = softmax_row(zr, p, bins);
        const int tl = two_hot(t[r], bins, &wl);
        L += 0.25f * (wl * (lse - zr[tl]) + (1 - wl) * (lse - zr[tl + 1]));
        float *gr = g + r * bins;
        for (int j = 0; j < bins; j++) gr[j] = c * p[j];
        gr[tl] -= c * wl;
        gr[tl + 1] -= c * (1 - wl);
    }
    return L * s;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s inputs.f32 n bins\n", argv[0]);
        return 2;
    }
    const long n = atol(argv[2]);
    const int bins = atoi(argv[3]);
    if (bins < 2 || bins > MAXBINS) return 2;
    printf("copy_gbs %.3f\n", copy_bw() / 1e9);
    const long len = n * 4 * bins;
    float *z = malloc(sizeof(float) * len), *anc = malloc(sizeof(float) * 2 * n), *tg = malloc(sizeof(float) * 4 * n);
    float *w = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * len), *td = malloc(sizeof(float) * 4 * n);
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(z, sizeof(float), len, f) != (size_t)len || fread(anc, sizeof(float), 2 * n, f) != (size_t)(2 * n) ||
        fread(tg, sizeof(float), 4 * n, f) != (size_t)(4 * n) || fread(w, sizeof(float), n, f) != (size_t)n) {
        fprintf(stderr, "cannot read the inputs of %ld anchors from %s\n", n, argv[1]);
        return 1;
    }
    fclose(f);
    double best = 1e9, li = 0, ld = 0;
    for (int r = 0; r < 15; r++) {
        double t0 = now();
        box_branch(z, anc, tg, w, n, bins, g, &li, &ld);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("box_ms %.4f loss %.9g %.9g\n", best * 1e3, li, ld);
    FILE *gf = fopen("/tmp/c_loop_dfl_box.grad", "wb");
    fwrite(g, sizeof(float), len, gf);
    fclose(gf);
    for (long i = 0; i < n; i++) {
        const float ax = anc[2 * i], ay = anc[2 * i + 1];
        td[4 * i] = ax - tg[4 * i], td[4 * i + 1] = ay - tg[4 * i + 1];
        td[4 * i + 2] = tg[4 * i + 2] - ax, td[4 * i + 3] = tg[4 * i + 3] - ay;
    }
    best = 1e9;
    double L = 0;
    for (int r = 0; r < 15; r++) {
        double t0 = now();
        L = dfl_alone(z, td, 4 * n, bins, g);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("dfl_ms %.4f loss %.9g\n", best * 1e3, L);
    return 0;
}
