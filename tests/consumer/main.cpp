// Downstream C++ program linked against the shared library through lossfn.hpp.
#include <lossfn.hpp>
#include <cstdio>

int main() {
    std::vector<double> x{1.0, 2.0, 3.0}, t{1.0, 1.0, 1.0};
    auto r = lossfn::mse_loss(x, t);
    std::printf("shared consumer: lossfn %s, mse %.4f\n", lossfn::version().c_str(), r.value());
    return (r.value() > 1.6666 && r.value() < 1.6667 && r.grad.size() == 3) ? 0 : 1;
}
