/* A segmentation training step on NCHW logits with ignore_index.
 *
 * Data: a batch of 2 "images" of 48x48 pixels with 3 feature channels (a noisy colour); each
 * pixel's label is the colour it was drawn from (3 classes), and a 3-pixel border is labelled
 * 255, the "void" label of VOC-style masks, passed as ignore_index. Model: a 1x1 convolution
 * (logits[n, c, h, w] = sum_k W[c][k] * image[n, k, h, w] + b[c]), i.e. a per-pixel linear
 * classifier. Each step asks lossfn for the mean cross entropy over the labelled pixels
 * (LOSSFN_LAYOUT_NCS: the class planes are contiguous, as a framework stores NCHW) and its
 * gradient, which is exactly 0 on the void border, then backpropagates through the
 * convolution and takes an SGD step.
 *
 * Build: cc -std=c99 segmentation_step.c -llossfn -lm (or the CMake target
 * example_segmentation_step). */
#include <lossfn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define B 2
#define K 3 /* input channels */
#define C 3 /* classes */
#define H 48
#define W 48
#define S (H * W)
#define BORDER 3
#define VOID 255
#define STEPS 40
#define LR 1.0f

static void check(lossfn_status st) {
    if (st != LOSSFN_OK) {
        char msg[256];
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", lossfn_status_name(st), msg);
        exit(1);
    }
}

static float noise(void) { return ((float)rand() / (float)RAND_MAX - 0.5f) * 0.8f; }

int main(void) {
    static float image[B * K * S], logits[B * C * S], grad[B * C * S];
    static int64_t label[B * S];
    const float colour[C][K] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    float wt[C][K] = {{0}}, bias[C] = {0};
    srand(3);
    for (int n = 0; n < B; n++)
        for (int h = 0; h < H; h++)
            for (int x = 0; x < W; x++) {
                int s = h * W + x, cls = ((h / 8) + (x / 12) + n) % C;
                int border = h < BORDER || x < BORDER || h >= H - BORDER || x >= W - BORDER;
                label[n * S + s] = border ? VOID : cls;
                for (int k = 0; k < K; k++) image[(n * K + k) * S + s] = colour[cls][k] + noise();
            }

    lossfn_cross_entropy_options opts = lossfn_cross_entropy_options_default();
    opts.ignore_index = VOID;
    lossfn_shape shape = {B, C, S, LOSSFN_LAYOUT_NCS};
    float loss = 0, first = 0, acc = 0;
    for (int step = 0; step <= STEPS; step++) {
        for (int n = 0; n < B; n++)
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) {
                    float v = bias[c];
                    for (int k = 0; k < K; k++) v += wt[c][k] * image[(n * K + k) * S + s];
                    logits[(n * C + c) * S + s] = v;
                }
        check(lossfn_cross_entropy_f32(logits, label, NULL, shape, &opts, &loss, grad));
        int correct = 0, counted = 0, void_grad = 0;
        for (int n = 0; n < B; n++)
            for (int s = 0; s < S; s++) {
                int best = 0;
                for (int c = 1; c < C; c++)
                    if (logits[(n * C + c) * S + s] > logits[(n * C + best) * S + s]) best = c;
                if (label[n * S + s] == VOID) {
                    for (int c = 0; c < C; c++) void_grad += grad[(n * C + c) * S + s] != 0.0f;
                } else {
                    counted++;
                    correct += best == label[n * S + s];
                }
            }
        acc = (float)correct / counted;
        if (void_grad) {
            fprintf(stderr, "gradient on %d void pixels\n", void_grad);
            return 1;
        }
        if (step == 0) first = loss;
        if (step % 10 == 0) printf("step %2d  loss %.4f  pixel accuracy %.3f (%d labelled pixels)\n", step, loss, acc, counted);
        /* Backward through the 1x1 convolution. */
        for (int c = 0; c < C; c++) {
            float gb = 0, gw[K] = {0};
            for (int n = 0; n < B; n++)
                for (int s = 0; s < S; s++) {
                    float g = grad[(n * C + c) * S + s];
                    gb += g;
                    for (int k = 0; k < K; k++) gw[k] += g * image[(n * K + k) * S + s];
                }
            bias[c] -= LR * gb;
            for (int k = 0; k < K; k++) wt[c][k] -= LR * gw[k];
        }
    }
    printf("loss %.4f -> %.4f, pixel accuracy %.3f; the void border got no gradient\n", first, loss, acc);
    if (!(loss < 0.5f * first && acc > 0.95f)) {
        fprintf(stderr, "training did not converge as expected\n");
        return 1;
    }
    return 0;
}
