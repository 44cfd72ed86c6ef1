// oneDNN convolution backend. The three kernels of the seam map onto oneDNN's primitives:
//   conv_forward      -> convolution_forward (forward_training, bias optional)
//   conv_input_grad   -> convolution_backward_data
//   conv_weight_grad  -> convolution_backward_weights
// The caller's memory is plain: src [N, C, H, W] (nchw), weights [O, C, kh, kw] (oihw) or, with G
// groups, the same buffer viewed as [G, O/G, C/G, kh, kw] (goihw), dst [N, O, OH, OW]; conv1d is
// the H = 1 case. The primitives are asked for their preferred (blocked, nChw16c-style) layouts and
// the arguments are reordered in and out. With the caller's plain layouts oneDNN 2.6 runs its
// gemm-based kernels (x64:gemm:jit), which lose to the blocked jit:avx512_core ones even with the
// reorders counted: on the 64→64 3×3 32×32 batch-16 layer, one thread, forward ~210 against ~155
// GFLOP/s, forward + both gradients ~175 against ~110; on LeNet's 1→6 and 6→16 5×5 layers at batch
// 256 (DNNL_VERBOSE) the five convolutions of a step took 8.9 ms plain against 4.8 blocked, and the
// whole LeNet step 11.9 → 8.1 ms CPU (batch 32: 1.43 → 0.89 ms). Only depthwise convolutions with
// fewer than 16 channels stay plain. Geometry translation: oneDNN's dilation counts the gaps, d - 1; its right /
// bottom padding is whatever makes its output size formula give our OH:
//   OH = (H + pl + pr - ((kh - 1)·dh + 1)) / sh + 1   (integer division),
// so pr = max(0, (OH - 1)·sh + (kh - 1)·dh + 1 - H - pl) (rows the stride skips at the end need
// no padding).
#include "ops/conv_onednn.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include <memory>
#include <tuple>

#include <oneapi/dnnl/dnnl.hpp>

namespace ag::detail {

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

enum class Kind { forward, input_grad, weight_grad };

// Everything a primitive depends on.
struct Key {
  Kind kind;
  bool bias, blocked;
  std::size_t N, C, H, W, O, G, kh, kw, sh, sw, dh, dw, OH, OW;
  std::ptrdiff_t ph, pw;
  auto tie() const { return std::tie(kind, bias, blocked, N, C, H, W, O, G, kh, kw, sh, sw, dh, dw, OH, OW, ph, pw); }
  bool operator==(const Key& o) const { return tie() == o.tie(); }
};

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpu_stream() {  // one per thread: a stream is not meant to be shared between threads
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

memory::dim dim(std::size_t v) { return static_cast<memory::dim>(v); }

struct Descs {
  memory::desc src, weights, bias, dst;  // the caller's plain layouts
  memory::desc src_any, weights_any, dst_any;  // what the primitive is asked for (any when blocked)
  memory::dims strides, dilates, pad_l, pad_r;
};

// The memory descriptors and geometry of g in oneDNN's terms, or false when they cannot say it.
bool descs_of(const ConvGeometry& g, bool blocked, Descs& d) {
  if (g.ph < 0 || g.pw < 0) return false;
  const auto pad_r = [](std::size_t n, std::size_t k, std::size_t s, std::size_t dl, std::ptrdiff_t pl, std::size_t out) {
    const std::ptrdiff_t need = static_cast<std::ptrdiff_t>((out - 1) * s + (k - 1) * dl + 1) - static_cast<std::ptrdiff_t>(n) - pl;
    return std::max<std::ptrdiff_t>(0, need);
  };
  const std::ptrdiff_t prh = pad_r(g.H, g.kh, g.sh, g.dh, g.ph, g.OH), prw = pad_r(g.W, g.kw, g.sw, g.dw, g.pw, g.OW);
  // oneDNN's own output size must agree with ours.
  const auto out = [](std::size_t n, std::size_t k, std::size_t s, std::size_t dl, std::ptrdiff_t pl, std::ptrdiff_t pr) {
    return (static_cast<std::ptrdiff_t>(n) + pl + pr - static_cast<std::ptrdiff_t>((k - 1) * dl + 1)) / static_cast<std::ptrdiff_t>(s) + 1;
  };
  if (out(g.H, g.kh, g.sh, g.dh, g.ph, prh) != static_cast<std::ptrdiff_t>(g.OH) ||
      out(g.W, g.kw, g.sw, g.dw, g.pw, prw) != static_cast<std::ptrdiff_t>(g.OW))
    return false;
  d.src = memory::desc({dim(g.N), dim(g.C), dim(g.H), dim(g.W)}, dt::f32, tag::nchw);
  d.dst = memory::desc({dim(g.N), dim(g.O), dim(g.OH), dim(g.OW)}, dt::f32, tag::nchw);
  if (g.G == 1)
    d.weights = memory::desc({dim(g.O), dim(g.C), dim(g.kh), dim(g.kw)}, dt::f32, tag::oihw);
  else
    d.weights = memory::desc({dim(g.G), dim(g.O / g.G), dim(g.C / g.G), dim(g.kh), dim(g.kw)}, dt::f32, tag::goihw);
  d.bias = memory::desc({dim(g.O)}, dt::f32, tag::x);
  d.src_any = blocked ? memory::desc(d.src.dims(), dt::f32, tag::any) : d.src;
  d.weights_any = blocked ? memory::desc(d.weights.dims(), dt::f32, tag::any) : d.weights;
  d.dst_any = blocked ? memory::desc(d.dst.dims(), dt::f32, tag::any) : d.dst;
  d.strides = {dim(g.sh), dim(g.sw)};
  d.dilates = {dim(g.dh - 1), dim(g.dw - 1)};
  d.pad_l = {g.ph, g.pw};
  d.pad_r = {prh, prw};
  return true;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool bias) {
  using cf = dnnl::convolution_forward;
  const auto alg = dnnl::algorithm::convolution_direct;
  const auto prop = dnnl::prop_kind::forward_training;
  cf::desc desc = bias ? cf::desc(prop, alg, d.src_any, d.weights_any, d.bias, d.dst_any, d.strides, d.dilates, d.pad_l, d.pad_r)
                       : cf::desc(prop, alg, d.src_any, d.weights_any, d.dst_any, d.strides, d.dilates, d.pad_l, d.pad_r);
  return cf::primitive_desc(desc, cpu_engine());
}

// Whether to let oneDNN pick its blocked layouts (reordering the caller's plain arrays in and out)
// rather than run on the plain arrays. TAPEGRAD_ONEDNN_LAYOUT=plain|blocked|auto (measurement aid).
const std::string& layout_mode() {
  static const std::string mode = [] {
    const char* v = std::getenv("TAPEGRAD_ONEDNN_LAYOUT");
    return std::string(v ? v : "auto");
  }();
  return mode;
}
bool blocked_for(const ConvGeometry& g) {
  const std::string& mode = layout_mode();
  if (mode == "plain") return false;
  if (mode == "blocked") return true;
  // depthwise: only the blocked layout has oneDNN's depthwise kernels (jit_dw); plain runs
  // gemm:jit, slower than the portable path (64 channels 3×3 32×32 batch 16, forward+backward,
  // one thread: blocked 4.5 ms, plain 15.6 ms, portable 11 ms); below 16 channels the padded
  // 16-channel block is mostly padding
  if (g.C / g.G == 1 && g.O / g.G == 1) return g.G >= 16;
  return true;
}

// One argument of a primitive: the caller's plain memory, and, when the primitive chose another
// layout, its own buffer and the reorder between the two (into it for inputs, out of it for outputs).
struct Arg {
  int id = 0;
  bool output = false;
  memory::desc user;
  memory inner;          // empty: the primitive reads / writes the caller's memory directly
  dnnl::primitive move;  // the reorder user -> inner (input) or inner -> user (output)
};

// A primitive for one key; `prim` is empty when oneDNN had none (remembered, so not retried).
struct Entry {
  Key key;
  dnnl::primitive prim;
  std::vector<Arg> args;
};

Arg arg_of(int id, bool output, const memory::desc& user, const memory::desc& chosen) {
  Arg a{id, output, user, {}, {}};
  if (chosen == user) return a;
  a.inner = memory(chosen, cpu_engine());
  const memory plain(user, cpu_engine(), DNNL_MEMORY_NONE);
  a.move = output ? dnnl::reorder(a.inner, plain) : dnnl::reorder(plain, a.inner);
  return a;
}

// Whether oneDNN's choice is its naive reference kernel (loops per output element, far slower
// than the portable path): then the other layout is tried, and failing that the portable kernel.
bool reference_impl(const dnnl::primitive_desc_base& pd) { return std::string(pd.impl_info_str()).rfind("ref", 0) == 0; }

// The primitive in the given layout mode; an empty entry when oneDNN has none (or only "ref").
Entry try_entry(const Key& key, const ConvGeometry& g, bool blocked) {
  Entry e{key, {}, {}};
  Descs d;
  if (!descs_of(g, blocked, d)) return e;
  try {
    switch (key.kind) {
      case Kind::forward: {
        const auto pd = forward_pd(d, key.bias);
        if (reference_impl(pd)) return e;
        e.args = {arg_of(DNNL_ARG_SRC, false, d.src, pd.src_desc()), arg_of(DNNL_ARG_WEIGHTS, false, d.weights, pd.weights_desc()),
                  arg_of(DNNL_ARG_DST, true, d.dst, pd.dst_desc())};
        if (key.bias) e.args.push_back(arg_of(DNNL_ARG_BIAS, false, d.bias, d.bias));
        e.prim = dnnl::convolution_forward(pd);
        break;
      }
      case Kind::input_grad: {
        using bd = dnnl::convolution_backward_data;
        bd::desc desc(dnnl::algorithm::convolution_direct, d.src_any, d.weights_any, d.dst_any, d.strides, d.dilates, d.pad_l,
                      d.pad_r);
        const bd::primitive_desc pd(desc, cpu_engine(), forward_pd(d, false));
        if (reference_impl(pd)) return e;
        e.args = {arg_of(DNNL_ARG_DIFF_DST, false, d.dst, pd.diff_dst_desc()),
                  arg_of(DNNL_ARG_WEIGHTS, false, d.weights, pd.weights_desc()),
                  arg_of(DNNL_ARG_DIFF_SRC, true, d.src, pd.diff_src_desc())};
        e.prim = bd(pd);
        break;
      }
      case Kind::weight_grad: {
        using bw = dnnl::convolution_backward_weights;
        bw::desc desc(dnnl::algorithm::convolution_direct, d.src_any, d.weights_any, d.dst_any, d.strides, d.dilates, d.pad_l,
                      d.pad_r);
        const bw::primitive_desc pd(desc, cpu_engine(), forward_pd(d, false));
        if (reference_impl(pd)) return e;
        e.args = {arg_of(DNNL_ARG_SRC, false, d.src, pd.src_desc()), arg_of(DNNL_ARG_DIFF_DST, false, d.dst, pd.diff_dst_desc()),
                  arg_of(DNNL_ARG_DIFF_WEIGHTS, true, d.weights, pd.diff_weights_desc())};
        e.prim = bw(pd);
        break;
      }
    }
  } catch (const dnnl::error&) {
    return Entry{key, {}, {}};
  }
  return e;
}

Entry make_entry(const Key& key, const ConvGeometry& g) {
  Entry e = try_entry(key, g, key.blocked);
  if (!e.prim && layout_mode() == "auto") e = try_entry(key, g, !key.blocked);
  return e;
}

// Runs e on the caller's buffers (ptrs in the order of e.args), reordering where e asks.
void execute(const Entry& e, std::initializer_list<const float*> ptrs) {
  dnnl::stream& s = cpu_stream();
  std::unordered_map<int, memory> args;
  std::vector<std::pair<const Arg*, memory>> outputs;
  auto p = ptrs.begin();
  for (const Arg& a : e.args) {
    const memory user(a.user, cpu_engine(), const_cast<float*>(*p++));
    if (!a.inner) {
      args.emplace(a.id, user);
      continue;
    }
    args.emplace(a.id, a.inner);
    if (a.output) outputs.emplace_back(&a, user);
    else a.move.execute(s, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, a.inner}});
  }
  e.prim.execute(s, args);
  for (const auto& [a, user] : outputs) a->move.execute(s, {{DNNL_ARG_FROM, a->inner}, {DNNL_ARG_TO, user}});
  s.wait();
}

// Most recently used first. A training loop touches a few geometries per layer (forward, two
// gradients, a last smaller batch); 64 entries cover a deep net without growing without bound.
constexpr std::size_t kCacheSize = 64;

const Entry& lookup(Kind kind, bool bias, const ConvGeometry& g) {
  thread_local std::list<Entry> cache;
  const Key key{kind, bias, blocked_for(g), g.N, g.C, g.H, g.W, g.O, g.G, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.OH, g.OW, g.ph, g.pw};
  for (auto it = cache.begin(); it != cache.end(); ++it)
    if (it->key == key) {
      cache.splice(cache.begin(), cache, it);
      return cache.front();
    }
  cache.push_front(make_entry(key, g));
  if (cache.size() > kCacheSize) cache.pop_back();
  return cache.front();
}

}  // namespace

bool onednn_conv_forward(const float* x, const float* w, const float* b, float* y, const ConvGeometry& g) {
  const Entry& e = lookup(Kind::forward, b != nullptr, g);
  if (!e.prim) return false;
  if (b) execute(e, {x, w, y, b});
  else execute(e, {x, w, y});
  return true;
}

bool onednn_conv_input_grad(const float* gy, const float* w, float* dx, const ConvGeometry& g) {
  const Entry& e = lookup(Kind::input_grad, false, g);
  if (!e.prim) return false;
  execute(e, {gy, w, dx});
  return true;
}

bool onednn_conv_weight_grad(const float* x, const float* gy, float* dw, const ConvGeometry& g) {
  const Entry& e = lookup(Kind::weight_grad, false, g);
  if (!e.prim) return false;
  execute(e, {x, gy, dw});
  return true;
}

std::string onednn_info() {
  const dnnl::version_t* v = dnnl::version();
  const char* isa = "?";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: break;
  }
  return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) +
         " (max cpu isa " + isa + ")";
}

}  // namespace ag::detail
