/* Small calls: the cost of one call where the work is tiny — CIoU on 64 boxes, Smooth L1 on
 * 1024 values, cross entropy on [8, 80] — loss + gradient, f32, 1 thread, ns per call (the
 * median of 31 batches of 2000 calls). What a call costs beyond its arithmetic: option and
 * buffer checks, the dispatch, the reduction. Beside each row: the plain C loop of the same math
 * (same options, MEAN, unweighted) as a performance-minded user writes it, auto-vectorised by
 * gcc -O3 -march=native -ffast-math (libmvec's atanf/expf/logf), and lossfn's time over it
 * (issue 33's target: at most 2x). The largest gradient difference between the first library
 * and the loop is printed as a check that both do the same work.
 *
 * Build & run (several libraries in one run, e.g. before and after a change):
 *   gcc -O3 -march=native -ffast-math -std=c99 -Iinclude benches/bench_small_calls.c -ldl -lm \
 *       -o /tmp/bench_small_calls && \
 *   /tmp/bench_small_calls target/release/liblossfn.so [/tmp/old/liblossfn.so ...]
 * The libraries and the loops are measured alternately, batch by batch, so that drifts of the
 * machine hit each alike.
 */
#define _POSIX_C_SOURCE 199309L
#include "lossfn.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BATCHES 31
#define CALLS 2000
#define MAXLIBS 4

typedef lossfn_status (*ciou_fn)(const float *, const float *, const float *, size_t, const lossfn_box_options *, float *, float *);
typedef lossfn_status (*sl1_fn)(const float *, const float *, const float *, size_t, const lossfn_regression_options *, float *, float *);
typedef lossfn_status (*ce_fn)(const float *, const int64_t *, const float *, lossfn_shape, const lossfn_cross_entropy_options *, float *, float *);
typedef lossfn_status (*threads_fn)(size_t);

struct lib {
    const char *path;
    ciou_fn ciou;
    sl1_fn sl1;
    ce_fn ce;
    double t[3][BATCHES];
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float boxes_p[64 * 4], boxes_t[64 * 4], grad_b[64 * 4];
static float x[1024], y[1024], grad_x[1024];
static float logits[8 * 80], grad_l[8 * 80];
static int64_t labels[8];


/* ---- the C loops (xyxy boxes, MEAN, no weights, gradient d loss / d pred) ---- */

/* ultralytics bbox_iou(xywh=False, CIoU=True) (eps on the heights, alpha without gradient), as
 * lossfn's LOSSFN_CIOU_ULTRALYTICS; 1 - CIoU averaged. */
__attribute__((noinline)) static float c_ciou(const float *restrict p, const float *restrict t, int n, float eps,
                                              float *restrict g) {
    const float k4 = (float)(4.0 / (3.14159265358979323846 * 3.14159265358979323846));
    const float s = 1.0f / n;
    float sum = 0;
    for (int i = 0; i < n; i++) {
        float px1 = p[4 * i], py1 = p[4 * i + 1], px2 = p[4 * i + 2], py2 = p[4 * i + 3];
        float tx1 = t[4 * i], ty1 = t[4 * i + 1], tx2 = t[4 * i + 2], ty2 = t[4 * i + 3];
        float w1 = px2 - px1, h1 = py2 - py1 + eps, w2 = tx2 - tx1, h2 = ty2 - ty1 + eps;
        float iw = fminf(px2, tx2) - fmaxf(px1, tx1), ih = fminf(py2, ty2) - fmaxf(py1, ty1);
        int on = iw > 0 && ih > 0;
        iw = on ? iw : 0, ih = on ? ih : 0;
        float inter = iw * ih, u = w1 * h1 + w2 * h2 - inter + eps, iou = inter / u;
        float cw = fmaxf(px2, tx2) - fminf(px1, tx1), ch = fmaxf(py2, ty2) - fminf(py1, ty1);
        float c2 = cw * cw + ch * ch + eps;
        float dx = tx1 + tx2 - px1 - px2, dy = ty1 + ty2 - py1 - py2, rho2 = (dx * dx + dy * dy) / 4;
        float delta = atanf(w2 / h2) - atanf(w1 / h1), v = k4 * delta * delta;
        float alpha = v / (v - iou + (1 + eps));
        sum += 1 - iou + rho2 / c2 + alpha * v;
        /* d(-iou)/dI and d(-iou)/d(w1 h1) */
        float dI = -(u + inter) / (u * u), dA = inter / (u * u);
        float gix = dI * ih, giy = dI * iw;
        float gr = -0.5f / c2, gc = -rho2 / (c2 * c2) * 2; /* d/d rho2 term, d/d c2 times 2 */
        float r2 = w1 * w1 + h1 * h1, gv = alpha * 2 * k4 * delta / r2;
        float gw = dA * h1 - gv * h1, gh = dA * w1 + gv * w1; /* d/d w1, d/d h1 */
        g[4 * i] = (-gix * (px1 > tx1) - gw + gr * dx - gc * cw * (px1 < tx1)) * s;
        g[4 * i + 1] = (-giy * (py1 > ty1) - gh + gr * dy - gc * ch * (py1 < ty1)) * s;
        g[4 * i + 2] = (gix * (px2 < tx2) + gw + gr * dx + gc * cw * (px2 > tx2)) * s;
        g[4 * i + 3] = (giy * (py2 < ty2) + gh + gr * dy + gc * ch * (py2 > ty2)) * s;
    }
    return sum * s;
}

/* Smooth L1 (beta), the mean. */
__attribute__((noinline)) static float c_smooth_l1(const float *restrict x, const float *restrict y, int n, float beta,
                                                   float *restrict g) {
    const float s = 1.0f / n;
    float sum = 0;
    for (int i = 0; i < n; i++) {
        float d = x[i] - y[i], a = fabsf(d);
        sum += a < beta ? 0.5f * d * d / beta : a - 0.5f * beta;
        g[i] = fminf(fmaxf(d / beta, -1.0f), 1.0f) * s;
    }
    return sum * s;
}

/* Cross entropy over [N, C] rows, the mean (c_loops.c's rows loop, one thread). */
__attribute__((noinline)) static float c_cross_entropy(const float *restrict x, const int64_t *restrict y, int N, int C,
                                                       float *restrict g) {
    float loss = 0;
    for (int i = 0; i < N; i++) {
        const float *r = x + i * C;
        float *gr = g + i * C, m = r[0], sum = 0;
        for (int c = 1; c < C; c++) m = r[c] > m ? r[c] : m;
        for (int c = 0; c < C; c++) {
            float e = expf(r[c] - m);
            gr[c] = e;
            sum += e;
        }
        float inv = 1.0f / (sum * N);
        for (int c = 0; c < C; c++) gr[c] *= inv;
        gr[y[i]] -= 1.0f / N;
        loss += logf(sum) + m - r[y[i]];
    }
    return loss / N;
}

static float max_rel_diff(const float *a, const float *b, int n) {
    float d = 0, m = 0;
    for (int i = 0; i < n; i++) d = fmaxf(d, fabsf(a[i] - b[i])), m = fmaxf(m, fabsf(a[i]));
    return d / m;
}

static float grad_c[1024]; /* the largest of the three gradients */
static volatile float sink;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s liblossfn.so [more libraries]\n", argv[0]);
        return 2;
    }
    int nlibs = argc - 1 < MAXLIBS ? argc - 1 : MAXLIBS;
    struct lib libs[MAXLIBS];
    for (int l = 0; l < nlibs; l++) {
        void *h = dlopen(argv[l + 1], RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
        libs[l].path = argv[l + 1];
        libs[l].ciou = (ciou_fn)dlsym(h, "lossfn_ciou_loss_f32");
        libs[l].sl1 = (sl1_fn)dlsym(h, "lossfn_smooth_l1_loss_f32");
        libs[l].ce = (ce_fn)dlsym(h, "lossfn_cross_entropy_f32");
        ((threads_fn)dlsym(h, "lossfn_set_num_threads"))(1);
    }
    srand(7);
    for (int i = 0; i < 64; i++) {
        float a = rand() % 100, b = rand() % 100;
        boxes_p[4 * i] = a, boxes_p[4 * i + 1] = b, boxes_p[4 * i + 2] = a + 5 + rand() % 20, boxes_p[4 * i + 3] = b + 5 + rand() % 20;
        boxes_t[4 * i] = a + 1, boxes_t[4 * i + 1] = b - 1, boxes_t[4 * i + 2] = a + 7.25f + rand() % 20, boxes_t[4 * i + 3] = b + 4.25f + rand() % 20;
    }
    for (int i = 0; i < 1024; i++) x[i] = (rand() % 2000 - 1000) / 300.0f, y[i] = (rand() % 2000 - 1000) / 300.0f;
    for (int i = 0; i < 8 * 80; i++) logits[i] = (rand() % 2000 - 1000) / 200.0f;
    for (int i = 0; i < 8; i++) labels[i] = rand() % 80;
    /* The defaults, from the first library. */
    void *h0 = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    lossfn_box_options bo = ((lossfn_box_options(*)(void))dlsym(h0, "lossfn_box_options_default"))();
    bo.ciou_variant = LOSSFN_CIOU_ULTRALYTICS;
    lossfn_regression_options ro = ((lossfn_regression_options(*)(void))dlsym(h0, "lossfn_regression_options_default"))();
    lossfn_cross_entropy_options co = ((lossfn_cross_entropy_options(*)(void))dlsym(h0, "lossfn_cross_entropy_options_default"))();
    lossfn_shape shape = {8, 80, 1, LOSSFN_LAYOUT_NSC};
    float loss;
    double tc[3][BATCHES];
    for (int b = -3; b < BATCHES; b++) { /* 3 warm-up batches */
        {
            double t0 = now();
            for (int c = 0; c < CALLS; c++) sink = c_ciou(boxes_p, boxes_t, 64, bo.eps, grad_c);
            double t1 = now();
            for (int c = 0; c < CALLS; c++) sink = c_smooth_l1(x, y, 1024, ro.beta, grad_c);
            double t2 = now();
            for (int c = 0; c < CALLS; c++) sink = c_cross_entropy(logits, labels, 8, 80, grad_c);
            double t3 = now();
            if (b >= 0) tc[0][b] = t1 - t0, tc[1][b] = t2 - t1, tc[2][b] = t3 - t2;
        }
        for (int l = 0; l < nlibs; l++) {
            struct lib *L = &libs[l];
            double t0 = now();
            for (int c = 0; c < CALLS; c++) L->ciou(boxes_p, boxes_t, NULL, 64, &bo, &loss, grad_b);
            double t1 = now();
            for (int c = 0; c < CALLS; c++) L->sl1(x, y, NULL, 1024, &ro, &loss, grad_x);
            double t2 = now();
            for (int c = 0; c < CALLS; c++) L->ce(logits, labels, NULL, shape, &co, &loss, grad_l);
            double t3 = now();
            if (b >= 0) L->t[0][b] = t1 - t0, L->t[1][b] = t2 - t1, L->t[2][b] = t3 - t2;
        }
    }
    const char *rows[3] = {"CIoU (ultralytics), 64 boxes", "Smooth L1, 1024 values", "cross entropy, [8, 80]"};
    /* The check: the first library's gradients against the loops'. */
    float check[3], closs[3], lloss[3];
    libs[0].ciou(boxes_p, boxes_t, NULL, 64, &bo, &lloss[0], grad_b);
    closs[0] = c_ciou(boxes_p, boxes_t, 64, bo.eps, grad_c), check[0] = max_rel_diff(grad_b, grad_c, 64 * 4);
    libs[0].sl1(x, y, NULL, 1024, &ro, &lloss[1], grad_x);
    closs[1] = c_smooth_l1(x, y, 1024, ro.beta, grad_c), check[1] = max_rel_diff(grad_x, grad_c, 1024);
    libs[0].ce(logits, labels, NULL, shape, &co, &lloss[2], grad_l);
    closs[2] = c_cross_entropy(logits, labels, 8, 80, grad_c), check[2] = max_rel_diff(grad_l, grad_c, 8 * 80);
    printf("ns per call, f32, loss + gradient, 1 thread (median of %d batches of %d calls)\n", BATCHES, CALLS);
    printf("%-30s  %9s", "call", "C loop");
    for (int l = 0; l < nlibs; l++) printf("  %7s %d  %6s", "lossfn", l + 1, "/ C");
    printf("  %9s  %s\n", "rel dgrad", "loss lossfn 1 / C loop");
    for (int r = 0; r < 3; r++) {
        qsort(tc[r], BATCHES, sizeof(double), cmp);
        double c = tc[r][BATCHES / 2] / CALLS * 1e9;
        printf("%-30s  %9.1f", rows[r], c);
        for (int l = 0; l < nlibs; l++) {
            qsort(libs[l].t[r], BATCHES, sizeof(double), cmp);
            double ns = libs[l].t[r][BATCHES / 2] / CALLS * 1e9;
            printf("  %9.1f  %5.2fx", ns, ns / c);
        }
        printf("  %9.1e  %.6f / %.6f\n", check[r], lloss[r], closs[r]);
    }
    for (int l = 0; l < nlibs; l++) printf("column %d: %s\n", l + 1, libs[l].path);
    return 0;
}
