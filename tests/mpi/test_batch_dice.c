/* The exact batch Dice across MPI ranks (docs/distributed.md, "two phases"): one batch split
 * unevenly across the ranks (rank 0 holds no sample when there are several), each rank
 *   1. computes its statistics (lossfn_overlap_stats*),
 *   2. all-reduces them (SUM),
 *   3. computes the loss from the global statistics and its gradient (lossfn_overlap_loss_from_stats*),
 * and then every rank's loss must equal the one-process loss (batch = true) on the whole batch and
 * the gathered gradients its gradient: f64 to 1e-12 relative, f32 to the fixtures' f32 tolerance.
 * Batch Dice with class weights, Focal Tversky without background on soft targets, generalized
 * Dice with ignored positions. Run by ctest under mpirun -np 1, 2 and 4. */
#include <lossfn.h>
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_common.h"


#define N 7
#define C 4
#define S 33
static double logits[N * C * S], soft[N * C * S], class_w[C];
static int64_t labels[N * S];

typedef struct {
    const char *name;
    lossfn_overlap_kind kind;
    int soft_target;
    int weighted;
    lossfn_overlap_options o;
} config;

static float *to_f32(const double *v, size_t n) {
    float *o = malloc((n ? n : 1) * sizeof *o);
    for (size_t i = 0; i < n; i++) o[i] = (float)v[i];
    return o;
}

/* Phase 1 on samples [lo, hi). */
static lossfn_status stats_of(const config *k, int f32, size_t lo, size_t hi, double *stats, size_t len) {
    lossfn_shape sh = {hi - lo, C, S, LOSSFN_LAYOUT_NCS};
    size_t m = (hi - lo) * C * S;
    const double *x = logits + lo * C * S, *t = soft + lo * C * S;
    const int64_t *y = labels + lo * S;
    lossfn_status st;
    if (f32) {
        float *x32 = to_f32(x, m), *t32 = to_f32(t, m);
        st = k->soft_target ? lossfn_overlap_stats_soft_f32(k->kind, x32, t32, sh, &k->o, stats, len)
                            : lossfn_overlap_stats_f32(k->kind, x32, y, sh, &k->o, stats, len);
        free(x32); free(t32);
    } else {
        st = k->soft_target ? lossfn_overlap_stats_soft_f64(k->kind, x, t, sh, &k->o, stats, len)
                            : lossfn_overlap_stats_f64(k->kind, x, y, sh, &k->o, stats, len);
    }
    return st;
}

/* Phase 2 on samples [lo, hi) (grad: (hi - lo)·C·S values, widened from f32). */
static lossfn_status loss_of(const config *k, int f32, size_t lo, size_t hi, const double *global, size_t len, double *loss,
                             double *grad) {
    lossfn_shape sh = {hi - lo, C, S, LOSSFN_LAYOUT_NCS};
    size_t m = (hi - lo) * C * S;
    const double *x = logits + lo * C * S, *t = soft + lo * C * S, *w = k->weighted ? class_w : NULL;
    const int64_t *y = labels + lo * S;
    lossfn_status st;
    if (f32) {
        float *x32 = to_f32(x, m), *t32 = to_f32(t, m), *w32 = w ? to_f32(w, C) : NULL, l32 = 0;
        float *g32 = malloc((m ? m : 1) * sizeof *g32);
        st = k->soft_target ? lossfn_overlap_loss_from_stats_soft_f32(k->kind, x32, t32, w32, sh, &k->o, global, len, &l32, g32)
                            : lossfn_overlap_loss_from_stats_f32(k->kind, x32, y, w32, sh, &k->o, global, len, &l32, g32);
        *loss = l32;
        for (size_t i = 0; i < m; i++) grad[i] = g32[i];
        free(x32); free(t32); free(w32); free(g32);
    } else {
        st = k->soft_target ? lossfn_overlap_loss_from_stats_soft_f64(k->kind, x, t, w, sh, &k->o, global, len, loss, grad)
                            : lossfn_overlap_loss_from_stats_f64(k->kind, x, y, w, sh, &k->o, global, len, loss, grad);
    }
    return st;
}

/* The one-process reference: the kind's own function with batch = true on the whole batch. */
static lossfn_status reference(const config *k, int f32, double *loss, double *grad) {
    lossfn_shape sh = {N, C, S, LOSSFN_LAYOUT_NCS};
    size_t m = (size_t)N * C * S;
    const double *w = k->weighted ? class_w : NULL;
    lossfn_status st = LOSSFN_OK;
    if (f32) {
        float *x = to_f32(logits, m), *t = to_f32(soft, m), *w32 = w ? to_f32(w, C) : NULL, l = 0;
        float *g = malloc(m * sizeof *g);
        switch (k->kind) {
        case LOSSFN_OVERLAP_DICE:
            st = k->soft_target ? lossfn_dice_loss_soft_f32(x, t, w32, sh, &k->o, &l, g) : lossfn_dice_loss_f32(x, labels, w32, sh, &k->o, &l, g);
            break;
        case LOSSFN_OVERLAP_TVERSKY:
            st = k->soft_target ? lossfn_tversky_loss_soft_f32(x, t, w32, sh, &k->o, &l, g) : lossfn_tversky_loss_f32(x, labels, w32, sh, &k->o, &l, g);
            break;
        default:
            st = k->soft_target ? lossfn_generalized_dice_loss_soft_f32(x, t, sh, &k->o, &l, g) : lossfn_generalized_dice_loss_f32(x, labels, sh, &k->o, &l, g);
        }
        *loss = l;
        for (size_t i = 0; i < m; i++) grad[i] = g[i];
        free(x); free(t); free(w32); free(g);
    } else {
        switch (k->kind) {
        case LOSSFN_OVERLAP_DICE:
            st = k->soft_target ? lossfn_dice_loss_soft_f64(logits, soft, w, sh, &k->o, loss, grad) : lossfn_dice_loss_f64(logits, labels, w, sh, &k->o, loss, grad);
            break;
        case LOSSFN_OVERLAP_TVERSKY:
            st = k->soft_target ? lossfn_tversky_loss_soft_f64(logits, soft, w, sh, &k->o, loss, grad) : lossfn_tversky_loss_f64(logits, labels, w, sh, &k->o, loss, grad);
            break;
        default:
            st = k->soft_target ? lossfn_generalized_dice_loss_soft_f64(logits, soft, sh, &k->o, loss, grad) : lossfn_generalized_dice_loss_f64(logits, labels, sh, &k->o, loss, grad);
        }
    }
    return st;
}

static void check(const config *k, int f32) {
    size_t lo, hi;
    split(N, rank, &lo, &hi);
    size_t len = 3 * (size_t)(k->o.include_background ? C : C - 1);
    double stats[3 * C], global[3 * C];
    char msg[256];
    if (stats_of(k, f32, lo, hi, stats, len) != LOSSFN_OK) {
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "rank %d %s: phase 1 failed: %s\n", rank, k->name, msg);
        failures++;
        return;
    }
    MPI_Allreduce(stats, global, (int)len, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    size_t mine = (hi - lo) * C * S;
    double *grad = malloc((mine ? mine : 1) * sizeof *grad), loss = 0;
    if (loss_of(k, f32, lo, hi, global, len, &loss, grad) != LOSSFN_OK) {
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "rank %d %s: phase 2 failed: %s\n", rank, k->name, msg);
        failures++;
    }
    /* Every rank's loss is the whole batch's: compare each with the reference. */
    double ref = 0, *ref_grad = malloc((size_t)N * C * S * sizeof *ref_grad);
    if (reference(k, f32, &ref, ref_grad) != LOSSFN_OK) failures++;
    double rtol = f32 ? 2e-4 : 1e-12, atol = f32 ? 2e-5 : 1e-15;
    int bad_loss = fabs(loss - ref) > rtol * fmax(1.0, fabs(ref));
    int *counts = malloc((size_t)size * sizeof *counts), *offsets = malloc((size_t)size * sizeof *offsets);
    for (int r = 0; r < size; r++) {
        size_t a, b;
        split(N, r, &a, &b);
        counts[r] = (int)((b - a) * C * S);
        offsets[r] = (int)(a * C * S);
    }
    double *all = rank == 0 ? malloc((size_t)N * C * S * sizeof *all) : NULL;
    MPI_Gatherv(grad, (int)mine, MPI_DOUBLE, all, counts, offsets, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    int bad_any = 0;
    MPI_Allreduce(&bad_loss, &bad_any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
        double big = 1e-3, worst_d = 0;
        size_t worst = 0;
        for (size_t q = 0; q < (size_t)N * C * S; q++) big = fmax(big, fabs(ref_grad[q]));
        int bad = bad_any;
        for (size_t q = 0; q < (size_t)N * C * S; q++) {
            double d = fabs(all[q] - ref_grad[q]);
            if (d > rtol * fabs(ref_grad[q]) + atol * big) bad = 1;
            if (d > worst_d) { worst_d = d; worst = q; }
        }
        printf("%-28s %s np %d: loss %.17g, one process %.17g; max |grad diff| %.3g at %zu %s\n", k->name,
               f32 ? "f32" : "f64", size, loss, ref, worst_d, worst, bad ? "FAILED" : "ok");
        failures += bad;
        free(all);
    }
    free(counts); free(offsets); free(grad); free(ref_grad);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rng_state = 2929;
    for (size_t i = 0; i < (size_t)N * C * S; i++) {
        logits[i] = uniform(-3, 3);
        soft[i] = uniform(0, 1);
    }
    for (size_t i = 0; i < (size_t)N * S; i++) labels[i] = (int64_t)uniform(0, C);
    for (size_t i = 0; i < S; i += 5) labels[3 * S + i] = 255; /* ignored positions in sample 3 */
    for (int c = 0; c < C; c++) class_w[c] = uniform(0.2, 2.0);

    config ks[3];
    ks[0] = (config){"batch dice (class weights)", LOSSFN_OVERLAP_DICE, 0, 1, lossfn_overlap_options_default()};
    ks[0].o.batch = true;
    ks[0].o.ignore_index = 255;
    ks[1] = (config){"focal tversky (soft)", LOSSFN_OVERLAP_TVERSKY, 1, 0, lossfn_overlap_options_default()};
    ks[1].o.batch = true;
    ks[1].o.include_background = false;
    ks[1].o.gamma = 0.75;
    ks[1].o.reduction = LOSSFN_REDUCTION_SUM;
    ks[2] = (config){"generalized dice", LOSSFN_OVERLAP_GENERALIZED_DICE, 0, 0, lossfn_overlap_options_default()};
    ks[2].o.batch = true;
    ks[2].o.ignore_index = 255;
    ks[2].o.activation = LOSSFN_ACTIVATION_SIGMOID;
    for (int f32 = 0; f32 <= 1; f32++)
        for (int k = 0; k < 3; k++) check(&ks[k], f32);
    int total = 0;
    MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return total ? 1 : 0;
}
