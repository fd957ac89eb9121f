// A YOLOv8-style training step on synthetic anchors: one head's raw outputs per anchor, box
// distribution logits (4 sides x 16 bins) and class logits, from a tiny linear head on fixed
// anchor features. The box branch is lossfn_dfl_box_loss (decode + CIoU + DFL, ultralytics'
// BboxLoss) on the foreground anchors, the classification branch lossfn_varifocal_loss on every
// anchor; both add their gradients into one buffer holding the gradient of the whole raw output
// (`accumulate`), and a few SGD steps on the head make both losses fall.
//
// Build: c++ -std=c++17 yolo_step.cpp -llossfn (or the CMake target example_yolo_step).
#include <lossfn.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr int kAnchors = 128;    // anchor points of one feature map
constexpr int kForeground = 48;  // anchors assigned to a target (ordered first: a trainer gathers
                                 // the fg_mask rows into a contiguous buffer, as ultralytics does)
constexpr int kBins = 16;        // reg_max
constexpr int kClasses = 5;
constexpr int kFeatures = 64;
constexpr int kBox = 4 * kBins;  // box logits per anchor

struct Rng {
    unsigned s = 2024;
    float uniform(float lo, float hi) {
        s = s * 1664525u + 1013904223u;
        return lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
    }
};

}  // namespace

int main() {
    Rng rng;
    // The data: anchor points on a 16 x 8 grid (cell centres, stride units), fixed features, and
    // for the foreground anchors a target box around the anchor and a class.
    std::vector<float> anchors, features(kAnchors * kFeatures), target, quality(kAnchors * kClasses, 0.0f);
    for (int i = 0; i < kAnchors; i++) {
        anchors.push_back(static_cast<float>(i % 16) + 0.5f);
        anchors.push_back(static_cast<float>(i / 16) + 0.5f);
        for (int f = 0; f < kFeatures; f++) features[i * kFeatures + f] = rng.uniform(-1, 1);
    }
    for (int i = 0; i < kForeground; i++) {
        const float ax = anchors[2 * i], ay = anchors[2 * i + 1];
        target.insert(target.end(), {ax - rng.uniform(0.5f, 12), ay - rng.uniform(0.5f, 12), ax + rng.uniform(0.5f, 12),
                                     ay + rng.uniform(0.5f, 12)});
        quality[i * kClasses + i % kClasses] = 1.0f;  // the assigned class's target score
    }
    const float target_scores_sum = kForeground;  // ultralytics' normaliser of both branches

    // The head: raw = features x W, W = [W_box | W_cls] (kFeatures x (kBox + kClasses)), from 0.
    const int kOut = kBox + kClasses;
    std::vector<float> w(kFeatures * kOut, 0.0f);
    // The raw outputs and their gradient, laid out [box logits of every anchor | class logits of
    // every anchor], so that each loss reads and writes one contiguous block.
    std::vector<float> raw(kAnchors * kOut), grad(kAnchors * kOut);
    float *box_logits = raw.data(), *cls_logits = raw.data() + kAnchors * kBox;
    float *box_grad = grad.data(), *cls_grad = grad.data() + kAnchors * kBox;

    lossfn_dfl_box_options box = lossfn_dfl_box_options_default();  // CIoU as ultralytics
    box.iou_weight = 7.5;                                             // hyp.box
    box.dfl_weight = 1.5;                                             // hyp.dfl
    box.avg_factor = target_scores_sum;
    box.accumulate = true;
    lossfn_quality_focal_options cls = lossfn_quality_focal_options_default();  // varifocal
    cls.avg_factor = target_scores_sum;
    cls.accumulate = true;
    const lossfn_shape cls_shape = lossfn::class_shape(kAnchors, kClasses);

    const float lr = 1.0f;
    float first[3] = {0, 0, 0}, last[3] = {0, 0, 0};
    for (int step = 0; step <= 60; step++) {
        for (int i = 0; i < kAnchors; i++)
            for (int o = 0; o < kOut; o++) {
                float s = 0;
                for (int f = 0; f < kFeatures; f++) s += features[i * kFeatures + f] * w[f * kOut + o];
                (o < kBox ? box_logits[i * kBox + o] : cls_logits[i * kClasses + o - kBox]) = s;
            }
        // One gradient buffer: zeroed once, each loss adds its part (the background anchors' box
        // rows keep 0).
        std::fill(grad.begin(), grad.end(), 0.0f);
        float box_loss[2], cls_loss[1];
        lossfn::dfl_box_loss(box_logits, anchors.data(), target.data(), nullptr, kForeground, kBins, &box, box_loss, box_grad);
        lossfn::varifocal_loss(cls_logits, quality.data(), nullptr, cls_shape, &cls, cls_loss, cls_grad);
        const float now[3] = {box_loss[0], box_loss[1], cls_loss[0]};
        if (step == 0) std::copy(now, now + 3, first);
        std::copy(now, now + 3, last);
        if (step % 10 == 0) std::printf("step %2d  box (CIoU) %.4f  dfl %.4f  cls (varifocal) %.4f\n", step, now[0], now[1], now[2]);
        // SGD on the head: dW = features^T x d raw.
        for (int f = 0; f < kFeatures; f++)
            for (int o = 0; o < kOut; o++) {
                float g = 0;
                for (int i = 0; i < kAnchors; i++)
                    g += features[i * kFeatures + f] * (o < kBox ? box_grad[i * kBox + o] : cls_grad[i * kClasses + o - kBox]);
                w[f * kOut + o] -= lr * g;
            }
    }
    std::printf("box %.3f -> %.3f, dfl %.3f -> %.3f, cls %.3f -> %.3f over 60 steps\n", first[0], last[0], first[1], last[1],
                first[2], last[2]);
    // The example doubles as a test: every branch must learn.
    const bool ok = last[0] < 0.7f * first[0] && last[1] < 0.7f * first[1] && last[2] < 0.7f * first[2];
    return ok ? 0 : 1;
}
