/* A classification head trained with label-smoothed cross entropy on [N, C] logits.
 *
 * Data: 4 Gaussian blobs in 8 dimensions (one per class). Model: logits = x W + b. Each step
 * asks lossfn for the mean cross entropy with label smoothing 0.1 and its gradient
 * d loss / d logits ([N, C], row-major: LOSSFN_LAYOUT_NSC), backpropagates it by hand
 * (dW = x^T dlogits, db = sum of the rows) and takes an SGD step. The loss falls and the
 * accuracy rises; label smoothing keeps the loss above its floor
 * -(1 - eps + eps/C) ln(1 - eps + eps/C) - (C-1)(eps/C) ln(eps/C).
 *
 * Build: cc -std=c99 classification_head.c -llossfn -lm (or the CMake target
 * example_classification_head). */
#include <lossfn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 512 /* samples */
#define D 8   /* features */
#define C 4   /* classes */
#define STEPS 60
#define LR 0.5f

static void check(lossfn_status st) {
    if (st != LOSSFN_OK) {
        char msg[256];
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", lossfn_status_name(st), msg);
        exit(1);
    }
}

static float gauss(void) {
    float u = ((float)rand() + 1.0f) / ((float)RAND_MAX + 2.0f), v = (float)rand() / (float)RAND_MAX;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

int main(void) {
    static float x[N * D], w[D * C], b[C], logits[N * C], grad[N * C], centre[C][D];
    static int64_t y[N];
    srand(7);
    for (int c = 0; c < C; c++)
        for (int d = 0; d < D; d++) centre[c][d] = 2.0f * gauss();
    for (int i = 0; i < N; i++) {
        y[i] = i % C;
        for (int d = 0; d < D; d++) x[i * D + d] = centre[y[i]][d] + gauss();
    }

    lossfn_cross_entropy_options opts = lossfn_cross_entropy_options_default();
    opts.label_smoothing = 0.1;
    lossfn_shape shape = {N, C, 1, LOSSFN_LAYOUT_NSC};
    float first = 0, loss = 0, acc = 0, first_acc = 0;
    for (int step = 0; step <= STEPS; step++) {
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++) {
                float s = b[c];
                for (int d = 0; d < D; d++) s += x[i * D + d] * w[d * C + c];
                logits[i * C + c] = s;
            }
        check(lossfn_cross_entropy_f32(logits, y, NULL, shape, &opts, &loss, grad));
        int correct = 0;
        for (int i = 0; i < N; i++) {
            int best = 0;
            for (int c = 1; c < C; c++)
                if (logits[i * C + c] > logits[i * C + best]) best = c;
            correct += best == y[i];
        }
        acc = (float)correct / N;
        if (step == 0) {
            first = loss;
            first_acc = acc;
        }
        if (step % 10 == 0) printf("step %2d  loss %.4f  accuracy %.3f\n", step, loss, acc);
        /* Backward through the linear layer; grad already holds d(mean loss)/d logits. */
        for (int c = 0; c < C; c++) {
            float gb = 0;
            for (int i = 0; i < N; i++) gb += grad[i * C + c];
            b[c] -= LR * gb;
            for (int d = 0; d < D; d++) {
                float gw = 0;
                for (int i = 0; i < N; i++) gw += x[i * D + d] * grad[i * C + c];
                w[d * C + c] -= LR * gw;
            }
        }
    }
    double eps = opts.label_smoothing, hi = 1 - eps + eps / C, lo = eps / C;
    double floor_ = -hi * log(hi) - (C - 1) * lo * log(lo);
    printf("loss %.4f -> %.4f (label-smoothing floor %.4f), accuracy %.3f -> %.3f\n", first, loss, floor_, first_acc, acc);
    if (!(loss < 0.5f * first && loss > floor_ && acc > 0.9f)) {
        fprintf(stderr, "training did not converge as expected\n");
        return 1;
    }
    return 0;
}
