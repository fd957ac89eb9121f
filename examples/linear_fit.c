/* Fit y = a*x + b to noisy data with outliers by gradient descent on the Smooth L1 loss.
 * lossfn returns the loss and d loss / d prediction in one call; the chain rule to (a, b) is ours.
 * Build: cc linear_fit.c -llossfn -lm (or the CMake target example_linear_fit). */
#include <lossfn.h>
#include <stdio.h>
#include <stdlib.h>

#define N 256

int main(void) {
    float x[N], y[N], pred[N], grad[N];
    /* Data: y = 3x - 1 plus small deterministic noise, and every 16th point an outlier. */
    for (int i = 0; i < N; i++) {
        x[i] = (float)i / N * 4.0f - 2.0f;
        y[i] = 3.0f * x[i] - 1.0f + 0.05f * (float)((i * 7919) % 11 - 5) / 5.0f;
        if (i % 16 == 0) y[i] += 20.0f;
    }
    lossfn_regression_options opts = lossfn_regression_options_default(); /* MEAN, beta = 1 */
    float a = 0.0f, b = 0.0f, lr = 0.5f, first = 0.0f, loss = 0.0f;
    for (int step = 0; step <= 200; step++) {
        for (int i = 0; i < N; i++) pred[i] = a * x[i] + b;
        lossfn_status st = lossfn_smooth_l1_loss_f32(pred, y, NULL, N, &opts, &loss, grad);
        if (st != LOSSFN_OK) {
            char msg[256];
            lossfn_last_error(msg, sizeof msg);
            fprintf(stderr, "%s: %s\n", lossfn_status_name(st), msg);
            return 1;
        }
        if (step == 0) first = loss;
        float ga = 0.0f, gb = 0.0f;
        for (int i = 0; i < N; i++) {
            ga += grad[i] * x[i];
            gb += grad[i];
        }
        a -= lr * ga;
        b -= lr * gb;
        if (step % 40 == 0) printf("step %3d  smooth L1 %.4f  a %.3f  b %.3f\n", step, loss, a, b);
    }
    printf("fitted y = %.3f x %+.3f (true: 3x - 1; outliers barely pull a robust loss)\n", a, b);
    /* The example doubles as a test: the loss must fall and the fit must be close. */
    return (loss < 0.5f * first && a > 2.8f && a < 3.2f && b > -1.3f && b < -0.5f) ? 0 : 1;
}
