// Every optional argument of every lossfn.hpp vector form accepts a plain `nullptr`, for float
// and double (T is deduced from the data vectors only), and gives the result of omitting it.
// The functions without optional arguments are called too, so that every vector form compiles
// for both types.
#include <lossfn.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "check.hpp"

namespace {

template <class T> bool same(const lossfn::loss_grad<T> &a, const lossfn::loss_grad<T> &b) {
    return a.ok() && b.ok() && a.loss == b.loss && a.grad == b.grad && !a.loss.empty() && std::isfinite(a.loss[0]);
}

template <class T> std::vector<T> ramp(std::size_t n, double lo, double step) {
    std::vector<T> v(n);
    for (std::size_t i = 0; i < n; i++) v[i] = static_cast<T>(lo + step * static_cast<double>(i % 7));
    return v;
}

template <class T> void regression_and_boxes() {
    const auto x = ramp<T>(8, -1.0, 0.4), t = ramp<T>(8, 0.2, 0.3);
    const auto ro = lossfn_regression_options_default();
    CHECK(same(lossfn::l1_loss(x, t, ro, nullptr), lossfn::l1_loss(x, t, ro)));
    CHECK(same(lossfn::mse_loss(x, t, ro, nullptr), lossfn::mse_loss(x, t, ro)));
    CHECK(same(lossfn::smooth_l1_loss(x, t, ro, nullptr), lossfn::smooth_l1_loss(x, t, ro)));
    CHECK(same(lossfn::huber_loss(x, t, ro, nullptr), lossfn::huber_loss(x, t, ro)));
    const auto no_grad = lossfn::huber_loss(x, t, ro, nullptr, false);  // with_grad after a nullptr weight
    CHECK(no_grad.ok() && no_grad.grad.empty() && no_grad.loss == lossfn::huber_loss(x, t, ro).loss);

    // Two xyxy boxes against two targets.
    const std::vector<T> p{T(0), T(0), T(2), T(2), T(1), T(1), T(4), T(3)};
    const std::vector<T> q{T(0.5), T(0), T(2), T(2.5), T(1), T(0.5), T(3.5), T(3)};
    const auto bo = lossfn_box_options_default();
    CHECK(same(lossfn::iou_loss(p, q, bo, nullptr), lossfn::iou_loss(p, q, bo)));
    CHECK(same(lossfn::giou_loss(p, q, bo, nullptr), lossfn::giou_loss(p, q, bo)));
    CHECK(same(lossfn::diou_loss(p, q, bo, nullptr), lossfn::diou_loss(p, q, bo)));
    CHECK(same(lossfn::ciou_loss(p, q, bo, nullptr), lossfn::ciou_loss(p, q, bo)));
    CHECK(same(lossfn::siou_loss(p, q, bo, nullptr), lossfn::siou_loss(p, q, bo)));
    CHECK(same(lossfn::eiou_loss(p, q, bo, nullptr), lossfn::eiou_loss(p, q, bo)));
    CHECK(same(lossfn::cdiou_loss(p, q, bo, nullptr), lossfn::cdiou_loss(p, q, bo)));
    CHECK(lossfn::box_iou_matrix(p, q).size() == 4);

    // DFL: 2 boxes x 4 sides x 8 bins, targets inside [0, bins - 1).
    const auto logits = ramp<T>(2 * 4 * 8, -2.0, 0.7), dt = ramp<T>(2 * 4, 0.5, 0.9);
    const auto dfo = lossfn_dfl_options_default();
    CHECK(same(lossfn::dfl_loss(logits, dt, 4, 8, dfo, nullptr), lossfn::dfl_loss(logits, dt, 4, 8, dfo)));

    // Keypoints (no optional argument): 2 instances x 3 keypoints.
    const auto kp = ramp<T>(12, 1.0, 2.0), kt = ramp<T>(12, 1.5, 1.9);
    const std::vector<T> vis{T(1), T(1), T(0), T(1), T(1), T(1)}, area{T(40), T(90)}, sig{T(0.025), T(0.079), T(0.107)};
    CHECK(lossfn::keypoint_oks_loss(kp, kt, vis, area, sig).ok());
}

template <class T> void classification_and_overlap() {
    // [N = 2, C = 3, S = 4] NCHW.
    const auto shape = lossfn::class_shape(2, 3, 4, LOSSFN_LAYOUT_NCS);
    const auto x = ramp<T>(24, -1.5, 0.45), probs = ramp<T>(24, 0.1, 0.12);
    const std::vector<int64_t> labels{0, 1, 2, 1, 2, 0, 0, 1};

    const auto ce = lossfn_cross_entropy_options_default();
    CHECK(same(lossfn::cross_entropy(x, labels, shape, ce, nullptr), lossfn::cross_entropy(x, labels, shape, ce)));
    CHECK(same(lossfn::cross_entropy_soft(x, probs, shape, ce, nullptr), lossfn::cross_entropy_soft(x, probs, shape, ce)));
    const auto bce = lossfn_bce_options_default();
    CHECK(same(lossfn::bce_with_logits(x, probs, shape, bce, nullptr, nullptr), lossfn::bce_with_logits(x, probs, shape, bce)));
    CHECK(same(lossfn::bce_with_logits(x, probs, shape, bce, nullptr), lossfn::bce_with_logits(x, probs, shape, bce)));
    const auto fo = lossfn_focal_options_default();
    CHECK(same(lossfn::sigmoid_focal_loss(x, probs, shape, fo, nullptr), lossfn::sigmoid_focal_loss(x, probs, shape, fo)));
    CHECK(same(lossfn::softmax_focal_loss(x, labels, shape, fo, nullptr), lossfn::softmax_focal_loss(x, labels, shape, fo)));
    const auto qo = lossfn_quality_focal_options_default();
    CHECK(same(lossfn::varifocal_loss(x, probs, shape, qo, nullptr), lossfn::varifocal_loss(x, probs, shape, qo)));
    CHECK(same(lossfn::quality_focal_loss(x, probs, shape, qo, nullptr), lossfn::quality_focal_loss(x, probs, shape, qo)));
    // No optional argument.
    CHECK(lossfn::entropy(x, shape).ok());
    CHECK(lossfn::kl_div(x, probs, shape).ok());
    CHECK(lossfn::kl_div_logits(x, probs, shape).ok());

    const auto oo = lossfn_overlap_options_default();
    CHECK(same(lossfn::dice_loss(x, labels, shape, oo, nullptr), lossfn::dice_loss(x, labels, shape, oo)));
    CHECK(same(lossfn::dice_loss_soft(x, probs, shape, oo, nullptr), lossfn::dice_loss_soft(x, probs, shape, oo)));
    CHECK(same(lossfn::tversky_loss(x, labels, shape, oo, nullptr), lossfn::tversky_loss(x, labels, shape, oo)));
    CHECK(same(lossfn::tversky_loss_soft(x, probs, shape, oo, nullptr), lossfn::tversky_loss_soft(x, probs, shape, oo)));
}

}  // namespace

int main() {
    regression_and_boxes<float>();
    regression_and_boxes<double>();
    classification_and_overlap<float>();
    classification_and_overlap<double>();
    return finish();
}
