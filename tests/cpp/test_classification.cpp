// lossfn.hpp classification section: pointer and vector forms of every loss, float and double,
// layouts, and errors.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>

#include "check.hpp"

template <class T> static bool near(T a, double b, double tol) { return std::fabs(static_cast<double>(a) - b) <= tol; }

int main() {
    // Two positions, three classes, [N, C] rows: CE = mean(logsumexp(z) - z_y).
    std::vector<double> z{1.0, 2.0, 3.0, 0.5, 0.5, -1.0};
    std::vector<int64_t> y{2, 0};
    const lossfn_shape rows = lossfn::class_shape(2, 3);
    auto ce = lossfn::cross_entropy(z, y, rows);
    double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
    double l1 = std::log(2 * std::exp(0.5) + std::exp(-1.0)) - 0.5;
    CHECK(near(ce.value(), 0.5 * (l0 + l1), 1e-14));
    CHECK(ce.grad.size() == 6);
    double row_sum = ce.grad[0] + ce.grad[1] + ce.grad[2];
    CHECK(near(row_sum, 0.0, 1e-15));

    // The same tensor as NCS with spatial 2 (one sample): same per-position losses.
    std::vector<double> zc{1.0, 0.5, 2.0, 0.5, 3.0, -1.0};
    lossfn_cross_entropy_options none = lossfn_cross_entropy_options_default();
    none.reduction = LOSSFN_REDUCTION_NONE;
    auto a = lossfn::cross_entropy(zc, y, lossfn::class_shape(1, 3, 2, LOSSFN_LAYOUT_NCS), none);
    CHECK(a.loss.size() == 2 && near(a.loss[0], l0, 1e-14) && near(a.loss[1], l1, 1e-14));

    // float and double, pointer and vector forms agree for every loss.
    std::vector<float> zf(z.begin(), z.end()), tf{0.2f, 0.3f, 0.5f, 1.0f, 0.0f, 0.0f};
    std::vector<double> td{0.2, 0.3, 0.5, 1.0, 0.0, 0.0};
    auto s32 = lossfn::cross_entropy_soft(zf, tf, rows);
    auto s64 = lossfn::cross_entropy_soft(z, td, rows);
    CHECK(near(s32.value(), s64.value(), 1e-6));
    auto b32 = lossfn::bce_with_logits(zf, tf, rows);
    auto b64 = lossfn::bce_with_logits(z, td, rows);
    CHECK(near(b32.value(), b64.value(), 1e-6) && near(b32.grad[4], b64.grad[4], 1e-7));
    auto e = lossfn::entropy(z, rows);
    lossfn_entropy_options probs = lossfn_entropy_options_default();
    probs.input = LOSSFN_INPUT_PROBS;
    auto ep = lossfn::entropy(td, rows, probs);
    CHECK(near(ep.value(), 0.5 * -(0.2 * std::log(0.2) + 0.3 * std::log(0.3) + 0.5 * std::log(0.5)), 1e-7));
    CHECK(e.value() > 0 && std::isfinite(ep.grad[4]));
    std::vector<double> logq{std::log(0.2), std::log(0.3), std::log(0.5), std::log(0.6), std::log(0.2), std::log(0.2)};
    lossfn_kl_div_options bm = lossfn_kl_div_options_default();
    bm.reduction = LOSSFN_REDUCTION_BATCHMEAN;
    auto kl = lossfn::kl_div(logq, td, rows, bm);
    CHECK(near(kl.value(), 0.5 * (1.0 * (0.0 - std::log(0.6))), 1e-12));
    auto kd = lossfn::kl_div_logits(z, z, rows);
    CHECK(near(kd.value(), 0.0, 1e-15) && near(kd.grad[0], 0.0, 1e-15));
    auto sf32 = lossfn::sigmoid_focal_loss(zf, tf, rows);
    auto sf64 = lossfn::sigmoid_focal_loss(z, td, rows);
    CHECK(near(sf32.value(), sf64.value(), 1e-6));
    lossfn_focal_options g0 = lossfn_focal_options_default();
    g0.gamma = 0.0;
    auto fm = lossfn::softmax_focal_loss(z, y, rows, g0);
    CHECK(near(fm.value(), ce.value(), 1e-14));  // gamma 0, no alpha: cross entropy
    float lf[1], gf[6];
    lossfn::cross_entropy(zf.data(), y.data(), nullptr, rows, nullptr, lf, gf);
    CHECK(near(lf[0], ce.value(), 1e-6) && near(gf[2], ce.grad[2], 1e-7));
    auto nog = lossfn::entropy(zf, rows, lossfn_entropy_options_default(), false);
    CHECK(nog.grad.empty() && nog.loss[0] == lossfn::entropy(zf, rows).value());

    // Errors: a target out of range names its position; sizes are checked before calling.
    bool threw = false;
    try {
        std::vector<int64_t> bad{2, 3};
        lossfn::cross_entropy(z, bad, rows);
    } catch (const lossfn::error &err) {
        threw = err.status() == LOSSFN_ERROR_INVALID_TARGET && std::string(err.what()).find("(n=1, s=0) is 3") != std::string::npos;
    }
    CHECK(threw);
    threw = false;
    try {
        lossfn::entropy(z, lossfn::class_shape(3, 3));
    } catch (const lossfn::error &err) {
        threw = err.status() == LOSSFN_ERROR_INVALID_SIZE;
    }
    CHECK(threw);
    // Varifocal: one positive (q = 0.6, weight q) and one negative (0.75 sigma^2 BCE(x, 0)).
    {
        std::vector<double> x{0.4, -1.2}, q{0.6, 0.0};
        lossfn_quality_focal_options vo = lossfn_quality_focal_options_default();
        vo.reduction = LOSSFN_REDUCTION_NONE;
        auto v = lossfn::varifocal_loss(x, q, lossfn::class_shape(1, 2), vo);
        const double sp0 = std::log1p(std::exp(0.4)), sp1 = std::log1p(std::exp(-1.2)), s1 = 1.0 / (1.0 + std::exp(1.2));
        CHECK(v.ok() && std::fabs(v.loss[0] - 0.6 * (sp0 - 0.6 * 0.4)) < 1e-14 && std::fabs(v.loss[1] - 0.75 * s1 * s1 * sp1) < 1e-14);
        auto qf = lossfn::quality_focal_loss(x, q, lossfn::class_shape(1, 2));
        CHECK(qf.ok() && qf.grad.size() == 2 && std::isfinite(qf.value()));
    }
    return finish();
}
