/* Data-parallel segmentation training with the exact batch Dice across MPI ranks
 * (docs/distributed.md, "two phases").
 *
 * Data: a batch of 6 "images" of 32x32 pixels with 3 feature channels (a noisy colour); each
 * pixel's label is the colour it was drawn from (4 classes, class 0 the background). The batch is
 * split over the ranks (unevenly; rank 0 holds none when there are several). Model: a 1x1
 * convolution (a per-pixel linear classifier), the same on every rank. Each step:
 *   1. every rank computes its logits and its Dice statistics (lossfn_overlap_stats_f32),
 *   2. MPI_Allreduce sums them: 3 doubles per class kept,
 *   3. every rank gets the whole batch's batch Dice and its share of the gradient
 *      (lossfn_overlap_loss_from_stats_f32), back-propagates it through the convolution,
 *   4. MPI_Allreduce sums the parameter gradients (SUM: the global loss is one loss, not a mean
 *      of the ranks'), and every rank takes the same SGD step.
 * The loss printed is the batch Dice of the whole batch, whatever the number of ranks: the run
 * prints the same losses under mpirun -np 1, 2 or 4 (up to the order of the sums).
 *
 * Build: mpicc -std=c99 mpi_train_step.c -llossfn -lm (or the CMake target example_mpi_train_step,
 * run by ctest under mpirun -np 2). */
#include <lossfn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define B 6
#define K 3 /* input channels */
#define C 4 /* classes, 0 = background */
#define H 32
#define W 32
#define S (H * W)
#define STEPS 30
#define LR 4.0f

static int rank, size;

static void check(lossfn_status st) {
    if (st != LOSSFN_OK) {
        char msg[256];
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "rank %d: %s: %s\n", rank, lossfn_status_name(st), msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

/* Samples [lo, hi) of rank r: none on rank 0 with several ranks, the rest 1 : 2 : ... */
static void split(int r, size_t *lo, size_t *hi) {
    if (size == 1) { *lo = 0; *hi = B; return; }
    if (r == 0) { *lo = *hi = 0; return; }
    size_t total = (size_t)(size - 1) * (size_t)size / 2, acc = 0;
    for (int q = 1; q < r; q++) acc += (size_t)q;
    *lo = B * acc / total;
    *hi = B * (acc + (size_t)r) / total;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static float image[B * K * S], logits[B * C * S], grad[B * C * S];
    static int64_t label[B * S];
    const float colour[C][K] = {{0.2f, 0.2f, 0.2f}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    float wt[C][K] = {{0}}, bias[C] = {0};
    /* The same data on every rank (a fixed generator); each rank uses its own samples. */
    unsigned long long r = 7;
    for (int n = 0; n < B; n++)
        for (int s = 0; s < S; s++) {
            int h = s / W, x = s % W, cls = ((h / 8) * (x / 8) + n) % C;
            label[n * S + s] = cls;
            for (int k = 0; k < K; k++) {
                r = r * 6364136223846793005ULL + 1442695040888963407ULL;
                image[(n * K + k) * S + s] = colour[cls][k] + ((float)(r >> 40) / 16777216.0f - 0.5f) * 0.6f;
            }
        }
    size_t lo, hi;
    split(rank, &lo, &hi);
    const size_t nb = hi - lo;
    lossfn_shape shape = {nb, C, S, LOSSFN_LAYOUT_NCS};
    lossfn_overlap_options o = lossfn_overlap_options_default();
    o.batch = true;                /* one Dice per class over the whole batch */
    o.include_background = false;  /* scores for classes 1..3 */
    const size_t len = 3 * (C - 1);
    double stats[3 * C], global_stats[3 * C];
    float first = 0, loss = 0;
    for (int step = 0; step < STEPS; step++) {
        for (size_t n = 0; n < nb; n++)
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) {
                    float z = bias[c];
                    for (int k = 0; k < K; k++) z += wt[c][k] * image[((lo + n) * K + k) * S + s];
                    logits[(n * C + c) * S + s] = z;
                }
        check(lossfn_overlap_stats_f32(LOSSFN_OVERLAP_DICE, logits, label + lo * S, shape, &o, stats, len));    /* 1. */
        MPI_Allreduce(stats, global_stats, (int)len, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);                     /* 2. */
        check(lossfn_overlap_loss_from_stats_f32(LOSSFN_OVERLAP_DICE, logits, label + lo * S, NULL, shape, &o,  /* 3. */
                                                 global_stats, len, &loss, grad));
        /* Back through the 1x1 convolution: this rank's share of dL/dW, then the sum over ranks. */
        float g[C * K + C] = {0}, g_all[C * K + C];
        for (size_t n = 0; n < nb; n++)
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) {
                    float d = grad[(n * C + c) * S + s];
                    for (int k = 0; k < K; k++) g[c * K + k] += d * image[((lo + n) * K + k) * S + s];
                    g[C * K + c] += d;
                }
        MPI_Allreduce(g, g_all, C * K + C, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);                              /* 4. */
        for (int c = 0; c < C; c++) {
            for (int k = 0; k < K; k++) wt[c][k] -= LR * g_all[c * K + k];
            bias[c] -= LR * g_all[C * K + c];
        }
        if (step == 0) first = loss;
        if (rank == 0 && (step % 5 == 0 || step == STEPS - 1))
            printf("step %2d: batch Dice loss of the whole batch %.5f (%d ranks, %zu bytes of statistics exchanged)\n", step,
                   loss, size, len * sizeof(double));
    }
    /* Every rank saw the same loss: the whole batch's. */
    float lmin = loss, lmax = loss;
    MPI_Allreduce(&loss, &lmin, 1, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&loss, &lmax, 1, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
    int ok = lmin == lmax && loss < 0.5f * first;
    if (rank == 0) printf("loss %.5f -> %.5f, the same on every rank: %s\n", first, loss, ok ? "ok" : "FAILED");
    MPI_Finalize();
    return ok ? 0 : 1;
}
