/* Why the IoU loss family exists: a box-regression simulation in the spirit of the DIoU paper
 * (Zheng et al., AAAI 2020, section 3).
 *
 * Seven targets of area 1 and aspect ratios 1:4 ... 4:1 sit at (10, 10). Predictions start at
 * 100 points spread uniformly over a disc of radius 3 around them, with 7 scales x 7 aspect
 * ratios each, so most of them do not overlap their target at all. Every box then follows
 * gradient descent on one loss, B <- B - lr * (2 - IoU) * dL/dB (the paper's update), in
 * (cx, cy, w, h); lossfn gives every box's loss and gradient in one call per step.
 *
 * The table shows the mean IoU after a number of steps, and the share of boxes still not
 * touching their target: the plain IoU loss has no gradient there (those boxes never move);
 * GIoU grows boxes until they overlap, quickly at first but then slowly pulling them in;
 * DIoU and CIoU pull centres together directly and end higher.
 *
 * Build: cc -std=c99 box_regression_sim.c -llossfn -lm (or the CMake target
 * example_box_regression_sim). */
#include <lossfn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define POINTS 100
#define SHAPES 7
#define N (SHAPES * SHAPES * SHAPES * POINTS) /* targets x scales x ratios x points */
#define STEPS 200
#define LR 0.1f

typedef lossfn_status (*box_loss_fn)(const float *, const float *, const float *, size_t, const lossfn_box_options *,
                                     float *, float *);

static void check(lossfn_status st) {
    if (st != LOSSFN_OK) {
        char msg[256];
        lossfn_last_error(msg, sizeof msg);
        fprintf(stderr, "%s: %s\n", lossfn_status_name(st), msg);
        exit(1);
    }
}

/* The IoU of every box with its target: 1 - the unreduced linear IoU loss (no gradient). */
static void ious(const float *pred, const float *target, float *iou) {
    lossfn_box_options o = lossfn_box_options_default();
    o.format = LOSSFN_BOX_CXCYWH;
    o.reduction = LOSSFN_REDUCTION_NONE;
    check(lossfn_iou_loss_f32(pred, target, NULL, N, &o, iou, NULL));
    for (size_t i = 0; i < N; i++) iou[i] = 1.0f - iou[i];
}

static double mean(const float *v, size_t n, int count_zeros) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += count_zeros ? (v[i] <= 0.0f) : v[i];
    return s / n;
}

int main(void) {
    static float start[4 * N], target[4 * N], pred[4 * N], grad[4 * N], iou[N];
    const float scales[SHAPES] = {0.5f, 0.67f, 0.75f, 1.0f, 1.33f, 1.5f, 2.0f};
    const float ratios[SHAPES] = {0.25f, 1.0f / 3, 0.5f, 1.0f, 2.0f, 3.0f, 4.0f};
    /* Points uniform on the disc of radius 3 (a fixed LCG, so the run is reproducible). */
    float px[POINTS], py[POINTS];
    unsigned s = 2020;
    for (int k = 0; k < POINTS; k++) {
        s = s * 1664525u + 1013904223u;
        float r = 3.0f * sqrtf((float)(s >> 8) / 16777216.0f);
        s = s * 1664525u + 1013904223u;
        float a = 6.2831853f * (float)(s >> 8) / 16777216.0f;
        px[k] = 10.0f + r * cosf(a);
        py[k] = 10.0f + r * sinf(a);
    }
    size_t i = 0;
    for (int t = 0; t < SHAPES; t++)
        for (int sc = 0; sc < SHAPES; sc++)
            for (int ar = 0; ar < SHAPES; ar++)
                for (int k = 0; k < POINTS; k++, i++) {
                    float tw = sqrtf(ratios[t]), pw = sqrtf(scales[sc] * ratios[ar]);
                    float *b = &start[4 * i], *g = &target[4 * i];
                    b[0] = px[k], b[1] = py[k], b[2] = pw, b[3] = scales[sc] / pw;
                    g[0] = 10.0f, g[1] = 10.0f, g[2] = tw, g[3] = 1.0f / tw;
                }
    ious(start, target, iou);
    printf("%d boxes; at the start: mean IoU %.3f, %.1f%% not overlapping their target\n\n", N, mean(iou, N, 0),
           100 * mean(iou, N, 1));

    const struct { const char *name; box_loss_fn f; } losses[] = {
        {"IoU", lossfn_iou_loss_f32}, {"GIoU", lossfn_giou_loss_f32},
        {"DIoU", lossfn_diou_loss_f32}, {"CIoU", lossfn_ciou_loss_f32},
    };
    const int report[] = {10, 20, 40, 80, 120, 200};
    double final_iou[4], stuck[4];
    printf("%-16s %8s %8s %8s %8s %8s %8s   %s\n", "mean IoU after", "10", "20", "40", "80", "120", "200", "still IoU 0");
    lossfn_box_options o = lossfn_box_options_default();
    o.format = LOSSFN_BOX_CXCYWH;
    o.reduction = LOSSFN_REDUCTION_SUM; /* each box gets its own gradient */
    for (int l = 0; l < 4; l++) {
        for (size_t j = 0; j < 4 * N; j++) pred[j] = start[j];
        printf("%-16s", losses[l].name);
        for (int step = 1, r = 0; step <= STEPS; step++) {
            float total;
            ious(pred, target, iou);
            check(losses[l].f(pred, target, NULL, N, &o, &total, grad));
            for (size_t j = 0; j < N; j++)
                for (int k = 0; k < 4; k++) pred[4 * j + k] -= LR * (2.0f - iou[j]) * grad[4 * j + k];
            if (step == report[r]) {
                ious(pred, target, iou);
                printf(" %8.3f", mean(iou, N, 0));
                r++;
            }
        }
        final_iou[l] = mean(iou, N, 0);
        stuck[l] = mean(iou, N, 1);
        printf("   %10.1f%%\n", 100 * stuck[l]);
    }
    /* The example doubles as a test of the family's point. */
    int ok = stuck[0] > 0.5 && stuck[1] < 0.01 && stuck[2] < 0.01 && stuck[3] < 0.01 && final_iou[1] > final_iou[0] + 0.3 &&
             final_iou[2] > final_iou[1] && final_iou[3] > final_iou[1];
    printf("\n%s\n", ok ? "IoU loss leaves non-overlapping boxes where they are; GIoU, DIoU and CIoU bring them in."
                        : "unexpected result");
    return ok ? 0 : 1;
}
