/* Small calls: the cost of one call where the work is tiny — CIoU on 64 boxes, Smooth L1 on
 * 1024 values, cross entropy on [8, 80] — loss + gradient, f32, 1 thread, ns per call (the
 * median of 31 batches of 2000 calls). What a call costs beyond its arithmetic: option and
 * buffer checks, the dispatch, the reduction.
 *
 * Build & run (several libraries in one run, e.g. before and after a change):
 *   gcc -O2 -std=c99 -Iinclude benches/bench_small_calls.c -ldl -o /tmp/bench_small_calls && \
 *   /tmp/bench_small_calls target/release/liblossfn.so [/tmp/old/liblossfn.so ...]
 * The libraries are measured alternately, batch by batch, so that drifts of the machine hit each
 * alike.
 */
#define _POSIX_C_SOURCE 199309L
#include "lossfn.h"

#include <dlfcn.h>
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
        boxes_t[4 * i] = a + 1, boxes_t[4 * i + 1] = b - 1, boxes_t[4 * i + 2] = a + 7 + rand() % 20, boxes_t[4 * i + 3] = b + 4 + rand() % 20;
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
    for (int b = -3; b < BATCHES; b++) { /* 3 warm-up batches */
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
    printf("ns per call, f32, loss + gradient, 1 thread (median of %d batches of %d calls)\n", BATCHES, CALLS);
    for (int r = 0; r < 3; r++) {
        printf("%-30s", rows[r]);
        for (int l = 0; l < nlibs; l++) {
            qsort(libs[l].t[r], BATCHES, sizeof(double), cmp);
            printf("  %9.1f", libs[l].t[r][BATCHES / 2] / CALLS * 1e9);
        }
        printf("\n");
    }
    for (int l = 0; l < nlibs; l++) printf("column %d: %s\n", l + 1, libs[l].path);
    return 0;
}
