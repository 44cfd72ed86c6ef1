// ag::jvp against ag::jacobian·t on every row of the gradcheck table, in float64: the double-VJP
// identity holds for every op family (each op's VJP is linear in its cotangent and recorded).
#include <cmath>

#include "gradcheck/gradcheck_table.hpp"

TEST_CASE("functional: jvp equals jacobian·t on every gradcheck table row") {
  const auto& rows = gct::registered_rows();
  REQUIRE(rows.size() > 60);  // the whole table registered
  std::size_t checked_outputs = 0;
  for (const gct::RegisteredRow& reg : rows) {
    CAPTURE(reg.name);
    const gct::Row r = reg.make();
    // both sides are reverse mode in float64; a row that rounds through float32 differs by its eps
    const double tol = reg.name.find("float32") != std::string::npos ? 1e-6 : 1e-10;
    ag::Generator gen(gct::fnv1a(reg.name));
    gct::Ts xs;
    for (const gct::Input& in : r.inputs) xs.push_back(gct::make_input(in, gen));
    std::vector<std::size_t> diff;
    gct::Ts dx, t;
    for (std::size_t i = 0; i < xs.size(); ++i)
      if (xs[i].requires_grad()) {
        diff.push_back(i);
        dx.push_back(xs[i].detach());
        t.push_back(ag::randn(xs[i].shape(), gen, ag::f64));
      }
    if (dx.empty()) continue;
    // the row's function of its differentiable inputs (the others fixed), floating outputs only
    auto f = [&](const gct::Ts& v) {
      gct::Ts all = xs;
      for (std::size_t k = 0; k < diff.size(); ++k) all[diff[k]] = v[k];
      gct::Ts out;
      for (const ag::Tensor& y : r.f(all))
        if (ag::is_floating(y.dtype())) out.push_back(y);
      return out;
    };
    const ag::FunctionalOptions lenient{/*create_graph=*/false, /*strict=*/false};
    const auto jt = ag::jvp(f, dx, t, lenient);
    const auto J = ag::jacobian(f, dx, lenient);
    REQUIRE(jt.jvp.size() == J.size());
    for (std::size_t i = 0; i < J.size(); ++i) {
      CAPTURE(i);
      const std::size_t n = jt.jvp[i].numel();
      std::vector<double> want(n, 0.0);
      for (std::size_t j = 0; j < dx.size(); ++j) {
        const std::size_t m = dx[j].numel();
        const std::vector<double> Jij = J[i][j].to_vector<double>(), tj = t[j].to_vector<double>();
        REQUIRE(Jij.size() == n * m);
        for (std::size_t a = 0; a < n; ++a)
          for (std::size_t b = 0; b < m; ++b) want[a] += Jij[a * m + b] * tj[b];
      }
      const std::vector<double> got = jt.jvp[i].to_vector<double>();
      REQUIRE(got.size() == n);
      double worst = 0.0;
      for (std::size_t a = 0; a < n; ++a) worst = std::max(worst, std::abs(got[a] - want[a]) / (1.0 + std::abs(want[a])));
      CHECK_MESSAGE(worst <= tol, "jvp differs from jacobian·t by " << worst);
      ++checked_outputs;
    }
  }
  CHECK(checked_outputs > 100);
}
