/* ProbIoU loss + gradient as a performance-minded C user writes it (ultralytics' formula, floor
 * 0.01 as its RotatedBboxLoss, the gradient derived by hand): one plain loop over the boxes that
 * gcc auto-vectorises (-O3 -march=native -ffast-math: libmvec sinf/cosf/expf/logf) and OpenMP
 * spreads over the threads; f32, MEAN. And the pairwise matrix (batch_probiou, no gradient).
 *
 *   gcc -O3 -march=native -ffast-math -fopenmp benches/c_loop_probiou.c -o /tmp/c_loop_probiou -lm
 *   OMP_NUM_THREADS=2 /tmp/c_loop_probiou <boxes-file> [n] [matrix n]
 *
 * benches/vs_ultralytics_probiou.py writes the boxes, runs it, and compares its loss and gradient
 * with lossfn's. Prints "copy_gbs <GB/s>" (copy bandwidth of a 256 MB buffer, read + write, on
 * the same threads), "loss_ms <best ms> loss <value>" and "matrix_ms <best ms> sum <value>". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "c_loop_common.h"

#define EPS 1e-7f
#define FLOOR 0.01f

static double probiou_loss(const float *p, const float *t, float *g, long n) {
    double L = 0;
    const float inv_n = 1.0f / (float)n;
#pragma omp parallel for schedule(static) reduction(+ : L)
    for (long i = 0; i < n; i++) {
        const float *a = p + 5 * i, *b = t + 5 * i;
        float A1 = a[2] * a[2] / 12 + FLOOR, B1 = a[3] * a[3] / 12 + FLOOR;
        float A2 = b[2] * b[2] / 12 + FLOOR, B2 = b[3] * b[3] / 12 + FLOOR;
        float s1 = sinf(a[4]), c1 = cosf(a[4]), s2 = sinf(b[4]), c2 = cosf(b[4]);
        float a1 = A1 * c1 * c1 + B1 * s1 * s1, b1 = A1 * s1 * s1 + B1 * c1 * c1, k1 = (A1 - B1) * c1 * s1;
        float a2 = A2 * c2 * c2 + B2 * s2 * s2, b2 = A2 * s2 * s2 + B2 * c2 * c2, k2 = (A2 - B2) * c2 * s2;
        float sa = a1 + a2, sb = b1 + b2, sc = k1 + k2;
        float D = fmaxf(sa * sb - sc * sc, 0.0f), De = D + EPS;
        float dx = a[0] - b[0], dy = a[1] - b[1];
        float t12 = (0.25f * (sa * dy * dy + sb * dx * dx) - 0.5f * sc * dx * dy) / De;
        float d1 = A1 * B1, d2 = A2 * B2, r = 4 * sqrtf(d1 * d2) + EPS, q = D / r + EPS;
        float raw = t12 + 0.5f * logf(q);
        float bd = fminf(fmaxf(raw, EPS), 100.0f);
        float e = expf(-bd), hd = sqrtf(1.0f - e + EPS);
        L += hd;
        float gg = (raw >= EPS && raw <= 100.0f) ? inv_n * e / (2 * hd) : 0.0f;
        float t3d = 0.5f / (q * r), gD = D > 0 ? t3d - t12 / De : 0.0f;
        float gsa = 0.25f * dy * dy / De + gD * sb, gsb = 0.25f * dx * dx / De + gD * sa;
        float gsc = -0.5f * dx * dy / De - 2 * gD * sc;
        float gr = -t3d * D / r, rs = d1 > 0 ? 2 * sqrtf(d2) / sqrtf(d1) : 0.0f;
        float gA = gsa * c1 * c1 + gsb * s1 * s1 + gsc * c1 * s1 + gr * rs * B1;
        float gB = gsa * s1 * s1 + gsb * c1 * c1 - gsc * c1 * s1 + gr * rs * A1;
        float *o = g + 5 * i;
        o[0] = gg * 0.5f * (sb * dx - sc * dy) / De;
        o[1] = gg * 0.5f * (sa * dy - sc * dx) / De;
        o[2] = gg * gA * a[2] / 6;
        o[3] = gg * gB * a[3] / 6;
        o[4] = gg * (A1 - B1) * ((gsb - gsa) * 2 * c1 * s1 + gsc * (c1 * c1 - s1 * s1));
    }
    return L / n;
}

/* batch_probiou: out[i*m + j], covariance per box first. */
static double probiou_matrix(const float *b1, long n, const float *b2, long m, float *out) {
    float *cv = malloc(sizeof(float) * 6 * (n + m));
    const float *src[2] = {b1, b2};
    long cnt[2] = {n, m}, off = 0;
    for (int s = 0; s < 2; s++)
        for (long i = 0; i < cnt[s]; i++, off++) {
            const float *b = src[s] + 5 * i;
            float A = b[2] * b[2] / 12, B = b[3] * b[3] / 12, sn = sinf(b[4]), cs = cosf(b[4]);
            float *c = cv + 6 * off;
            c[0] = b[0], c[1] = b[1], c[2] = A * cs * cs + B * sn * sn, c[3] = A * sn * sn + B * cs * cs;
            c[4] = (A - B) * cs * sn, c[5] = A * B;
        }
    double S = 0;
#pragma omp parallel for schedule(static) reduction(+ : S)
    for (long i = 0; i < n; i++)
        for (long j = 0; j < m; j++) {
            const float *u = cv + 6 * i, *v = cv + 6 * (n + j);
            float sa = u[2] + v[2], sb = u[3] + v[3], sc = u[4] + v[4];
            float D = fmaxf(sa * sb - sc * sc, 0.0f), dx = u[0] - v[0], dy = u[1] - v[1];
            float t12 = (0.25f * (sa * dy * dy + sb * dx * dx) - 0.5f * sc * dx * dy) / (D + EPS);
            float raw = t12 + 0.5f * logf(D / (4 * sqrtf(u[5] * v[5]) + EPS) + EPS);
            float bd = fminf(fmaxf(raw, EPS), 100.0f);
            float o = 1.0f - sqrtf(1.0f - expf(-bd) + EPS);
            out[i * m + j] = o;
            S += o;
        }
    free(cv);
    return S;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s boxes.f32 [n] [matrix n]\n", argv[0]);
        return 2;
    }
    long n = argc > 2 ? atol(argv[2]) : 1000000, mn = argc > 3 ? atol(argv[3]) : 1000;
    printf("copy_gbs %.3f\n", copy_bw() / 1e9);
    float *p = malloc(sizeof(float) * 5 * n), *t = malloc(sizeof(float) * 5 * n), *g = malloc(sizeof(float) * 5 * n);
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(p, sizeof(float), 5 * n, f) != (size_t)(5 * n) || fread(t, sizeof(float), 5 * n, f) != (size_t)(5 * n)) {
        fprintf(stderr, "cannot read %ld boxes x 2 from %s\n", n, argv[1]);
        return 1;
    }
    fclose(f);
    double best = 1e9, L = 0;
    for (int r = 0; r < 15; r++) {
        double t0 = now();
        L = probiou_loss(p, t, g, n);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("loss_ms %.4f loss %.9g\n", best * 1e3, L);
    FILE *gf = fopen("/tmp/c_loop_probiou.grad", "wb");
    fwrite(g, sizeof(float), 5 * n, gf);
    fclose(gf);
    float *out = malloc(sizeof(float) * mn * mn);
    double S = 0;
    best = 1e9;
    for (int r = 0; r < 9; r++) {
        double t0 = now();
        S = probiou_matrix(p, mn, t, mn, out);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("matrix_ms %.4f sum %.9g\n", best * 1e3, S);
    return 0;
}
