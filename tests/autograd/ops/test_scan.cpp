// Products and scans (autograd/src/ops/scan.cpp): prod, cumsum, cumprod. Values, axes, dtypes,
// and gradients with zeros (first, second and third order) against hand-computed products.
#include <cmath>
#include <functional>
#include <optional>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::kA;
using opt::make;
using opt::t23;
using opt::vals;

namespace {

// d(Σ w·f(x))/dx with create_graph, then the row of the Hessian for direction v: d<grad, v>/dx
std::vector<double> hessian_row(const std::function<ag::Tensor(const ag::Tensor&)>& f, const ag::Tensor& x,
                                const std::vector<double>& v) {
  const ag::Tensor g = ag::grad({ag::sum(f(x))}, {x}, {}, std::nullopt, true)[0];
  return vals(ag::grad({ag::sum(g * make(v, x.shape()))}, {x})[0]);
}

}  // namespace

TEST_CASE("prod: values over all elements, axes, negative axes, keepdims, float32") {
  const ag::Tensor x = t23(kA);  // {0.5, -1.25, 2.0}, {3.5, -0.75, 1.0}
  check(ag::prod(x), {}, {3.28125}, 1e-15);
  check(ag::prod(x, {1}), {2}, {-1.25, -2.625}, 1e-15);
  check(ag::prod(x, {-1}, true), {2, 1}, {-1.25, -2.625}, 1e-15);
  check(ag::prod(x, {0}), {3}, {1.75, 0.9375, 2.0}, 1e-15);
  check(ag::prod(x, {0, 1}), {}, {3.28125}, 1e-15);
  check(ag::prod(x, {}), {2, 3}, kA, 0);  // no axes: unchanged, as sum
  const ag::Tensor f = make(kA, {2, 3}, ag::f32);
  CHECK(ag::prod(f, {1}).dtype() == ag::f32);
  check(ag::prod(f, {1}), {2}, {-1.25, -2.625}, 1e-7);
  // over non-adjacent axes of [2, 3, 2]: x = 1..12
  const ag::Tensor y = ag::arange(1.0, 13.0, 1.0, ag::f64).reshape({2, 3, 2});
  // j = 0: 1·2·7·8, j = 1: 3·4·9·10, j = 2: 5·6·11·12
  check(ag::prod(y, {0, 2}), {3}, {112.0, 1080.0, 3960.0}, 1e-15);
  // empty groups give 1; 0-d is itself
  check(ag::prod(ag::zeros({2, 0}, ag::f64), {1}), {2}, {1.0, 1.0}, 0);
  check(ag::prod(ag::scalar(3.0, ag::f64)), {}, {3.0}, 0);
}

TEST_CASE("prod: gradient is the product of the others, exact with one, two and more zeros") {
  // no zeros: P/x_i
  ag::Tensor x = t23(kA, true);
  ag::prod(x, {1}).sum().backward();
  check(x.grad(), {2, 3}, {-2.5, 1.0, -0.625, -0.75, 3.5, -2.625}, 1e-15);

  // rows: one zero -> only it gets a gradient; two zeros -> none; none -> others' product
  ag::Tensor z = make({2, 0, 3, 0, 4, 0, 1, 2, 5}, {3, 3}, ag::f64, true);
  ag::prod(z, {1}).sum().backward();
  check(z.grad(), {3, 3}, {0, 6, 0, 0, 0, 0, 10, 5, 2}, 0);
  z.zero_grad();
  // columns [2, 0, 1], [0, 4, 2], [3, 0, 5]: one zero each
  ag::prod(z, {0}).sum().backward();
  check(z.grad(), {3, 3}, {0, 8, 0, 2, 0, 15, 0, 0, 0}, 0);
  z.zero_grad();
  ag::prod(z).backward();  // three zeros
  check(z.grad(), {3, 3}, std::vector<double>(9, 0.0), 0);
  // float32 with a zero
  ag::Tensor f = make({2, 0, 3}, {3}, ag::f32, true);
  ag::prod(f).backward();
  check(f.grad(), {3}, {0, 6, 0}, 0);
  // an empty group: gradient of the right (empty) shape
  ag::Tensor e = ag::zeros({2, 0}, ag::f64, true);
  ag::prod(e, {1}).sum().backward();
  CHECK(e.grad().shape() == ag::Shape{2, 0});
}

TEST_CASE("prod: second and third derivatives at zeros") {
  auto p = [](const ag::Tensor& t) { return ag::prod(t); };
  // x = [0, 2, 3]: H_ij = Π_{k≠i,j} x_k -> H01 = 3, H02 = 2, H12 = 0
  ag::Tensor x = make({0, 2, 3}, {3}, ag::f64, true);
  CHECK(hessian_row(p, x, {1, 0, 0}) == std::vector<double>{0, 3, 2});
  CHECK(hessian_row(p, x, {0, 1, 0}) == std::vector<double>{3, 0, 0});
  // two zeros: the gradient is 0, but H01 = x2 = 3 (a mask-based VJP would give 0 here)
  ag::Tensor y = make({0, 0, 3}, {3}, ag::f64, true);
  CHECK(vals(ag::grad({p(y)}, {y})[0]) == std::vector<double>{0, 0, 0});
  CHECK(hessian_row(p, y, {1, 0, 0}) == std::vector<double>{0, 3, 0});
  // third order: d³(x0·x1·x2) = 1 even at x = 0 (gradgradcheck of the gradient)
  const ag::GradcheckFn first = [](const std::vector<ag::Tensor>& v) -> std::vector<ag::Tensor> {
    return {ag::grad({ag::prod(v[0], {1})}, {v[0]}, {make({1.0, -2.0}, {2})}, std::nullopt, true)[0]};
  };
  for (const std::vector<double>& v : {std::vector<double>{0, 0, 0, 0, 0, 0}, {0, 2, 3, 0, 0, 1.5}, {1, -2, 0.5, 3, 0, 0}}) {
    const auto r = ag::gradgradcheck(first, {make(v, {2, 3}, ag::f64, true)});
    CHECK_MESSAGE(r.ok, r.report);
  }
}

TEST_CASE("cumsum: values along each axis, negative axis, float32, reversed-cumsum gradient") {
  const ag::Tensor x = t23(kA);
  check(ag::cumsum(x, 1), {2, 3}, {0.5, -0.75, 1.25, 3.5, 2.75, 3.75}, 1e-15);
  check(ag::cumsum(x, -1), {2, 3}, {0.5, -0.75, 1.25, 3.5, 2.75, 3.75}, 1e-15);
  check(ag::cumsum(x, 0), {2, 3}, {0.5, -1.25, 2.0, 4.0, -2.0, 3.0}, 1e-15);
  check(ag::cumsum(x, -2), {2, 3}, {0.5, -1.25, 2.0, 4.0, -2.0, 3.0}, 1e-15);
  const ag::Tensor f = make(kA, {2, 3}, ag::f32);
  CHECK(ag::cumsum(f, 1).dtype() == ag::f32);
  check(ag::cumsum(f, 1), {2, 3}, {0.5, -0.75, 1.25, 3.5, 2.75, 3.75}, 1e-7);
  // d(Σ w·cumsum(x, 1))/dx_j = Σ_{k>=j} w_k
  ag::Tensor g = t23(kA, true);
  (ag::cumsum(g, 1) * t23({1, 2, 3, 4, 5, 6})).sum().backward();
  check(g.grad(), {2, 3}, {6, 5, 3, 15, 11, 6}, 0);
  g.zero_grad();
  (ag::cumsum(g, 0) * t23({1, 2, 3, 4, 5, 6})).sum().backward();
  check(g.grad(), {2, 3}, {5, 7, 9, 4, 5, 6}, 0);
  // a [2, 3, 2] along the middle axis; an empty axis
  const ag::Tensor y = ag::arange(12.0, ag::f64).reshape({2, 3, 2});
  check(ag::cumsum(y, 1), {2, 3, 2}, {0, 1, 2, 4, 6, 9, 6, 7, 14, 16, 24, 27}, 0);
  CHECK(ag::cumsum(ag::zeros({2, 0}), 1).shape() == ag::Shape{2, 0});
}

TEST_CASE("cumprod: values, and a gradient exact with zeros") {
  ag::Tensor x = make({1, 2, 3, 4}, {4}, ag::f64, true);
  ag::Tensor y = ag::cumprod(x, 0);
  check(y, {4}, {1, 2, 6, 24}, 0);
  y.sum().backward();
  check(x.grad(), {4}, {33, 16, 10, 6}, 0);  // d_k = Σ_{i>=k} y_i / x_k
  // zeros: d_k = Σ_{i>=k} g_i·Π_{j<=i, j≠k} x_j (brute force in python)
  struct Case {
    std::vector<double> x, g, y, d;
  };
  const std::vector<Case> cases = {
      {{2, 0, 3, 4}, {1, 1, 1, 1}, {2, 0, 0, 0}, {1, 32, 0, 0}},
      {{2, 0, 3, 4}, {0.5, -1, 2, 1.5}, {2, 0, 0, 0}, {0.5, 46, 0, 0}},
      {{0, 2, 0, 5}, {1, 1, 1, 1}, {0, 0, 0, 0}, {3, 0, 0, 0}},
      {{0, 0, 0}, {1, 1, 1}, {0, 0, 0}, {1, 0, 0}},
  };
  for (std::size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    for (ag::DType d : opt::kDtypes) {
      INFO("case " << n << " " << ag::dtype_name(d));
      ag::Tensor t = make(c.x, {c.x.size()}, d, true);
      ag::Tensor yc = ag::cumprod(t, -1);
      check(yc, {c.x.size()}, c.y, 0);
      yc.backward(make(c.g, {c.g.size()}, d));
      check(t.grad(), {c.x.size()}, c.d, 0);
    }
  }
  // along axis 0 of a [3, 2]: columns [1, 0, 2] and [3, 4, 5]
  ag::Tensor m = make({1, 3, 0, 4, 2, 5}, {3, 2}, ag::f64, true);
  ag::Tensor ym = ag::cumprod(m, 0);
  check(ym, {3, 2}, {1, 3, 0, 12, 0, 60}, 0);
  ym.sum().backward();
  // column 0: d0 = 1 + 0 + 0, d1 = 1 + 1·2 = 3, d2 = 0; column 1: (3 + 12 + 60)/3, (12 + 60)/4, 60/5
  check(m.grad(), {3, 2}, {1, 25, 3, 18, 0, 12}, 0);
}

TEST_CASE("cumprod: second and third derivatives at zeros") {
  // y = cumprod([x0, x1, x2]) summed: x0 + x0x1 + x0x1x2; at x = [0, 0, 2]:
  // H row 0 = [0, 1 + x2, x1] = [0, 3, 0], row 1 = [1 + x2, 0, x0] = [3, 0, 0]
  auto c = [](const ag::Tensor& t) { return ag::cumprod(t, 0); };
  ag::Tensor x = make({0, 0, 2}, {3}, ag::f64, true);
  CHECK(hessian_row(c, x, {1, 0, 0}) == std::vector<double>{0, 3, 0});
  CHECK(hessian_row(c, x, {0, 1, 0}) == std::vector<double>{3, 0, 0});
  CHECK(hessian_row(c, x, {0, 0, 1}) == std::vector<double>{0, 0, 0});
  const ag::GradcheckFn first = [](const std::vector<ag::Tensor>& v) -> std::vector<ag::Tensor> {
    const ag::Tensor w = make({0.5, -1.0, 2.0, 1.5}, {4});
    return {ag::grad({ag::sum(ag::cumprod(v[0], 0) * w)}, {v[0]}, {}, std::nullopt, true)[0]};
  };
  for (const std::vector<double>& v : {std::vector<double>{2, 0, 3, 4}, {0, 2, 0, 5}, {0, 0, 0, 0}, {1.5, -2, 0.5, 3}}) {
    const auto r = ag::gradgradcheck(first, {make(v, {4}, ag::f64, true)});
    CHECK_MESSAGE(r.ok, r.report);
  }
}
