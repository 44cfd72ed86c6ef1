// Ordering along an axis (ag/ops/sort.hpp): sort, argsort, topk, max/min with indices. Index values
// are read as doubles (their dtype is float64 until the core has int64, then int64).
#include <cmath>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::iota;
using opt::make;
using opt::vals;

TEST_CASE("sort: values and indices along an axis, ascending and descending, stable") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({3, 1, 2, 1, 0, 5}, {2, 3}, d);
    auto [v, i] = ag::sort(x);  // structured bindings, like torch's (values, indices)
    check(v, {2, 3}, {1, 2, 3, 0, 1, 5}, 0);
    check(i, {2, 3}, {1, 2, 0, 1, 0, 2}, 0);
    const ag::ValuesIndices named = ag::sort(x);  // (doctest macros are lambdas: no structured bindings in them)
    CHECK(named.values.dtype() == d);
    CHECK_FALSE(named.indices.requires_grad());
    const ag::ValuesIndices desc = ag::sort(x, -1, true);
    check(desc.values, {2, 3}, {3, 2, 1, 5, 1, 0}, 0);
    check(desc.indices, {2, 3}, {0, 2, 1, 2, 0, 1}, 0);
    const ag::ValuesIndices col = ag::sort(x, 0);
    check(col.values, {2, 3}, {1, 0, 2, 3, 1, 5}, 0);
    check(col.indices, {2, 3}, {1, 1, 0, 0, 0, 1}, 0);
    // the indices reproduce the values through take_along_axis
    check(ag::take_along_axis(x, i, 1), {2, 3}, vals(v), 0);
  }
  // stable: equal values keep their order, ascending and descending alike
  ag::Tensor ties = make({2, 1, 2, 1, 2}, {5});
  check(ag::sort(ties).indices, {5}, {1, 3, 0, 2, 4}, 0);
  check(ag::sort(ties, 0, true).indices, {5}, {0, 2, 4, 1, 3}, 0);
  check(ag::argsort(ties), {5}, {1, 3, 0, 2, 4}, 0);
  check(ag::argsort(ties, -1, true), {5}, {0, 2, 4, 1, 3}, 0);
  check(ag::sort(ag::zeros({2, 0})).values, {2, 0}, {}, 0);
}

TEST_CASE("sort orders NaN as the largest value (PyTorch), -inf and +inf in place") {
  ag::Tensor x = make({NAN, 1, -INFINITY, INFINITY, NAN, 0}, {6});
  const ag::ValuesIndices up = ag::sort(x);
  check(up.indices, {6}, {2, 5, 1, 3, 0, 4}, 0);
  const std::vector<double> v = vals(up.values);
  CHECK(v[0] == -INFINITY);
  CHECK(v[3] == INFINITY);
  CHECK(std::isnan(v[4]));
  CHECK(std::isnan(v[5]));
  check(ag::sort(x, 0, true).indices, {6}, {0, 4, 3, 1, 5, 2}, 0);
  check(ag::topk(x, 2).indices, {2}, {0, 4}, 0);               // NaN counts as largest
  check(ag::topk(x, 2, 0, false).indices, {2}, {2, 5}, 0);     // smallest: NaN never
}

TEST_CASE("sort's gradient goes back to the source positions, also to second order") {
  ag::Tensor x = make({3, 1, 2}, {3}, ag::f64, true);
  ag::Tensor v = ag::sort(x).values;  // [1, 2, 3] from positions [1, 2, 0]
  (v * make({10, 20, 30}, {3})).sum().backward();
  check(x.grad(), {3}, {30, 10, 20}, 0);
  // Σ sorted(x)² has gradient 2x and Hessian 2I: the VJP is differentiable
  ag::Tensor gx = ag::grad({ag::sum(ag::square(ag::sort(x, 0, true).values))}, {x}, {}, true, true)[0];
  check(gx, {3}, {6, 2, 4}, 0);
  check(ag::grad({ag::sum(gx * make({1, 2, 3}, {3}))}, {x})[0], {3}, {2, 4, 6}, 0);
}

TEST_CASE("argsort: indices only, no history") {
  ag::Tensor x = make({0.5, -1, 2, 0}, {2, 2}, ag::f64, true);
  ag::Tensor i = ag::argsort(x);
  check(i, {2, 2}, {1, 0, 1, 0}, 0);
  CHECK_FALSE(i.requires_grad());
  check(ag::argsort(x, 0, true), {2, 2}, {1, 1, 0, 0}, 0);
}

TEST_CASE("topk: the k largest or smallest, sorted or by position, gradient to the chosen positions") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({4, 9, 1, 7, 3, 8, 2, 6}, {2, 4}, d, true);
    auto [v, i] = ag::topk(x, 2);
    check(v, {2, 2}, {9, 7, 8, 6}, 0);
    check(i, {2, 2}, {1, 3, 1, 3}, 0);
    const ag::ValuesIndices small = ag::topk(x, 3, 1, false);
    check(small.values, {2, 3}, {1, 4, 7, 2, 3, 6}, 0);
    check(small.indices, {2, 3}, {2, 0, 3, 2, 0, 3}, 0);
    const ag::ValuesIndices unsorted = ag::topk(x, 3, 1, true, false);  // in order of position
    check(unsorted.values, {2, 3}, {4, 9, 7, 3, 8, 6}, 0);
    check(unsorted.indices, {2, 3}, {0, 1, 3, 0, 1, 3}, 0);
    const ag::ValuesIndices rows = ag::topk(x, 1, 0);
    check(rows.values, {1, 4}, {4, 9, 2, 7}, 0);
    check(rows.indices, {1, 4}, {0, 0, 1, 0}, 0);
    check(ag::topk(x, 0).values, {2, 0}, {}, 0);
    (v * make({1, 2, 3, 4}, {2, 2}, d)).sum().backward();
    check(x.grad(), {2, 4}, {0, 1, 0, 2, 0, 3, 0, 4}, 0);  // 0 where not selected
  }
  ag::Tensor ties = make({5, 5, 1, 5}, {4});
  check(ag::topk(ties, 2).indices, {2}, {0, 1}, 0);  // ties: the lower position first
  // second order through the zero padding
  ag::Tensor x = make({1, 4, 2, 3}, {4}, ag::f64, true);
  ag::Tensor gx = ag::grad({ag::sum(ag::square(ag::topk(x, 2).values))}, {x}, {}, true, true)[0];
  check(gx, {4}, {0, 8, 0, 6}, 0);
  check(ag::grad({ag::sum(gx)}, {x})[0], {4}, {0, 2, 0, 2}, 0);
}

TEST_CASE("max_with_indices / ag::max(x, axis): torch.max(x, dim), gradient to the returned index") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({1, 3, 3, 2, 0, 1}, {2, 3}, d, true);  // a tie for the max of row 0
    auto [v, i] = ag::max_with_indices(x, 1);
    check(v, {2}, {3, 2}, 0);
    check(i, {2}, {1, 0}, 0);  // the first of the tied positions
    const ag::ValuesIndices keep = ag::max_with_indices(x, -1, true);
    check(keep.values, {2, 1}, {3, 2}, 0);
    check(keep.indices, {2, 1}, {1, 0}, 0);
    const ag::ValuesIndices mn = ag::min_with_indices(x, 0);
    check(mn.values, {3}, {1, 0, 1}, 0);
    check(mn.indices, {3}, {0, 1, 1}, 0);
    v.sum().backward();
    check(x.grad(), {2, 3}, {0, 1, 0, 1, 0, 0}, 0);  // the whole gradient at the index, no tie split
  }
  // both call forms: an int axis gives values and indices, a braced list the values-only reduction
  ag::Tensor x = make({1, 3, 3, 2, 0, 1}, {2, 3}, ag::f64, true);
  auto [v1, i1] = ag::max(x, 1);
  check(v1, {2}, {3, 2}, 0);
  check(i1, {2}, {1, 0}, 0);
  const ag::Tensor values_only = ag::max(x, {1});
  check(values_only, {2}, {3, 2}, 0);
  check(ag::max(x, 1, true).values, {2, 1}, {3, 2}, 0);
  check(ag::max(x, {1}, true), {2, 1}, {3, 2}, 0);
  check(ag::min(x, 0).indices, {3}, {0, 1, 1}, 0);
  check(ag::min(x, {0}), {3}, {1, 0, 1}, 0);
  check(ag::max(x, std::size_t{0}).values, {3}, {2, 3, 3}, 0);
  // the gradients differ on ties: the axes form splits, the indexed form picks the index
  ag::max(x, {1}).sum().backward();
  check(x.grad(), {2, 3}, {0, 0.5, 0.5, 1, 0, 0}, 0);
  x.zero_grad();
  ag::max(x, 1).values.sum().backward();
  check(x.grad(), {2, 3}, {0, 1, 0, 1, 0, 0}, 0);
  // NaN propagates: the first NaN and its index
  const ag::ValuesIndices nan = ag::max_with_indices(make({1, NAN, 5, NAN}, {4}), 0);
  CHECK(std::isnan(nan.values.item()));
  CHECK(nan.indices.item() == 1);
  CHECK(ag::min_with_indices(make({1, NAN, -5}, {3}), 0).indices.item() == 1);
  CHECK(ag::max(make({4, 7}, {2}), 0).indices.item() == 1);  // 1-D -> 0-d
}
