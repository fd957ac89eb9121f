/* Threads from C: concurrent callers get bitwise the single-threaded answer, the thread count can
 * change while others compute, LOSSFN_NUM_THREADS is honoured, and a forked child computes in
 * parallel without deadlock. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <lossfn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 600000
#define CALLERS 16

static float x[N], t[N];

typedef struct {
    int which;
    float loss;
    float *grad;
} job;

static lossfn_status run(int which, float *loss, float *grad) {
    lossfn_regression_options o = lossfn_regression_options_default();
    switch (which % 4) {
    case 0: return lossfn_l1_loss_f32(x, t, NULL, N, &o, loss, grad);
    case 1: return lossfn_mse_loss_f32(x, t, NULL, N, &o, loss, grad);
    case 2: return lossfn_smooth_l1_loss_f32(x, t, NULL, N, &o, loss, grad);
    default: return lossfn_huber_loss_f32(x, t, NULL, N, &o, loss, grad);
    }
}

static void *caller(void *p) {
    job *j = (job *)p;
    for (int rep = 0; rep < 3; rep++) {
        if (run(j->which, &j->loss, j->grad) != LOSSFN_OK) j->loss = -1.0f;
        /* Changing the thread count while others compute must be harmless. */
        if (j->which == 5) lossfn_set_num_threads((size_t)(rep + 1));
    }
    return NULL;
}

int main(void) {
    for (int i = 0; i < N; i++) {
        x[i] = (float)(((size_t)i * 7919u) % 1000u) / 250.0f - 2.0f;
        t[i] = (float)(((size_t)i * 104729u) % 1000u) / 250.0f - 2.0f;
    }
    /* Reference answers on the caller's thread only. */
    float ref_loss[4];
    float *ref_grad[4];
    lossfn_set_num_threads(1);
    for (int k = 0; k < 4; k++) {
        ref_grad[k] = malloc(N * sizeof(float));
        CHECK(run(k, &ref_loss[k], ref_grad[k]) == LOSSFN_OK, "reference %d", k);
    }
    lossfn_set_num_threads(0);

    pthread_t threads[CALLERS];
    job jobs[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        jobs[i].which = i;
        jobs[i].grad = malloc(N * sizeof(float));
        pthread_create(&threads[i], NULL, caller, &jobs[i]);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(threads[i], NULL);
        int k = i % 4;
        CHECK(memcmp(&jobs[i].loss, &ref_loss[k], sizeof(float)) == 0, "caller %d loss %g vs %g", i, jobs[i].loss, ref_loss[k]);
        CHECK(memcmp(jobs[i].grad, ref_grad[k], N * sizeof(float)) == 0, "caller %d gradient differs", i);
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
    float *grad = malloc(N * sizeof(float));
    CHECK(run(1, &loss, grad) == LOSSFN_OK, "parent before fork");
    pid_t pid = fork();
    if (pid == 0) {
        alarm(20); /* a deadlock kills the child, and the parent sees it */
        float child_loss;
        int ok = run(1, &child_loss, grad) == LOSSFN_OK && memcmp(&child_loss, &ref_loss[1], sizeof(float)) == 0 &&
                 memcmp(grad, ref_grad[1], N * sizeof(float)) == 0;
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child: status %d", status);
    CHECK(run(1, &loss, grad) == LOSSFN_OK && memcmp(&loss, &ref_loss[1], sizeof(float)) == 0, "parent after fork");
    free(grad);
    for (int k = 0; k < 4; k++) free(ref_grad[k]);
    lossfn_set_num_threads(0);
    return finish();
}
