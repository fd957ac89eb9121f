// lossfn.hpp: overloads, vector conveniences, exceptions.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>

#include "check.hpp"

int main() {
    // A sample of the regression fixtures' semantics, float and double.
    std::vector<float> x{0.5f, -1.5f, 3.0f}, t{0.0f, 0.0f, 1.0f};
    auto l1 = lossfn::l1_loss(x, t);
    CHECK(std::fabs(l1.value() - (0.5f + 1.5f + 2.0f) / 3.0f) < 1e-6f);
    CHECK(l1.grad.size() == 3 && l1.grad[1] == -1.0f / 3.0f);

    lossfn_regression_options o = lossfn_regression_options_default();
    o.reduction = LOSSFN_REDUCTION_NONE;
    std::vector<double> xd{0.5, -1.5, 3.0}, td{0.0, 0.0, 1.0}, w{1.0, 2.0, 0.5};
    auto h = lossfn::huber_loss(xd, td, o, &w);
    CHECK(h.loss.size() == 3);
    CHECK(std::fabs(h.loss[0] - 0.125) < 1e-15);                // 0.5 * 0.25 * 1
    CHECK(std::fabs(h.loss[1] - 2.0 * (1.5 - 0.5)) < 1e-15);     // weighted linear branch
    CHECK(std::fabs(h.grad[1] + 2.0) < 1e-15);

    double loss = 0.0;
    lossfn::mse_loss(xd.data(), td.data(), nullptr, xd.size(), nullptr, &loss, nullptr);
    CHECK(std::fabs(loss - (0.25 + 2.25 + 4.0) / 3.0) < 1e-15);

    // Errors throw lossfn::error with the status and the library's message.
    try {
        lossfn_regression_options bad = lossfn_regression_options_default();
        bad.beta = -1.0;
        lossfn::smooth_l1_loss(xd, td, bad);
        CHECK(false);
    } catch (const lossfn::error &e) {
        CHECK(e.status() == LOSSFN_ERROR_INVALID_OPTION);
        CHECK(std::string(e.what()).find("beta") != std::string::npos);
    }
    try {
        lossfn::mse_loss(xd, std::vector<double>{1.0});
        CHECK(false);
    } catch (const lossfn::error &e) {
        CHECK(e.status() == LOSSFN_ERROR_INVALID_SIZE);
    }
    lossfn::set_num_threads(1);
    CHECK(lossfn::num_threads() == 1);
    lossfn::set_num_threads(0);
    return finish();
}
