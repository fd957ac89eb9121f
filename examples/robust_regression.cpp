// Compare MSE and Huber on data with outliers using lossfn.hpp: Huber's gradient is bounded, so
// a few wild targets cannot drag the fit the way they drag least squares.
#include <lossfn.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

struct line { double a = 0.0, b = 0.0; };

template <class Loss> line fit(const std::vector<double> &x, const std::vector<double> &y, Loss loss) {
    line p;
    std::vector<double> pred(x.size());
    for (int step = 0; step < 500; step++) {
        for (size_t i = 0; i < x.size(); i++) pred[i] = p.a * x[i] + p.b;
        lossfn::loss_grad<double> r = loss(pred, y);
        double ga = 0.0, gb = 0.0;
        for (size_t i = 0; i < x.size(); i++) {
            ga += r.grad[i] * x[i];
            gb += r.grad[i];
        }
        p.a -= 0.3 * ga;
        p.b -= 0.3 * gb;
    }
    return p;
}

int main() {
    std::vector<double> x, y;
    for (int i = 0; i < 200; i++) {
        x.push_back(i / 100.0 - 1.0);
        y.push_back(2.0 * x.back() + 0.5 + (i % 10 == 0 ? 8.0 : 0.0));  // 10% outliers
    }
    lossfn_regression_options huber = lossfn_regression_options_default();
    huber.delta = 0.5;
    line m = fit(x, y, [](auto &p, auto &t) { return lossfn::mse_loss(p, t); });
    line h = fit(x, y, [&](auto &p, auto &t) { return lossfn::huber_loss(p, t, huber); });
    std::printf("true   y = 2.000 x + 0.500\n");
    std::printf("MSE    y = %.3f x %+.3f\n", m.a, m.b);
    std::printf("Huber  y = %.3f x %+.3f\n", h.a, h.b);
    bool ok = std::fabs(h.b - 0.5) < std::fabs(m.b - 0.5) && std::fabs(h.a - 2.0) < 0.1;
    return ok ? 0 : 1;
}
