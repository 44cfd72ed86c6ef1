// Rearranging ops: flip, roll, tile and repeat_interleave gather through one kernel (an index map
// per axis); triu/tril keep a band of the last two axes; diag moves a diagonal into or out of a
// matrix. Every VJP is the op's adjoint written with ag ops (flip ↔ flip, roll ↔ roll back, tile and
// repeat_interleave ↔ reshape + sum, triu ↔ triu, diag in ↔ diag out), so it is recorded under
// create_graph and derivatives of every order work.
#include <algorithm>
#include <numeric>

#include "ops/kernels.hpp"

namespace ag {
using detail::dispatch;

namespace {

// Per axis, the source position along that axis of every output position.
using AxisMaps = std::vector<std::vector<std::size_t>>;

AxisMaps identity_maps(const Shape& s) {
  AxisMaps m(s.size());
  for (std::size_t d = 0; d < s.size(); ++d) {
    m[d].resize(s[d]);
    std::iota(m[d].begin(), m[d].end(), std::size_t{0});
  }
  return m;
}

// out[i_0, .., i_n-1] = x[m_0[i_0], .., m_n-1[i_n-1]] (numpy's x[np.ix_(m_0, ..)]), reading x's
// values row-major as shape `xs` (same element count, same rank as the maps). Not recorded.
Tensor take_grid(const Tensor& x, const Shape& xs, const AxisMaps& maps) {
  const std::size_t nd = xs.size();
  Shape os(nd);
  for (std::size_t d = 0; d < nd; ++d) os[d] = maps[d].size();
  return detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(os);
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    const std::size_t n = detail::prod(os);
    if (n == 0) return r;
    if (nd == 0) {
      pr[0] = px[0];
      return r;
    }
    // off[d][i] = m_d[i]·(x's stride of axis d): a source offset is one sum over the axes
    std::vector<std::vector<std::size_t>> off(nd);
    for (std::size_t d = nd, stride = 1; d-- > 0; stride *= xs[d]) {
      off[d].resize(os[d]);
      for (std::size_t i = 0; i < os[d]; ++i) off[d][i] = maps[d][i] * stride;
    }
    std::vector<std::size_t> idx(nd, 0);
    std::size_t base = 0;  // Σ over the outer axes d < nd - 1 of off[d][idx[d]]
    for (std::size_t d = 0; d + 1 < nd; ++d) base += off[d][0];
    const std::vector<std::size_t>& last = off[nd - 1];
    const std::size_t m = os[nd - 1];
    for (std::size_t o = 0; o < n; o += m) {
      for (std::size_t j = 0; j < m; ++j) pr[o + j] = px[base + last[j]];
      for (std::size_t d = nd - 1; d-- > 0;) {  // next outer index, last outer axis fastest
        base -= off[d][idx[d]];
        if (++idx[d] < os[d]) {
          base += off[d][idx[d]];
          break;
        }
        idx[d] = 0;
        base += off[d][0];
      }
    }
    return r;
  });
}

// a·b for an output extent, refusing products beyond any tensor (numel then checks the shape).
std::size_t times(const char* op, std::size_t a, std::size_t b, const Shape& xs) {
  if (a != 0 && b > (std::size_t{1} << 60) / a)
    throw ShapeError(fmt::format("{}: {} × {} copies along one axis of {} is more elements than can exist", op, a, b,
                                 shape_str(xs)));
  return a * b;
}

}  // namespace

// ---- flip / roll -----------------------------------------------------------------------------------------
Tensor flip(const Tensor& x, const Axes& axes_in) {
  OpScope mark("flip");
  detail::require_defined("flip", x);
  const Shape xs = x.shape();
  const auto axes = detail::normalize_axes("flip", axes_in, xs.size());
  if (axes.empty()) return x;
  AxisMaps maps = identity_maps(xs);
  for (std::size_t a : axes) std::reverse(maps[a].begin(), maps[a].end());
  Tensor y = take_grid(x, xs, maps);
  return record("flip", {x}, std::move(y), [ax = detail::to_axes(axes)](const VjpContext&, const Tensor& g) -> Grads {
    return {flip(g, ax)};  // a flip is its own inverse and its own adjoint
  });
}

Tensor roll(const Tensor& x, const std::vector<std::ptrdiff_t>& shifts, const Axes& axes_in) {
  OpScope mark("roll");
  detail::require_defined("roll", x);
  const Shape xs = x.shape();
  if (shifts.size() != axes_in.size())
    throw ValueError(fmt::format("roll: {} shifts [{}] for {} axes [{}] of {}; give one shift per axis", shifts.size(),
                                 fmt::join(shifts, ", "), axes_in.size(), fmt::join(axes_in, ", "), shape_str(xs)));
  // the net shift of each axis in [0, n): out[(i + s) mod n] = x[i], so out[j] = x[(j - s) mod n]
  std::vector<std::size_t> net(xs.size(), 0);
  for (std::size_t i = 0; i < shifts.size(); ++i) {
    const std::size_t a = detail::normalize_axis("roll", axes_in[i], xs.size());
    if (xs[a] == 0) continue;
    const auto n = static_cast<std::ptrdiff_t>(xs[a]);
    net[a] = (net[a] + static_cast<std::size_t>((shifts[i] % n + n) % n)) % xs[a];
  }
  AxisMaps maps = identity_maps(xs);
  Axes moved;
  std::vector<std::ptrdiff_t> back;  // the VJP's shifts: each axis rolled back
  for (std::size_t d = 0; d < xs.size(); ++d) {
    if (net[d] == 0) continue;
    for (std::size_t j = 0; j < xs[d]; ++j) maps[d][j] = (j + xs[d] - net[d]) % xs[d];
    moved.push_back(static_cast<int>(d));
    back.push_back(-static_cast<std::ptrdiff_t>(net[d]));
  }
  if (moved.empty()) return x;
  Tensor y = take_grid(x, xs, maps);
  return record("roll", {x}, std::move(y), [moved, back](const VjpContext&, const Tensor& g) -> Grads {
    return {roll(g, back, moved)};  // the adjoint of a cyclic shift is the shift back
  });
}

Tensor roll(const Tensor& x, std::ptrdiff_t shift, int axis) { return roll(x, std::vector<std::ptrdiff_t>{shift}, Axes{axis}); }

Tensor roll(const Tensor& x, std::ptrdiff_t shift) {
  detail::require_defined("roll", x);
  const Shape xs = x.shape();
  return reshape(roll(reshape(x, {-1}), std::vector<std::ptrdiff_t>{shift}, Axes{0}), detail::signed_shape(xs));
}

// ---- tile / repeat_interleave ---------------------------------------------------------------------------
Tensor tile(const Tensor& x, const std::vector<std::size_t>& reps) {
  OpScope mark("tile");
  detail::require_defined("tile", x);
  const Shape xs = x.shape();
  const std::size_t nd = std::max(xs.size(), reps.size());
  Shape s(nd, 1), r(nd, 1), os(nd);  // x's shape and the reps, both padded with leading 1s
  std::copy(xs.begin(), xs.end(), s.begin() + static_cast<std::ptrdiff_t>(nd - xs.size()));
  std::copy(reps.begin(), reps.end(), r.begin() + static_cast<std::ptrdiff_t>(nd - reps.size()));
  for (std::size_t d = 0; d < nd; ++d) os[d] = times("tile", s[d], r[d], xs);
  numel(os, "tile");
  if (std::all_of(r.begin(), r.end(), [](std::size_t v) { return v == 1; }))
    return reshape(x, detail::signed_shape(os));  // one copy: only the leading size-1 axes, if any
  AxisMaps maps(nd);
  for (std::size_t d = 0; d < nd; ++d) {
    maps[d].resize(os[d]);
    for (std::size_t i = 0; i < os[d]; ++i) maps[d][i] = i % s[d];  // copy after copy
  }
  Tensor y = take_grid(x, s, maps);
  return record("tile", {x}, std::move(y), [s, r, xs](const VjpContext&, const Tensor& g) -> Grads {
    // g: [r0·s0, r1·s1, ..] read as [r0, s0, r1, s1, ..]; Σ over the copies (the even axes)
    std::vector<std::ptrdiff_t> copies;
    Axes even;
    for (std::size_t d = 0; d < s.size(); ++d) {
      copies.push_back(static_cast<std::ptrdiff_t>(r[d]));
      copies.push_back(static_cast<std::ptrdiff_t>(s[d]));
      even.push_back(static_cast<int>(2 * d));
    }
    return {reshape(sum(reshape(g, copies), even), detail::signed_shape(xs))};
  });
}

Tensor repeat_interleave(const Tensor& x, std::size_t repeats, int axis_in) {
  OpScope mark("repeat_interleave");
  detail::require_defined("repeat_interleave", x);
  const Shape xs = x.shape();
  const std::size_t axis = detail::normalize_axis("repeat_interleave", axis_in, xs.size());
  if (repeats == 1) return x;
  Shape os = xs;
  os[axis] = times("repeat_interleave", xs[axis], repeats, xs);
  numel(os, "repeat_interleave");
  AxisMaps maps = identity_maps(os);
  for (std::size_t& i : maps[axis]) i /= repeats;  // position i is a copy of entry i / repeats
  Tensor y = take_grid(x, xs, maps);
  return record("repeat_interleave", {x}, std::move(y), [xs, axis, repeats](const VjpContext&, const Tensor& g) -> Grads {
    // g: [.., n·r, ..] read as [.., n, r, ..]; Σ over each entry's r copies
    Shape split = xs;
    split.insert(split.begin() + static_cast<std::ptrdiff_t>(axis) + 1, repeats);
    return {sum(reshape(g, detail::signed_shape(split)), {static_cast<int>(axis) + 1})};
  });
}

// ---- triu / tril ---------------------------------------------------------------------------------------
namespace {

Tensor band(const char* op, const Tensor& x, int k, bool upper) {
  OpScope mark(op);
  detail::require_defined(op, x);
  const Shape xs = x.shape();
  const std::size_t nd = xs.size();
  if (nd < 2) throw ShapeError(fmt::format("{}: needs at least 2 dims (a matrix or a batch of them), got {}", op, shape_str(xs)));
  const std::size_t rows = xs[nd - 2], cols = xs[nd - 1], batch = detail::prod(xs, 0, nd - 2);
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(xs);
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    for (std::size_t b = 0, at = 0; b < batch; ++b)
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j, ++at) {
          const long long diff = static_cast<long long>(j) - static_cast<long long>(i);  // j - i
          const bool keep = upper ? diff >= k : diff <= k;
          pr[at] = keep ? px[at] : T(0);
        }
    return r;
  });
  return record(op, {x}, std::move(y), [k, upper](const VjpContext&, const Tensor& g) -> Grads {
    return {upper ? triu(g, k) : tril(g, k)};  // a mask: its own adjoint
  });
}

}  // namespace

Tensor triu(const Tensor& x, int k) { return band("triu", x, k, true); }
Tensor tril(const Tensor& x, int k) { return band("tril", x, k, false); }

// ---- diag ---------------------------------------------------------------------------------------------
namespace {

// Diagonal k of an [m, n] matrix starts at (r0, c0) and has `length` entries.
struct DiagonalAt {
  std::size_t r0, c0, length;
};
DiagonalAt diagonal_at(std::size_t m, std::size_t n, int k) {
  const long long kk = k;
  const std::size_t r0 = kk < 0 ? static_cast<std::size_t>(-kk) : 0, c0 = kk > 0 ? static_cast<std::size_t>(kk) : 0;
  const std::size_t length = r0 >= m || c0 >= n ? 0 : std::min(m - r0, n - c0);
  return {r0, c0, length};
}

Tensor diag_take(const Tensor& x, int k);

// [L] -> [m, n] zeros with v on diagonal k (L = that diagonal's length). Adjoint of diag_take.
Tensor diag_embed(const Tensor& v, int k, std::size_t m, std::size_t n) {
  OpScope mark("diag");
  const DiagonalAt at = diagonal_at(m, n, k);
  Tensor y = detail::dispatch_all(v.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(Shape{m, n});
    T* pr = detail::data<T>(r);
    const T* pv = detail::data<T>(v);
    std::fill(pr, pr + m * n, T(0));
    for (std::size_t i = 0; i < at.length; ++i) pr[(at.r0 + i) * n + at.c0 + i] = pv[i];
    return r;
  });
  return record("diag", {v}, std::move(y), [k](const VjpContext&, const Tensor& g) -> Grads { return {diag_take(g, k)}; });
}

// [m, n] -> diagonal k as [L]. Adjoint of diag_embed.
Tensor diag_take(const Tensor& x, int k) {
  OpScope mark("diag");
  const Shape xs = x.shape();
  const std::size_t m = xs[0], n = xs[1];
  const DiagonalAt at = diagonal_at(m, n, k);
  Tensor y = detail::dispatch_all(x.dtype(), [&](auto t) {
    using T = decltype(t);
    Tensor r = detail::empty_tensor<T>(Shape{at.length});
    T* pr = detail::data<T>(r);
    const T* px = detail::data<T>(x);
    for (std::size_t i = 0; i < at.length; ++i) pr[i] = px[(at.r0 + i) * n + at.c0 + i];
    return r;
  });
  return record("diag", {x}, std::move(y), [k, m, n](const VjpContext&, const Tensor& g) -> Grads {
    return {diag_embed(g, k, m, n)};
  });
}

}  // namespace

Tensor diag(const Tensor& x, int k) {
  detail::require_defined("diag", x);
  const Shape xs = x.shape();
  if (xs.size() == 2) return diag_take(x, k);
  if (xs.size() != 1)
    throw ShapeError(fmt::format("diag: needs a 1-D tensor (to build a matrix) or a 2-D one (to take a diagonal), got {}",
                                 shape_str(xs)));
  const long long kk = k;
  const std::size_t side = xs[0] + static_cast<std::size_t>(kk < 0 ? -kk : kk);
  numel({side, side}, "diag");
  return diag_embed(x, k, side, side);
}

}  // namespace ag
