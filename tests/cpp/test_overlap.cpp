// lossfn.hpp overlap wrappers: Dice / Tversky overloads (float, double, index, soft), vector
// conveniences (sizes, NONE outputs), exceptions.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>

#include "check.hpp"

int main() {
    // Probabilities as input (activation NONE), one sample, 2 classes, 4 positions (NCS).
    lossfn_shape shape{1, 2, 4, LOSSFN_LAYOUT_NCS};
    std::vector<double> p{0.9, 0.8, 0.3, 0.1, 0.1, 0.2, 0.7, 0.9};
    std::vector<int64_t> t{0, 0, 1, 1};
    lossfn_overlap_options o = lossfn_overlap_options_default();
    o.activation = LOSSFN_ACTIVATION_NONE;
    o.reduction = LOSSFN_REDUCTION_NONE;
    o.smooth_nr = o.smooth_dr = 0.0;
    auto d = lossfn::dice_loss(p, t, shape, o);
    CHECK(d.loss.size() == 2 && d.grad.size() == 8);
    // class 0: TP = 1.7, sum p = 2.1, sum g = 2 -> 1 - 3.4 / 4.1; class 1: TP = 1.6, sum p = 1.9.
    CHECK(std::fabs(d.loss[0] - (1.0 - 3.4 / 4.1)) < 1e-15);
    CHECK(std::fabs(d.loss[1] - (1.0 - 3.2 / 3.9)) < 1e-15);
    // d loss0 / d p(0, s) = -(2 g Q - N) / Q^2.
    CHECK(std::fabs(d.grad[0] + (2.0 * 4.1 - 3.4) / (4.1 * 4.1)) < 1e-15);

    // Soft targets equal to the one-hot give the same values; float overloads agree with double.
    std::vector<double> onehot{1, 1, 0, 0, 0, 0, 1, 1};
    auto ds = lossfn::dice_loss_soft(p, onehot, shape, o);
    CHECK(ds.loss == d.loss && ds.grad == d.grad);
    std::vector<float> pf(p.begin(), p.end());
    auto df = lossfn::dice_loss(pf, t, shape, o);
    CHECK(std::fabs(df.loss[1] - d.loss[1]) < 1e-6);

    // Tversky, pooled over the batch, class weights, MEAN; pointer overload and no gradient.
    o.reduction = LOSSFN_REDUCTION_MEAN;
    o.batch = true;
    std::vector<double> cw{0.5, 2.0};
    auto tv = lossfn::tversky_loss(p, t, shape, o, &cw, false);
    CHECK(tv.loss.size() == 1 && tv.grad.empty());
    double tp0 = 1.7, fp0 = 0.4, fn0 = 0.3, tp1 = 1.6, fp1 = 0.3, fn1 = 0.4;
    double l0 = 1.0 - tp0 / (tp0 + 0.3 * fp0 + 0.7 * fn0), l1 = 1.0 - tp1 / (tp1 + 0.3 * fp1 + 0.7 * fn1);
    CHECK(std::fabs(tv.value() - (0.5 * l0 + 2.0 * l1) / 2.5) < 1e-15);
    double loss = 0.0;
    lossfn::tversky_loss(p.data(), t.data(), cw.data(), shape, &o, &loss, nullptr);
    CHECK(loss == tv.value());
    CHECK(lossfn::overlap_loss_size(shape, o) == 1);
    o.reduction = LOSSFN_REDUCTION_NONE;
    o.include_background = false;
    CHECK(lossfn::overlap_loss_size(shape, o) == 1);
    o.batch = false;
    CHECK(lossfn::overlap_loss_size(lossfn_shape{3, 5, 7, LOSSFN_LAYOUT_NSC}, o) == 12);

    // Errors: sizes checked by the wrapper, targets and options by the library.
    try {
        lossfn::dice_loss(p, std::vector<int64_t>{0, 1}, shape);
        CHECK(false);
    } catch (const lossfn::error &e) {
        CHECK(e.status() == LOSSFN_ERROR_INVALID_SIZE);
    }
    try {
        lossfn::dice_loss(p, std::vector<int64_t>{0, 2, 1, 1}, shape);
        CHECK(false);
    } catch (const lossfn::error &e) {
        CHECK(e.status() == LOSSFN_ERROR_INVALID_TARGET);
        CHECK(std::string(e.what()).find("`target`[1]") != std::string::npos);
    }
    try {
        lossfn_overlap_options bad = lossfn_overlap_options_default();
        bad.gamma = 0.0;
        lossfn::tversky_loss_soft(p, onehot, shape, bad);
        CHECK(false);
    } catch (const lossfn::error &e) {
        CHECK(e.status() == LOSSFN_ERROR_INVALID_OPTION);
        CHECK(std::string(e.what()).find("gamma") != std::string::npos);
    }
    return finish();
}
