/* Threads from C: 16 concurrent callers run DIFFERENT losses across the families at once
 * (regression, boxes, cross entropy, Dice/Tversky) on shared read-only inputs, each big enough
 * to take the library's parallel path; every result is bitwise the single-threaded answer, while
 * some callers change the thread count between their calls. Then LOSSFN_NUM_THREADS is
 * honoured, and a forked child computes in parallel without deadlock. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <lossfn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Sizes above the parallel threshold (64 Ki operations, more than one chunk) of each family. */
#define N 600000 /* regression values: 37 chunks */
#define NB 20000 /* boxes: 20 chunks of 1024 */
#define CE_B 64  /* cross entropy: 64 x 10 classes x 100 positions, NCS: one block per sample */
#define CE_C 10
#define CE_S 100
#define SEG_B 4 /* Dice/Tversky: 4 x 4 classes x 16384 positions, NCS: one work item per sample */
#define SEG_C 4
#define SEG_S 16384
#define KINDS 8
#define CALLERS 16
#define REPS 3

static float x[N], t[N];
static float pred[4 * NB], boxt[4 * NB];
static float logits[CE_B * CE_C * CE_S];
static int64_t labels[CE_B * CE_S];
static float seg[SEG_B * SEG_C * SEG_S];
static int64_t mask[SEG_B * SEG_S];

static const char *const names[KINDS] = {
    "l1", "mse", "giou", "ciou", "cross_entropy", "cross_entropy (smoothing, SUM)", "dice", "tversky (sigmoid)"};

static size_t grad_len(int kind) {
    switch (kind) {
    case 0:
    case 1: return N;
    case 2:
    case 3: return 4 * NB;
    case 4:
    case 5: return CE_B * CE_C * CE_S;
    default: return SEG_B * SEG_C * SEG_S;
    }
}

static lossfn_status run(int kind, float *loss, float *grad) {
    lossfn_regression_options r = lossfn_regression_options_default();
    lossfn_box_options b = lossfn_box_options_default();
    lossfn_cross_entropy_options ce = lossfn_cross_entropy_options_default();
    lossfn_overlap_options ov = lossfn_overlap_options_default();
    lossfn_shape ce_shape = {CE_B, CE_C, CE_S, LOSSFN_LAYOUT_NCS};
    lossfn_shape seg_shape = {SEG_B, SEG_C, SEG_S, LOSSFN_LAYOUT_NCS};
    b.format = LOSSFN_BOX_XYWH;
    switch (kind) {
    case 0: return lossfn_l1_loss_f32(x, t, NULL, N, &r, loss, grad);
    case 1: return lossfn_mse_loss_f32(x, t, NULL, N, &r, loss, grad);
    case 2: return lossfn_giou_loss_f32(pred, boxt, NULL, NB, &b, loss, grad);
    case 3: return lossfn_ciou_loss_f32(pred, boxt, NULL, NB, &b, loss, grad);
    case 4: return lossfn_cross_entropy_f32(logits, labels, NULL, ce_shape, &ce, loss, grad);
    case 5:
        ce.label_smoothing = 0.1;
        ce.ignore_index = 3;
        ce.reduction = LOSSFN_REDUCTION_SUM;
        return lossfn_cross_entropy_f32(logits, labels, NULL, ce_shape, &ce, loss, grad);
    case 6: return lossfn_dice_loss_f32(seg, mask, NULL, seg_shape, &ov, loss, grad);
    default:
        ov.activation = LOSSFN_ACTIVATION_SIGMOID;
        ov.gamma = 0.75;
        return lossfn_tversky_loss_f32(seg, mask, NULL, seg_shape, &ov, loss, grad);
    }
}

static float ref_loss[KINDS];
static float *ref_grad[KINDS];

typedef struct {
    int id;
    int kind;
    int mismatches; /* calls that failed or differed from the reference */
    float *grad;
} job;

static void *caller(void *p) {
    job *j = (job *)p;
    for (int rep = 0; rep < REPS; rep++) {
        float loss = -1.0f;
        memset(j->grad, 0, grad_len(j->kind) * sizeof(float));
        if (run(j->kind, &loss, j->grad) != LOSSFN_OK || memcmp(&loss, &ref_loss[j->kind], sizeof loss) != 0 ||
            memcmp(j->grad, ref_grad[j->kind], grad_len(j->kind) * sizeof(float)) != 0)
            j->mismatches++;
        /* Changing the thread count while the others compute must be harmless. */
        if (j->id == 5) lossfn_set_num_threads((size_t)(rep + 1));
        if (j->id == 10) lossfn_set_num_threads((size_t)(3 - rep));
        if (j->id == 15) lossfn_set_num_threads(0);
    }
    return NULL;
}

/* A small deterministic generator (no rand(): its state is shared and not thread-safe). */
static uint32_t lcg_state = 12345u;
static float unit(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / 16777216.0f;
}

static void fill_inputs(void) {
    for (int i = 0; i < N; i++) {
        x[i] = (float)(((size_t)i * 7919u) % 1000u) / 250.0f - 2.0f;
        t[i] = (float)(((size_t)i * 104729u) % 1000u) / 250.0f - 2.0f;
    }
    for (int i = 0; i < NB; i++) { /* XYWH boxes: positive sizes, overlapping or not */
        pred[4 * i] = 100.0f * unit();
        pred[4 * i + 1] = 100.0f * unit();
        pred[4 * i + 2] = 1.0f + 30.0f * unit();
        pred[4 * i + 3] = 1.0f + 30.0f * unit();
        for (int k = 0; k < 4; k++) boxt[4 * i + k] = pred[4 * i + k] + (k < 2 ? 10.0f : 5.0f) * (unit() - 0.5f);
    }
    for (int i = 0; i < CE_B * CE_C * CE_S; i++) logits[i] = 8.0f * unit() - 4.0f;
    for (int i = 0; i < CE_B * CE_S; i++) labels[i] = (int64_t)(unit() * CE_C) % CE_C;
    for (int i = 0; i < SEG_B * SEG_C * SEG_S; i++) seg[i] = 6.0f * unit() - 3.0f;
    for (int i = 0; i < SEG_B * SEG_S; i++) mask[i] = (int64_t)(unit() * SEG_C) % SEG_C;
}

int main(void) {
    fill_inputs();
    /* Reference answers on the caller's thread only. */
    lossfn_set_num_threads(1);
    for (int k = 0; k < KINDS; k++) {
        ref_grad[k] = malloc(grad_len(k) * sizeof(float));
        CHECK(ref_grad[k] != NULL && run(k, &ref_loss[k], ref_grad[k]) == LOSSFN_OK, "reference %s", names[k]);
    }
    /* Sanity: the references also hold with the default (parallel) thread count. */
    lossfn_set_num_threads(0);
    for (int k = 0; k < KINDS; k++) {
        float loss;
        float *grad = malloc(grad_len(k) * sizeof(float));
        CHECK(grad != NULL && run(k, &loss, grad) == LOSSFN_OK && memcmp(&loss, &ref_loss[k], sizeof loss) == 0 &&
                  memcmp(grad, ref_grad[k], grad_len(k) * sizeof(float)) == 0,
              "%s: default thread count differs from one thread", names[k]);
        free(grad);
    }

    /* 16 callers, two of each kind, all at once. */
    pthread_t threads[CALLERS];
    job jobs[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        jobs[i].id = i;
        jobs[i].kind = i % KINDS;
        jobs[i].mismatches = 0;
        jobs[i].grad = malloc(grad_len(jobs[i].kind) * sizeof(float));
        CHECK(jobs[i].grad != NULL, "malloc");
    }
    for (int i = 0; i < CALLERS; i++) CHECK(pthread_create(&threads[i], NULL, caller, &jobs[i]) == 0, "pthread_create %d", i);
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].mismatches == 0, "caller %d (%s): %d of %d calls differ from the single-threaded answer", i,
              names[jobs[i].kind], jobs[i].mismatches, REPS);
        free(jobs[i].grad);
    }

    /* LOSSFN_NUM_THREADS sets the default. */
    setenv("LOSSFN_NUM_THREADS", "3", 1);
    lossfn_set_num_threads(0);
    CHECK(lossfn_get_num_threads() == 3, "LOSSFN_NUM_THREADS=3 gives %zu", lossfn_get_num_threads());
    unsetenv("LOSSFN_NUM_THREADS");

    /* fork() after the pool has run: the child must compute in parallel, not deadlock. */
    lossfn_set_num_threads(2);
    float loss;
    float *grad = malloc(N * sizeof(float)); /* the largest gradient of the kinds */
    CHECK(grad != NULL && run(1, &loss, grad) == LOSSFN_OK, "parent before fork");
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a deadlock kills the child, and the parent sees it */
        int ok = 1;
        for (int k = 0; k < KINDS && ok; k++) {
            float child_loss;
            ok = run(k, &child_loss, grad) == LOSSFN_OK && memcmp(&child_loss, &ref_loss[k], sizeof child_loss) == 0 &&
                 memcmp(grad, ref_grad[k], grad_len(k) * sizeof(float)) == 0;
        }
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child: status %d", status);
    CHECK(run(4, &loss, grad) == LOSSFN_OK && memcmp(&loss, &ref_loss[4], sizeof loss) == 0, "parent after fork");
    free(grad);
    for (int k = 0; k < KINDS; k++) free(ref_grad[k]);
    lossfn_set_num_threads(0);
    return finish();
}
