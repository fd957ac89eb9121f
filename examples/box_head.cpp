// One detector box head, trained on its own: YOLO-style raw outputs (tx, ty, tw, th) per
// assigned anchor are decoded to (cx, cy, w, h) boxes, lossfn gives the CIoU loss and
// d loss / d(cx, cy, w, h) in one call, and the chain rule through the decoding gives the
// gradient of the raw outputs. A few gradient-descent steps and the mean IoU rises.
//
// Build: c++ -std=c++17 box_head.cpp -llossfn (or the CMake target example_box_head).
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr float kStride = 32.0f;  // a 10x10 grid over a 320x320 image
const float kAnchors[3][2] = {{24, 32}, {64, 48}, {96, 128}};

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void push_box(std::vector<float> &v, float a, float b, float c, float d) {
    v.push_back(a);
    v.push_back(b);
    v.push_back(c);
    v.push_back(d);
}

struct Assigned {
    int gx, gy;      // grid cell holding the target's centre
    float aw, ah;    // anchor size
};

// Deterministic "dataset": n ground-truth boxes (cx, cy, w, h).
std::vector<float> make_targets(int n) {
    std::vector<float> t;
    unsigned s = 12345;
    auto uniform = [&](float lo, float hi) {
        s = s * 1664525u + 1013904223u;
        return lo + (hi - lo) * static_cast<float>(s >> 8) / 16777216.0f;
    };
    for (int i = 0; i < n; i++) {
        float w = uniform(16, 140), h = uniform(16, 140);
        float cx = uniform(w / 2, 320 - w / 2), cy = uniform(h / 2, 320 - h / 2);
        push_box(t, cx, cy, w, h);
    }
    return t;
}

// Decodes raw outputs into (cx, cy, w, h): cx = (gx + sigmoid(tx)) * stride, w = anchor_w * exp(tw).
std::vector<float> decode(const std::vector<float> &raw, const std::vector<Assigned> &a) {
    std::vector<float> boxes(raw.size());
    for (size_t i = 0; i < a.size(); i++) {
        const float *r = &raw[4 * i];
        boxes[4 * i + 0] = (a[i].gx + sigmoid(r[0])) * kStride;
        boxes[4 * i + 1] = (a[i].gy + sigmoid(r[1])) * kStride;
        boxes[4 * i + 2] = a[i].aw * std::exp(r[2]);
        boxes[4 * i + 3] = a[i].ah * std::exp(r[3]);
    }
    return boxes;
}

float mean_iou(const std::vector<float> &pred, const std::vector<float> &target) {
    // The IoU loss without gradient, unreduced: IoU = 1 - loss.
    auto r = lossfn::iou_loss(pred, target, lossfn::box_options(LOSSFN_BOX_CXCYWH, LOSSFN_REDUCTION_NONE), nullptr, false);
    double sum = 0;
    for (float l : r.loss) sum += 1.0 - l;
    return static_cast<float>(sum / r.loss.size());
}

}  // namespace

int main() {
    const int n = 64;
    std::vector<float> target = make_targets(n);

    // Assign each target to its cell and to the anchor with the best IoU (shapes compared at
    // the same centre, with lossfn's pairwise matrix).
    std::vector<Assigned> assigned;
    for (int i = 0; i < n; i++) {
        const float *t = &target[4 * i];
        std::vector<float> anchors, box{t[0], t[1], t[2], t[3]};
        for (const auto &an : kAnchors) push_box(anchors, t[0], t[1], an[0], an[1]);
        std::vector<float> iou = lossfn::box_iou_matrix(box, anchors, LOSSFN_BOX_CXCYWH, LOSSFN_IOU_KIND_IOU);
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (iou[k] > iou[best]) best = k;
        assigned.push_back({static_cast<int>(t[0] / kStride), static_cast<int>(t[1] / kStride), kAnchors[best][0], kAnchors[best][1]});
    }

    // The box head's raw outputs for the assigned anchors, as an untrained head gives them.
    std::vector<float> raw(4 * n, 0.0f);
    const lossfn_box_options opts = lossfn::box_options(LOSSFN_BOX_CXCYWH, LOSSFN_REDUCTION_SUM);
    const float lr = 0.2f;
    float first_iou = 0.0f, last_iou = 0.0f;
    for (int step = 0; step <= 100; step++) {
        std::vector<float> pred = decode(raw, assigned);
        lossfn::loss_grad<float> r = lossfn::ciou_loss(pred, target, opts);  // loss + d/d(cx, cy, w, h)
        last_iou = mean_iou(pred, target);
        if (step == 0) first_iou = last_iou;
        if (step % 20 == 0) std::printf("step %3d  CIoU loss %8.4f  mean IoU %.4f\n", step, r.value() / n, last_iou);
        // Chain rule through the decoding: dcx/dtx = stride * s (1 - s), dw/dtw = w.
        for (int i = 0; i < n; i++) {
            float *t = &raw[4 * i];
            const float *g = &r.grad[4 * i], *b = &pred[4 * i];
            float sx = sigmoid(t[0]), sy = sigmoid(t[1]);
            t[0] -= lr * g[0] * kStride * sx * (1 - sx);
            t[1] -= lr * g[1] * kStride * sy * (1 - sy);
            t[2] -= lr * g[2] * b[2];
            t[3] -= lr * g[3] * b[3];
        }
    }
    std::printf("mean IoU %.3f -> %.3f over 100 steps\n", first_iou, last_iou);
    // The example doubles as a test: the head must learn.
    return (last_iou > first_iou + 0.25f && last_iou > 0.8f) ? 0 : 1;
}
