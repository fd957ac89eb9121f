/* Data-parallel MEAN losses over MPI (docs/api.md §3): one batch split unevenly across the ranks
 * (rank 0 holds no sample when there are several), each rank
 *   1. asks its MEAN denominator (LOSSFN_REDUCTION_MEAN_DENOMINATOR),
 *   2. all-reduces it,
 *   3. calls the loss with avg_factor = the global denominator,
 * and then the all-reduced losses must equal the one-process loss on the whole batch and the
 * gathered gradients its gradient: f64 to 1e-12 relative, f32 to the fixtures' f32 tolerance.
 * Run by ctest under mpirun -np 1, 2 and 4. */
#include <lossfn.h>
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_common.h"


/* A loss over rows [lo, hi) of the batch: writes loss (1 value) and, if grad, the rows'
 * gradient; reduction and avg_factor as given. Returns the status. */
typedef lossfn_status (*call_fn)(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg_factor, double *loss,
                                 double *grad);

/* ---- the losses and their data (double; the f32 calls convert) ---- */
#define N_ROWS 53
#define CLASSES 5
static double logits[N_ROWS * CLASSES], bin_t[N_ROWS * CLASSES], quality[N_ROWS * CLASSES], elem_w[N_ROWS * CLASSES];
static int64_t labels[N_ROWS];
static double class_w[CLASSES];
static double pred_box[N_ROWS * 4], target_box[N_ROWS * 4], box_w[N_ROWS];
#define BINS 16
static double dist[N_ROWS * 4 * BINS], dist_t[N_ROWS * 4];

static float *to_f32(const double *v, size_t n) {
    float *o = malloc((n ? n : 1) * sizeof *o);
    for (size_t i = 0; i < n; i++) o[i] = (float)v[i];
    return o;
}


/* The f32 side of a loss call: CALL runs the float entry point into l32/g32 (m gradient
 * values), which are widened into loss/grad. */
#define F32_CALL(m, CALL)                                                          \
    do {                                                                           \
        float l32 = 0, *g32 = grad ? malloc(((m) > 0 ? (size_t)(m) : 1) * sizeof *g32) : NULL; \
        st = CALL;                                                                 \
        *loss = l32;                                                               \
        if (grad) for (size_t q = 0; q < (m); q++) grad[q] = g32[q];               \
        free(g32);                                                                 \
    } while (0)

static lossfn_status ce(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg, double *loss, double *grad) {
    lossfn_cross_entropy_options o = lossfn_cross_entropy_options_default();
    o.reduction = red; o.avg_factor = avg; o.ignore_index = 3; o.label_smoothing = 0.1;
    lossfn_shape s = {hi - lo, CLASSES, 1, LOSSFN_LAYOUT_NSC};
    size_t m = (hi - lo) * CLASSES;
    float *x = to_f32(logits + lo * CLASSES, m), *w = to_f32(class_w, CLASSES);
    lossfn_status st;
    if (f32) {
        F32_CALL(m, lossfn_cross_entropy_f32(x, labels + lo, w, s, &o, &l32, g32));
    } else {
        st = lossfn_cross_entropy_f64(logits + lo * CLASSES, labels + lo, class_w, s, &o, loss, grad);
    }
    free(x); free(w);
    return st;
}

static lossfn_status ciou(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg, double *loss, double *grad) {
    lossfn_box_options o = lossfn_box_options_default();
    o.reduction = red; o.avg_factor = avg; o.ciou_variant = LOSSFN_CIOU_ULTRALYTICS;
    size_t n = hi - lo;
    float *p = to_f32(pred_box + 4 * lo, 4 * n), *t = to_f32(target_box + 4 * lo, 4 * n), *w = to_f32(box_w + lo, n);
    lossfn_status st;
    if (f32) {
        F32_CALL(4 * n, lossfn_ciou_loss_f32(p, t, w, n, &o, &l32, g32));
    } else {
        st = lossfn_ciou_loss_f64(pred_box + 4 * lo, target_box + 4 * lo, box_w + lo, n, &o, loss, grad);
    }
    free(p); free(t); free(w);
    return st;
}

static lossfn_status focal(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg, double *loss, double *grad) {
    lossfn_focal_options o = lossfn_focal_options_default();
    o.reduction = red; o.avg_factor = avg;
    lossfn_shape s = {hi - lo, CLASSES, 1, LOSSFN_LAYOUT_NSC};
    size_t m = (hi - lo) * CLASSES;
    float *x = to_f32(logits + lo * CLASSES, m), *t = to_f32(bin_t + lo * CLASSES, m), *w = to_f32(elem_w + lo * CLASSES, m);
    lossfn_status st;
    if (f32) {
        F32_CALL(m, lossfn_sigmoid_focal_loss_f32(x, t, w, s, &o, &l32, g32));
    } else {
        st = lossfn_sigmoid_focal_loss_f64(logits + lo * CLASSES, bin_t + lo * CLASSES, elem_w + lo * CLASSES, s, &o, loss, grad);
    }
    free(x); free(t); free(w);
    return st;
}

static lossfn_status varifocal(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg, double *loss, double *grad) {
    lossfn_quality_focal_options o = lossfn_quality_focal_options_default();
    o.reduction = red; o.avg_factor = avg;
    lossfn_shape s = {hi - lo, CLASSES, 1, LOSSFN_LAYOUT_NSC};
    size_t m = (hi - lo) * CLASSES;
    float *x = to_f32(logits + lo * CLASSES, m), *t = to_f32(quality + lo * CLASSES, m);
    lossfn_status st;
    if (f32) {
        F32_CALL(m, lossfn_varifocal_loss_f32(x, t, NULL, s, &o, &l32, g32));
    } else {
        st = lossfn_varifocal_loss_f64(logits + lo * CLASSES, quality + lo * CLASSES, NULL, s, &o, loss, grad);
    }
    free(x); free(t);
    return st;
}

static lossfn_status dfl(int f32, size_t lo, size_t hi, lossfn_reduction red, double avg, double *loss, double *grad) {
    lossfn_dfl_options o = lossfn_dfl_options_default();
    o.reduction = red; o.avg_factor = avg;
    size_t n = hi - lo, m = n * 4 * BINS;
    float *x = to_f32(dist + lo * 4 * BINS, m), *t = to_f32(dist_t + 4 * lo, 4 * n), *w = to_f32(box_w + lo, n);
    lossfn_status st;
    if (f32) {
        F32_CALL(m, lossfn_dfl_loss_f32(x, t, w, n, 4, BINS, &o, &l32, g32));
    } else {
        st = lossfn_dfl_loss_f64(dist + lo * 4 * BINS, dist_t + 4 * lo, box_w + lo, n, 4, BINS, &o, loss, grad);
    }
    free(x); free(t); free(w);
    return st;
}

/* The recipe on this rank, then the check on rank 0. `stride`: gradient values per row. */
static void check(const char *name, call_fn f, size_t stride, int f32) {
    size_t lo, hi;
    split(N_ROWS, rank, &lo, &hi);
    double den = 0, global_den = 0;
    if (f(f32, lo, hi, LOSSFN_REDUCTION_MEAN_DENOMINATOR, 0.0, &den, NULL) != LOSSFN_OK) {
        char msg[256];
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "rank %d %s: denominator query failed: %s\n", rank, name, msg);
        failures++;
        return;
    }
    MPI_Allreduce(&den, &global_den, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    size_t mine = (hi - lo) * stride;
    double *grad = malloc((mine ? mine : 1) * sizeof *grad);
    double loss = 0, global_loss = 0;
    if (f(f32, lo, hi, LOSSFN_REDUCTION_MEAN, global_den, &loss, grad) != LOSSFN_OK) {
        fprintf(stderr, "rank %d %s: loss call failed\n", rank, name);
        failures++;
    }
    MPI_Allreduce(&loss, &global_loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    int *counts = malloc((size_t)size * sizeof *counts), *offsets = malloc((size_t)size * sizeof *offsets);
    for (int r = 0; r < size; r++) {
        size_t a, b;
        split(N_ROWS, r, &a, &b);
        counts[r] = (int)((b - a) * stride);
        offsets[r] = (int)(a * stride);
    }
    double *all = rank == 0 ? malloc(N_ROWS * stride * sizeof *all) : NULL;
    MPI_Gatherv(grad, (int)mine, MPI_DOUBLE, all, counts, offsets, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        double ref = 0, *ref_grad = malloc(N_ROWS * stride * sizeof *ref_grad);
        if (f(f32, 0, N_ROWS, LOSSFN_REDUCTION_MEAN, 0.0, &ref, ref_grad) != LOSSFN_OK) failures++;
        /* f64: 1e-12 relative; f32: the fixtures' f32 rule |d| <= 2e-4 |ref| + 2e-5 max(max|ref|, 1e-3)
           (tests/common/mod.rs) */
        double rtol = f32 ? 2e-4 : 1e-12, atol = f32 ? 2e-5 : 1e-15, big = 1e-3;
        for (size_t q = 0; q < N_ROWS * stride; q++) big = fmax(big, fabs(ref_grad[q]));
        int bad = fabs(global_loss - ref) > rtol * fmax(1.0, fabs(ref));
        size_t worst = 0;
        double worst_d = 0;
        for (size_t q = 0; q < N_ROWS * stride; q++) {
            double d = fabs(all[q] - ref_grad[q]);
            if (d > rtol * fabs(ref_grad[q]) + atol * big) bad = 1;
            if (d > worst_d) { worst_d = d; worst = q; }
        }
        printf("%-22s %s np %d: global loss %.17g, one process %.17g; max |grad diff| %.3g at %zu %s\n", name,
               f32 ? "f32" : "f64", size, global_loss, ref, worst_d, worst, bad ? "FAILED" : "ok");
        failures += bad;
        free(ref_grad);
        free(all);
    }
    free(counts); free(offsets); free(grad);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rng_state = 12345;
    for (size_t i = 0; i < N_ROWS * CLASSES; i++) {
        logits[i] = uniform(-3, 3);
        bin_t[i] = uniform(0, 1) < 0.2 ? 1.0 : 0.0;
        quality[i] = uniform(0, 1) < 0.25 ? uniform(0.05, 1.0) : 0.0;
        elem_w[i] = uniform(0.1, 2.0);
    }
    for (size_t i = 0; i < N_ROWS; i++) {
        labels[i] = (int64_t)(uniform(0, CLASSES));
        double x = uniform(0, 50), y = uniform(0, 50), w = uniform(1, 10), h = uniform(1, 10);
        double p[4] = {x, y, x + w, y + h};
        for (int c = 0; c < 4; c++) {
            pred_box[4 * i + c] = p[c];
            target_box[4 * i + c] = p[c] + uniform(-2, 2);
            dist_t[4 * i + c] = uniform(-0.5, BINS);
        }
        if (target_box[4 * i + 2] < target_box[4 * i] + 0.5) target_box[4 * i + 2] = target_box[4 * i] + 0.5;
        if (target_box[4 * i + 3] < target_box[4 * i + 1] + 0.5) target_box[4 * i + 3] = target_box[4 * i + 1] + 0.5;
        box_w[i] = uniform(0.1, 2.0);
    }
    for (size_t i = 0; i < N_ROWS * 4 * BINS; i++) dist[i] = uniform(-3, 3);
    for (int c = 0; c < CLASSES; c++) class_w[c] = uniform(0.2, 2.0);
    for (int f32 = 0; f32 <= 1; f32++) {
        check("cross_entropy", ce, CLASSES, f32);
        check("ciou_loss", ciou, 4, f32);
        check("sigmoid_focal_loss", focal, CLASSES, f32);
        check("varifocal_loss", varifocal, CLASSES, f32);
        check("dfl_loss", dfl, 4 * BINS, f32);
    }
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return total ? 1 : 0;
}
