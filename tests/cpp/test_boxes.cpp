// lossfn.hpp box section: every loss's float/double pointer overloads and vector forms, the
// matrix, formats, and errors.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>

#include "check.hpp"

template <class T> static bool near(T a, double b, double tol) { return std::fabs(static_cast<double>(a) - b) <= tol; }

int main() {
    // A 1x1 prediction inside a 10x10 target: IoU = 1/100 (up to eps), so the linear IoU loss
    // is 0.99 and dL/d(x1, y1, x2, y2) = (0.01, 0.01, -0.01, -0.01) (shared fixture values).
    std::vector<double> pred{2, 2, 3, 3}, target{0, 0, 10, 10};
    auto r = lossfn::iou_loss(pred, target);
    CHECK(near(r.value(), 0.99000000001, 1e-12));
    CHECK(r.grad.size() == 4 && near(r.grad[0], 0.00999999999, 1e-12) && near(r.grad[3], -0.00999999999, 1e-12));
    // DIoU adds rho^2/c^2 = 12.5/200 (centres (2.5, 2.5) and (5, 5), enclosing 10x10).
    auto d = lossfn::diou_loss(pred, target);
    CHECK(near(d.value(), 0.99 + 0.0625, 1e-9));
    CHECK(near(d.grad[0], -0.0025, 1e-9) && near(d.grad[2], -0.0225, 1e-9));

    // Every loss, float and double, pointer and vector forms agree.
    std::vector<float> pf{0, 0, 2, 1, 1, 1, 3, 4}, tf{0.5f, 0, 2, 2, 1, 2, 3, 3};
    std::vector<double> pd(pf.begin(), pf.end()), td(tf.begin(), tf.end());
    using vecf = lossfn::loss_grad<float> (*)(const std::vector<float> &, const std::vector<float> &,
                                              const lossfn_box_options &, const std::vector<float> *, bool);
    using vecd = lossfn::loss_grad<double> (*)(const std::vector<double> &, const std::vector<double> &,
                                               const lossfn_box_options &, const std::vector<double> *, bool);
    vecf fs[] = {lossfn::iou_loss<float>, lossfn::giou_loss<float>, lossfn::diou_loss<float>,
                 lossfn::ciou_loss<float>, lossfn::eiou_loss<float>, lossfn::cdiou_loss<float>};
    vecd ds[] = {lossfn::iou_loss<double>, lossfn::giou_loss<double>, lossfn::diou_loss<double>,
                 lossfn::ciou_loss<double>, lossfn::eiou_loss<double>, lossfn::cdiou_loss<double>};
    const lossfn_box_options o = lossfn::box_options(LOSSFN_BOX_XYXY, LOSSFN_REDUCTION_NONE);
    for (int k = 0; k < 6; k++) {
        auto a = fs[k](pf, tf, o, nullptr, true);
        auto b = ds[k](pd, td, o, nullptr, true);
        CHECK(a.loss.size() == 2 && b.loss.size() == 2 && a.grad.size() == 8);
        for (int i = 0; i < 2; i++) CHECK(near(a.loss[i], b.loss[i], 1e-5));
        for (int i = 0; i < 8; i++) CHECK(near(a.grad[i], b.grad[i], 1e-5));
        auto c = fs[k](pf, tf, o, nullptr, false);
        CHECK(c.grad.empty() && c.loss[0] == a.loss[0]);
    }
    float lf[1], gf[8];
    lossfn::ciou_loss(pf.data(), tf.data(), nullptr, 2, nullptr, lf, gf);
    CHECK(near(lf[0], lossfn::ciou_loss(pf, tf).value(), 0.0));
    double ld[2];
    std::vector<double> w{1.0, 3.0};
    lossfn::eiou_loss(pd.data(), td.data(), w.data(), 2, &o, ld, nullptr);
    auto e = lossfn::eiou_loss(pd, td, o);
    CHECK(near(ld[0], e.loss[0], 1e-15) && near(ld[1], 3.0 * e.loss[1], 1e-12));

    // Formats: the same boxes as cx, cy, w, h give the same loss.
    std::vector<double> pc{1, 0.5, 2, 1, 2, 2.5, 2, 3}, tc{1.25, 1, 1.5, 2, 2, 2.5, 2, 1};
    auto x = lossfn::giou_loss(pd, td);
    auto y = lossfn::giou_loss(pc, tc, lossfn::box_options(LOSSFN_BOX_CXCYWH));
    CHECK(near(x.value(), y.value(), 1e-12));

    // The matrix is 1 - the loss on the diagonal.
    auto m = lossfn::box_iou_matrix(pd, td, LOSSFN_BOX_XYXY, LOSSFN_IOU_KIND_CIOU);
    auto ci = lossfn::ciou_loss(pd, td, o);
    CHECK(m.size() == 4 && near(m[0], 1.0 - ci.loss[0], 1e-12) && near(m[3], 1.0 - ci.loss[1], 1e-12));
    float mf[4];
    lossfn::box_iou_matrix(pf.data(), 2, tf.data(), 2, LOSSFN_BOX_XYXY, LOSSFN_IOU_KIND_IOU, 1e-7, mf);
    CHECK(near(mf[3], 1.0 - lossfn::iou_loss(pd, td, o).loss[1], 1e-6));

    // Errors throw lossfn::error.
    try {
        lossfn_box_options bad = lossfn_box_options_default();
        bad.format = 9;
        lossfn::ciou_loss(pd, td, bad);
        CHECK(false);
    } catch (const lossfn::error &err) {
        CHECK(err.status() == LOSSFN_ERROR_INVALID_OPTION && std::string(err.what()).find("format") != std::string::npos);
    }
    try {
        lossfn::giou_loss(pd, std::vector<double>{1, 2, 3});
        CHECK(false);
    } catch (const lossfn::error &err) {
        CHECK(err.status() == LOSSFN_ERROR_INVALID_SIZE);
    }
    try {
        lossfn::box_iou_matrix(pd, td, LOSSFN_BOX_XYXY, LOSSFN_IOU_KIND_IOU, 0.0);
        CHECK(false);
    } catch (const lossfn::error &err) {
        CHECK(err.status() == LOSSFN_ERROR_INVALID_OPTION);
    }
    // SIoU and the CIoU variants through the same vector form; DFL: the two-hot CE identity on
    // one side with target 1.25 over 3 bins: l = 0.75 CE(z, 1) + 0.25 CE(z, 2).
    auto si = lossfn::siou_loss(pd, td);
    CHECK(si.ok() && si.grad.size() == 8 && std::isfinite(si.value()));
    lossfn_box_options ul = lossfn_box_options_default();
    ul.ciou_variant = LOSSFN_CIOU_ULTRALYTICS;
    CHECK(lossfn::ciou_loss(pd, td, ul).value() != lossfn::ciou_loss(pd, td).value());
    std::vector<double> z{0.3, -0.2, 1.1}, zt{1.25};
    auto dfl = lossfn::dfl_loss(z, zt, 1, 3);
    const double lse = std::log(std::exp(0.3) + std::exp(-0.2) + std::exp(1.1));
    CHECK(near(dfl.value(), 0.75 * (lse + 0.2) + 0.25 * (lse - 1.1), 1e-12));
    CHECK(dfl.grad.size() == 3 && near(dfl.grad[0], std::exp(0.3 - lse), 1e-12));
    // OKS: one instance, two keypoints, one labelled at distance 1 with sigma 0.5, area 3:
    // f = 2 / (1 + 1e-9), e = 1 / (1 * (3 + 1e-9) * 2).
    std::vector<double> kp{0, 0, 5, 5}, kt{1, 0, 0, 0}, vis{1, 0}, area{3}, sig{0.5, 0.5};
    auto oks = lossfn::keypoint_oks_loss(kp, kt, vis, area, sig);
    const double f = 2.0 / (1.0 + 1e-9), ke = 1.0 / ((3.0 + 1e-9) * 2.0);
    CHECK(oks.ok() && near(oks.value(), f * (1.0 - std::exp(-ke)) / 2.0, 1e-14));
    CHECK(oks.grad.size() == 4 && oks.grad[2] == 0.0 && oks.grad[3] == 0.0);
    return finish();
}
