// lossfn.hpp compiled with -fno-exceptions: the status-returning forms.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "check.hpp"

#if LOSSFN_HPP_EXCEPTIONS
#error "this test must be compiled with -fno-exceptions"
#endif

int main() {
    // Success: raw-pointer forms return LOSSFN_OK, vector forms have status LOSSFN_OK.
    std::vector<double> x{0.5, -1.5, 3.0}, t{0.0, 0.0, 1.0};
    double loss = 0.0;
    CHECK(lossfn::mse_loss(x.data(), t.data(), nullptr, x.size(), nullptr, &loss, nullptr) == LOSSFN_OK);
    CHECK(std::fabs(loss - (0.25 + 2.25 + 4.0) / 3.0) < 1e-15);
    auto r = lossfn::l1_loss(x, t);
    CHECK(r.ok() && std::fabs(r.value() - 4.0 / 3.0) < 1e-15 && r.grad.size() == 3);

    // A library error comes back as the status, with the thread's message; nothing thrown.
    lossfn_regression_options o = lossfn_regression_options_default();
    o.reduction = 99;
    CHECK(lossfn::mse_loss(x.data(), t.data(), nullptr, x.size(), &o, &loss, nullptr) == LOSSFN_ERROR_INVALID_OPTION);
    char msg[256];
    lossfn_last_error(msg, sizeof msg);
    CHECK(std::strstr(msg, "reduction") != nullptr);
    auto bad = lossfn::l1_loss(x, t, o);
    CHECK(bad.status == LOSSFN_ERROR_INVALID_OPTION && !bad.ok());

    // A size mismatch in a vector form: LOSSFN_ERROR_INVALID_SIZE and empty outputs.
    std::vector<double> short_target{0.0};
    auto mismatch = lossfn::huber_loss(x, short_target);
    CHECK(mismatch.status == LOSSFN_ERROR_INVALID_SIZE && mismatch.loss.empty() && mismatch.grad.empty());
    std::vector<float> boxes{0, 0, 1, 1, 0, 0};
    CHECK(lossfn::box_iou_matrix(boxes, boxes).empty());
    auto ce = lossfn::cross_entropy(std::vector<float>{0.1f, 0.2f}, std::vector<int64_t>{0, 1}, lossfn::class_shape(1, 2));
    CHECK(ce.status == LOSSFN_ERROR_INVALID_SIZE);
    return finish();
}
