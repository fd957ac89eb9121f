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

// Each form's losses are called through its list (LOSSFN_<FORM>_LOSSES in lossfn.h), so a loss
// of an existing form is tested here without an edit.
#define LOSSFN_TEST_OPTIONAL_NULL_(name, ...) CHECK(same(lossfn::name(__VA_ARGS__, nullptr), lossfn::name(__VA_ARGS__)));

template <class T> void regression_and_boxes() {
    const auto x = ramp<T>(8, -1.0, 0.4), t = ramp<T>(8, 0.2, 0.3);
    const auto ro = lossfn_regression_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, t, ro)
    LOSSFN_REGRESSION_LOSSES(CALL)
#undef CALL
    const auto no_grad = lossfn::huber_loss(x, t, ro, nullptr, false);  // with_grad after a nullptr weight
    CHECK(no_grad.ok() && no_grad.grad.empty() && no_grad.loss == lossfn::huber_loss(x, t, ro).loss);

    // Two xyxy boxes against two targets.
    const std::vector<T> p{T(0), T(0), T(2), T(2), T(1), T(1), T(4), T(3)};
    const std::vector<T> q{T(0.5), T(0), T(2), T(2.5), T(1), T(0.5), T(3.5), T(3)};
    const auto bo = lossfn_box_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, p, q, bo)
    LOSSFN_BOX_LOSSES(CALL)
#undef CALL
    CHECK(lossfn::box_iou_matrix(p, q).size() == 4);

    // Two rotated boxes (cx, cy, w, h, angle) against two targets.
    const std::vector<T> rp{T(1), T(1), T(2), T(1), T(0.3), T(4), T(2), T(3), T(2), T(-0.5)};
    const std::vector<T> rq{T(1.2), T(0.9), T(2.2), T(1.1), T(0.2), T(4.5), T(2), T(2.5), T(2), T(-0.2)};
    const auto rbo = lossfn_rotated_box_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, rp, rq, rbo)
    LOSSFN_ROTATED_BOX_LOSSES(CALL)
#undef CALL
    CHECK(lossfn::probiou_matrix(rp, rq).size() == 4);

    // DFL: 2 boxes x 4 sides x 8 bins, targets inside [0, bins - 1).
    const auto logits = ramp<T>(2 * 4 * 8, -2.0, 0.7), dt = ramp<T>(2 * 4, 0.5, 0.9);
    const auto dfo = lossfn_dfl_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, logits, dt, 4, 8, dfo)
    LOSSFN_DFL_LOSSES(CALL)
#undef CALL

    // The box branch: 2 anchors x 4 sides x 8 bins, targets around the anchors.
    const std::vector<T> anchors{T(3), T(4), T(10.5), T(2.5)}, boxes{T(1), T(1.5), T(6), T(7), T(7), T(1), T(12), T(5.5)};
    const auto dbo = lossfn_dfl_box_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, logits, anchors, boxes, 8, dbo)
    LOSSFN_DFL_BOX_LOSSES(CALL)
#undef CALL

    // Keypoints (no optional argument): 2 instances x 3 keypoints.
    const auto kp = ramp<T>(12, 1.0, 2.0), kt = ramp<T>(12, 1.5, 1.9);
    const std::vector<T> vis{T(1), T(1), T(0), T(1), T(1), T(1)}, area{T(40), T(90)}, sig{T(0.025), T(0.079), T(0.107)};
#define CALL(name) CHECK(lossfn::name(kp, kt, vis, area, sig).ok());
    LOSSFN_KEYPOINT_LOSSES(CALL)
#undef CALL
}

template <class T> void classification_and_overlap() {
    // [N = 2, C = 3, S = 4] NCHW.
    const auto shape = lossfn::class_shape(2, 3, 4, LOSSFN_LAYOUT_NCS);
    const auto x = ramp<T>(24, -1.5, 0.45), probs = ramp<T>(24, 0.1, 0.12);
    const std::vector<int64_t> labels{0, 1, 2, 1, 2, 0, 0, 1};

    const auto ce = lossfn_cross_entropy_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, labels, shape, ce)
    LOSSFN_CROSS_ENTROPY_INDEX_LOSSES(CALL)
#undef CALL
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, ce)
    LOSSFN_CROSS_ENTROPY_LOSSES(CALL)
#undef CALL
    const auto bce = lossfn_bce_options_default();
#define CALL(name)                                                                            \
    LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, bce, nullptr) /* pos_weight */          \
    LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, bce) /* weight, before a pos_weight */
    LOSSFN_BCE_LOSSES(CALL)
#undef CALL
    const auto fo = lossfn_focal_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, fo)
    LOSSFN_FOCAL_LOSSES(CALL)
#undef CALL
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, labels, shape, fo)
    LOSSFN_FOCAL_INDEX_LOSSES(CALL)
#undef CALL
    const auto qo = lossfn_quality_focal_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, qo)
    LOSSFN_QUALITY_FOCAL_LOSSES(CALL)
#undef CALL
    // No optional argument.
#define CALL(name) CHECK(lossfn::name(x, shape).ok());
    LOSSFN_ENTROPY_LOSSES(CALL)
#undef CALL
#define CALL(name) CHECK(lossfn::name(x, probs, shape).ok());
    LOSSFN_KL_DIV_LOSSES(CALL)
    LOSSFN_DISTILLATION_LOSSES(CALL)
#undef CALL

    const auto oo = lossfn_overlap_options_default();
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, labels, shape, oo)
    LOSSFN_OVERLAP_INDEX_LOSSES(CALL)
#undef CALL
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, probs, shape, oo)
    LOSSFN_OVERLAP_LOSSES(CALL)
#undef CALL
    // Generalized Dice: no optional argument.
#define CALL(name) CHECK(lossfn::name(x, labels, shape).ok());
    LOSSFN_GENERALIZED_DICE_INDEX_LOSSES(CALL)
#undef CALL
#define CALL(name) CHECK(lossfn::name(x, probs, shape).ok());
    LOSSFN_GENERALIZED_DICE_LOSSES(CALL)
#undef CALL
    // The two phases of the batch score: phase 2 from phase 1's statistics of this batch alone is
    // the one-call loss with batch = true (bit for bit); class_weight nullptr = none.
    {
        auto bo = oo;
        bo.batch = true;
        const auto one = lossfn::dice_loss(x, labels, shape, bo);
#define CALL(name) const auto st_##name = lossfn::name(LOSSFN_OVERLAP_DICE, x, labels, shape, bo); CHECK(st_##name.size() == lossfn::overlap_stats_size(shape, bo));
        LOSSFN_OVERLAP_STATS_INDEX_LOSSES(CALL)
#undef CALL
#define CALL(name) CHECK(same(lossfn::name(LOSSFN_OVERLAP_DICE, x, labels, shape, bo, st_overlap_stats, nullptr), one));
        LOSSFN_OVERLAP_FROM_STATS_INDEX_LOSSES(CALL)
#undef CALL
        const auto one_soft = lossfn::tversky_loss_soft(x, probs, shape, bo);
#define CALL(name) const auto st_##name = lossfn::name(LOSSFN_OVERLAP_TVERSKY, x, probs, shape, bo); CHECK(st_##name.size() == lossfn::overlap_stats_size(shape, bo));
        LOSSFN_OVERLAP_STATS_LOSSES(CALL)
#undef CALL
#define CALL(name) CHECK(same(lossfn::name(LOSSFN_OVERLAP_TVERSKY, x, probs, shape, bo, st_overlap_stats_soft, nullptr), one_soft));
        LOSSFN_OVERLAP_FROM_STATS_LOSSES(CALL)
#undef CALL
    }
    // Dice fused with cross entropy / focal: the second struct's nullptr means its defaults.
    const auto dce = lossfn_cross_entropy_options_default();
    CHECK(same(lossfn::dice_ce_loss(x, labels, shape, oo, &dce), lossfn::dice_ce_loss(x, labels, shape, oo, nullptr)));
    const auto dfo = lossfn_focal_options_default();
    CHECK(same(lossfn::dice_focal_loss(x, labels, shape, oo, &dfo), lossfn::dice_focal_loss(x, labels, shape, oo, nullptr)));
#define CALL(name) LOSSFN_TEST_OPTIONAL_NULL_(name, x, labels, shape, oo, nullptr)
    LOSSFN_DICE_CE_LOSSES(CALL)
    LOSSFN_DICE_FOCAL_LOSSES(CALL)
#undef CALL
    // Lovász (no optional argument): Lovász-Softmax on the labels; the hinge on one class.
#define CALL(name) CHECK(lossfn::name(x, labels, shape).ok());
    LOSSFN_LOVASZ_INDEX_LOSSES(CALL)
#undef CALL
    const auto binary_shape = lossfn::class_shape(2, 1, 4, LOSSFN_LAYOUT_NCS);
    const std::vector<T> hx{T(-1.5), T(0.25), T(2), T(0), T(1), T(-0.5), T(0.75), T(-2)}, ht{T(0), T(1), T(1), T(0), T(1), T(0), T(0), T(1)};
#define CALL(name) CHECK(lossfn::name(hx, ht, binary_shape).ok());
    LOSSFN_LOVASZ_LOSSES(CALL)
#undef CALL
}

}  // namespace

int main() {
    regression_and_boxes<float>();
    regression_and_boxes<double>();
    classification_and_overlap<float>();
    classification_and_overlap<double>();
    return finish();
}
