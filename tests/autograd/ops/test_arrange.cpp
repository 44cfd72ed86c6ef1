// Rearranging ops (ag/ops/shape.hpp: flip, roll, tile, repeat_interleave) and matrix structure
// (ag/ops/linalg.hpp: triu, tril, diag): values against numpy/PyTorch results, and gradients.
#include <cmath>
#include <vector>

#include "support/values.hpp"

using opt::check;
using opt::iota;
using opt::make;

TEST_CASE("flip reverses the given axes, its gradient is g flipped back") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = iota({2, 3}, d, true);  // [[0, 1, 2], [3, 4, 5]]
    check(ag::flip(x, {1}), {2, 3}, {2, 1, 0, 5, 4, 3}, 0);
    check(ag::flip(x, {0}), {2, 3}, {3, 4, 5, 0, 1, 2}, 0);
    check(ag::flip(x, {0, -1}), {2, 3}, {5, 4, 3, 2, 1, 0}, 0);
    CHECK(ag::flip(x, {}).id() == x.id());  // nothing to flip: x itself
    (ag::flip(x, {1}) * make({1, 2, 3, 4, 5, 6}, {2, 3}, d)).sum().backward();
    check(x.grad(), {2, 3}, {3, 2, 1, 6, 5, 4}, 0);
  }
  ag::Tensor t = iota({2, 2, 2});
  check(ag::flip(t, {0, 2}), {2, 2, 2}, {5, 4, 7, 6, 1, 0, 3, 2}, 0);
  check(ag::flip(ag::zeros({0, 3}), {0}), {0, 3}, {}, 0);
}

TEST_CASE("roll shifts with wrap-around along axes, or over the flattened values") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = iota({2, 3}, d, true);
    check(ag::roll(x, 1, 1), {2, 3}, {2, 0, 1, 5, 3, 4}, 0);    // numpy.roll(x, 1, axis=1)
    check(ag::roll(x, -1, 1), {2, 3}, {1, 2, 0, 4, 5, 3}, 0);
    check(ag::roll(x, 4, -1), {2, 3}, {2, 0, 1, 5, 3, 4}, 0);   // 4 mod 3 = 1
    check(ag::roll(x, 1, 0), {2, 3}, {3, 4, 5, 0, 1, 2}, 0);
    check(ag::roll(x, {1, 1}, {0, 1}), {2, 3}, {5, 3, 4, 2, 0, 1}, 0);
    check(ag::roll(x, {1, 1}, {1, 1}), {2, 3}, {1, 2, 0, 4, 5, 3}, 0);  // a repeated axis adds: 2
    check(ag::roll(x, 2), {2, 3}, {4, 5, 0, 1, 2, 3}, 0);        // torch.roll(x, 2): flattened
    CHECK(ag::roll(x, 3, 1).id() == x.id());                     // a full turn
    (ag::roll(x, 1, 1) * make({1, 2, 3, 4, 5, 6}, {2, 3}, d)).sum().backward();
    check(x.grad(), {2, 3}, {2, 3, 1, 5, 6, 4}, 0);  // g rolled back by -1
  }
  check(ag::roll(make({7}, {}), 3), {}, {7}, 0);
  check(ag::roll(ag::zeros({2, 0}), 1, 1), {2, 0}, {}, 0);
}

TEST_CASE("tile is numpy.tile (torch's Tensor.repeat), its gradient sums the copies") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({1, 2}, {2}, d, true);
    check(ag::tile(x, {3}), {6}, {1, 2, 1, 2, 1, 2}, 0);
    check(ag::tile(x, {2, 2}), {2, 4}, {1, 2, 1, 2, 1, 2, 1, 2}, 0);  // reps longer than x's rank
    (ag::tile(x, {2, 2}) * iota({2, 4}, d)).sum().backward();
    check(x.grad(), {2}, {0 + 2 + 4 + 6, 1 + 3 + 5 + 7}, 0);
  }
  ag::Tensor m = iota({2, 2}, ag::f64, true);  // [[0, 1], [2, 3]]
  check(ag::tile(m, {2}), {2, 4}, {0, 1, 0, 1, 2, 3, 2, 3}, 0);      // reps shorter: {1, 2}
  check(ag::tile(m, {2, 1}), {4, 2}, {0, 1, 2, 3, 0, 1, 2, 3}, 0);
  check(ag::tile(m, {1, 1, 1}), {1, 2, 2}, {0, 1, 2, 3}, 0);
  check(ag::tile(m, {0, 1}), {0, 2}, {}, 0);
  CHECK(ag::tile(m, {}).id() == m.id());
  ag::tile(m, {3, 2}).sum().backward();
  check(m.grad(), {2, 2}, {6, 6, 6, 6}, 0);
}

TEST_CASE("repeat_interleave repeats each entry in place, its gradient sums each entry's copies") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = iota({2, 2}, d, true);  // [[0, 1], [2, 3]]
    check(ag::repeat_interleave(x, 2, 0), {4, 2}, {0, 1, 0, 1, 2, 3, 2, 3}, 0);
    check(ag::repeat_interleave(x, 3, -1), {2, 6}, {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, 0);
    (ag::repeat_interleave(x, 2, 1) * iota({2, 4}, d)).sum().backward();
    check(x.grad(), {2, 2}, {0 + 1, 2 + 3, 4 + 5, 6 + 7}, 0);
  }
  ag::Tensor v = make({5, 6}, {2}, ag::f64, true);
  CHECK(ag::repeat_interleave(v, 1, 0).id() == v.id());
  check(ag::repeat_interleave(v, 0, 0), {0}, {}, 0);
  ag::repeat_interleave(v, 0, 0).sum().backward();
  check(v.grad(), {2}, {0, 0}, 0);
}

TEST_CASE("triu and tril keep a band of the last two axes, batched, the gradient is masked alike") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor x = make({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4}, d, true);
    check(ag::triu(x), {3, 4}, {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12}, 0);
    check(ag::triu(x, 1), {3, 4}, {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12}, 0);
    check(ag::triu(x, -1), {3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 0, 10, 11, 12}, 0);
    check(ag::tril(x), {3, 4}, {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0}, 0);
    check(ag::tril(x, 1), {3, 4}, {1, 2, 0, 0, 5, 6, 7, 0, 9, 10, 11, 12}, 0);
    check(ag::tril(x, -2), {3, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0}, 0);
    check(ag::triu(x, 10), {3, 4}, std::vector<double>(12, 0.0), 0);
    ag::tril(x).sum().backward();
    check(x.grad(), {3, 4}, {1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0}, 0);
  }
  ag::Tensor b = ag::ones({2, 2, 2}, ag::f64);  // a batch of two matrices
  check(ag::triu(b), {2, 2, 2}, {1, 1, 0, 1, 1, 1, 0, 1}, 0);
  check(ag::tril(b, -1), {2, 2, 2}, {0, 0, 1, 0, 0, 0, 1, 0}, 0);
}

TEST_CASE("diag builds a matrix from a vector and takes a diagonal of a matrix (torch.diag)") {
  for (ag::DType d : opt::kDtypes) {
    ag::Tensor v = make({1, 2}, {2}, d, true);
    check(ag::diag(v), {2, 2}, {1, 0, 0, 2}, 0);
    check(ag::diag(v, 1), {3, 3}, {0, 1, 0, 0, 0, 2, 0, 0, 0}, 0);
    check(ag::diag(v, -1), {3, 3}, {0, 0, 0, 1, 0, 0, 0, 2, 0}, 0);
    (ag::diag(v, 1) * iota({3, 3}, d)).sum().backward();
    check(v.grad(), {2}, {1, 5}, 0);  // the entries of g on diagonal 1
  }
  ag::Tensor m = iota({3, 4}, ag::f64, true);  // [[0..3], [4..7], [8..11]]
  check(ag::diag(m), {3}, {0, 5, 10}, 0);
  check(ag::diag(m, 1), {3}, {1, 6, 11}, 0);
  check(ag::diag(m, 3), {1}, {3}, 0);
  check(ag::diag(m, -2), {1}, {8}, 0);
  check(ag::diag(m, 4), {0}, {}, 0);    // outside the matrix: empty
  check(ag::diag(m, -3), {0}, {}, 0);
  (ag::diag(m, 1) * make({1, 2, 3}, {3})).sum().backward();
  check(m.grad(), {3, 4}, {0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3}, 0);
  check(ag::diag(ag::zeros({0}, ag::f64)), {0, 0}, {}, 0);
  // second order: d²/dv² of Σ diag(v)² is 2 on each entry
  ag::Tensor w = make({1, 2, 3}, {3}, ag::f64, true);
  ag::Tensor gw = ag::grad({ag::sum(ag::square(ag::diag(w)))}, {w}, {}, true, true)[0];
  check(gw, {3}, {2, 4, 6}, 0);
  check(ag::grad({ag::sum(gw)}, {w})[0], {3}, {2, 2, 2}, 0);
}
