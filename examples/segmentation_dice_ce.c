/* A segmentation training step in C with DiceCE, the usual Dice + cross entropy: a per-pixel
 * linear classifier turns 3-channel images into NCHW logits over 4 classes (background, square,
 * disc, stripe). lossfn_dice_ce_loss (MONAI DiceCELoss: Dice with softmax inside, MONAI defaults,
 * plus cross entropy, on one softmax) returns [total, dice, ce] and d total / d logits in one call.
 * The chain rule to the weights is ours. The loss falls over the steps.
 * Build: cc segmentation_dice_ce.c -llossfn -lm (or the CMake target example_segmentation_dice_ce). */
#include <lossfn.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4  /* images */
#define C 4  /* classes */
#define F 3  /* input channels */
#define H 32
#define W 32
#define S (H * W)

static unsigned long long rng = 12345;
static float noise(void) { /* uniform in [-0.4, 0.4) */
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng >> 40) * (1.0 / (1 << 24))) * 0.8f - 0.4f;
}

int main(void) {
    static int64_t label[N * S];
    static float image[N * F * S], logits[N * C * S], grad[N * C * S];
    static const float colour[C][F] = {{0.2f, 0.2f, 0.2f}, {0.9f, 0.1f, 0.1f}, {0.1f, 0.8f, 0.2f}, {0.2f, 0.3f, 0.9f}};
    for (int n = 0; n < N; n++) {
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                int cx = 8 + 4 * n, cy = 10 + 3 * n, dy = y - (20 - 2 * n), k = 0;
                if (abs(x - cx) < 5 && abs(y - cy) < 5) k = 1;
                if ((x - 22) * (x - 22) + dy * dy < 36) k = 2;
                if (y >= 27 && y < 30) k = 3;
                label[n * S + y * W + x] = k;
                for (int f = 0; f < F; f++) image[(n * F + f) * S + y * W + x] = colour[k][f] + noise();
            }
        }
    }

    float weight[C][F] = {{0}}, bias[C] = {0}, parts[3] = {0}, loss = 0.0f, first = 0.0f;
    const float lr = 5.0f;
    lossfn_overlap_options opts = lossfn_overlap_options_default(); /* softmax, MEAN, smooth 1e-5 */
    lossfn_cross_entropy_options ce_opts = lossfn_cross_entropy_options_default(); /* MEAN; loss_weight = lambda_ce */
    lossfn_shape shape = {N, C, S, LOSSFN_LAYOUT_NCS};
    for (int step = 0; step <= 60; step++) {
        /* Forward: logits[n, c, s] = bias[c] + sum_f weight[c][f] * image[n, f, s]. */
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) {
                    float z = bias[c];
                    for (int f = 0; f < F; f++) z += weight[c][f] * image[(n * F + f) * S + s];
                    logits[(n * C + c) * S + s] = z;
                }
        lossfn_status st = lossfn_dice_ce_loss_f32(logits, label, NULL, shape, &opts, &ce_opts, parts, grad);
        if (st != LOSSFN_OK) {
            char msg[256];
            lossfn_last_error(msg, sizeof msg);
            fprintf(stderr, "%s: %s\n", lossfn_status_name(st), msg);
            return 1;
        }
        loss = parts[0];
        if (step == 0) first = loss;
        /* Backward to the weights, then an SGD step. */
        float gw[C][F] = {{0}}, gb[C] = {0};
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int s = 0; s < S; s++) {
                    float g = grad[(n * C + c) * S + s];
                    gb[c] += g;
                    for (int f = 0; f < F; f++) gw[c][f] += g * image[(n * F + f) * S + s];
                }
        for (int c = 0; c < C; c++) {
            bias[c] -= lr * gb[c];
            for (int f = 0; f < F; f++) weight[c][f] -= lr * gw[c][f];
        }
        if (step % 10 == 0) {
            int right = 0;
            for (int n = 0; n < N; n++)
                for (int s = 0; s < S; s++) {
                    int best = 0;
                    for (int c = 1; c < C; c++)
                        if (logits[(n * C + c) * S + s] > logits[(n * C + best) * S + s]) best = c;
                    right += best == label[n * S + s];
                }
            printf("step %2d  DiceCE %.4f (dice %.4f + ce %.4f)  pixel accuracy %.3f\n", step, loss, parts[1], parts[2],
                   (double)right / (N * S));
        }
    }
    /* The example doubles as a test: the loss must fall. */
    return loss < 0.6f * first ? 0 : 1;
}
