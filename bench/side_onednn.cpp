// The oneDNN floor (optional: built only when find_package(dnnl) succeeds): conv_layer written
// directly against oneDNN's primitives, the speed a conv backend built on oneDNN can reach (the
// issue's "≥ 80% of oneDNN's own GFLOP/s" target). The user tensors are plain NCHW / OIHW, as in
// tapegrad and libtorch; each primitive picks its own layouts (format_tag::any) and the reorders
// between the two are part of every step, as they are for a framework that stores plain tensors.
#include <oneapi/dnnl/dnnl.hpp>

#include <string>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "onednn";
std::vector<std::pair<std::string, std::string>> side_info() {
  const dnnl_version_t* v = dnnl_version();
  const std::string ver = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  using isa = dnnl::cpu_isa;
  const isa i = dnnl::get_effective_cpu_isa();
  const char* name = i == isa::avx512_core_amx    ? "avx512_core_amx"
                     : i == isa::avx512_core_bf16 ? "avx512_core_bf16"
                     : i == isa::avx512_core_vnni ? "avx512_core_vnni"
                     : i == isa::avx512_core      ? "avx512_core"
                     : i == isa::avx2             ? "avx2"
                                                  : "other";
  return {{"dnnl_version", ver}, {"dnnl_isa", name}};
}

namespace {
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A memory in the layout a primitive wants, fed from / written back to a user memory in plain
// layout; no copy when the layouts agree.
struct Staged {
  dnnl::memory user, prim;
  bool reorder = false;
  Staged(const dnnl::memory& u, const dnnl::memory::desc& want, const dnnl::engine& eng) : user(u), prim(u) {
    if (u.get_desc() != want) {
      prim = dnnl::memory(want, eng);
      reorder = true;
    }
  }
  void in(dnnl::stream& s) {  // user -> primitive
    if (reorder) dnnl::reorder(user, prim).execute(s, user, prim);
  }
  void out(dnnl::stream& s) {  // primitive -> user
    if (reorder) dnnl::reorder(prim, user).execute(s, prim, user);
  }
};

struct ConvOneDnn {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream s{eng};
  std::vector<float> x, g, w, b, y, dx, dw, db;  // plain: NCHW, OIHW, [Co]
  dnnl::memory ux, ug, uw, ub, uy, udx, udw, udb;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_w;
  std::vector<Staged> st;  // fwd: x, w, y; bwd data: g, w, dx; bwd weights: x, g, dw
  bool x_shared = false, g_shared = false;
  explicit ConvOneDnn(const conv_layer::Data& d)
      : x(d.x), g(d.g), w(d.init.w), b(d.init.b), y(x.size()), dx(x.size()), dw(w.size()), db(b.size()) {
    using namespace conv_layer;
    const auto N = static_cast<dnnl::memory::dim>(n), C = static_cast<dnnl::memory::dim>(c),
               H = static_cast<dnnl::memory::dim>(h), W = static_cast<dnnl::memory::dim>(conv_layer::w),
               Kk = static_cast<dnnl::memory::dim>(k), P = static_cast<dnnl::memory::dim>(pad);
    const dnnl::memory::dims act{N, C, H, W}, wei{C, C, Kk, Kk}, bias{C}, strides{1, 1}, padding{P, P};
    const dnnl::memory::desc act_plain(act, dt::f32, tag::nchw), wei_plain(wei, dt::f32, tag::oihw),
        bias_plain(bias, dt::f32, tag::x), act_any(act, dt::f32, tag::any), wei_any(wei, dt::f32, tag::any);
    ux = dnnl::memory(act_plain, eng, x.data());
    ug = dnnl::memory(act_plain, eng, g.data());
    uy = dnnl::memory(act_plain, eng, y.data());
    udx = dnnl::memory(act_plain, eng, dx.data());
    uw = dnnl::memory(wei_plain, eng, w.data());
    udw = dnnl::memory(wei_plain, eng, dw.data());
    ub = dnnl::memory(bias_plain, eng, b.data());
    udb = dnnl::memory(bias_plain, eng, db.data());
    const auto algo = dnnl::algorithm::convolution_direct;
    const dnnl::convolution_forward::primitive_desc fpd(
        dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, act_any, wei_any, bias_plain,
                                        act_any, strides, padding, padding),
        eng);
    const dnnl::convolution_backward_data::primitive_desc dpd(
        dnnl::convolution_backward_data::desc(algo, act_any, wei_any, act_any, strides, padding, padding), eng, fpd);
    const dnnl::convolution_backward_weights::primitive_desc wpd(
        dnnl::convolution_backward_weights::desc(algo, act_any, wei_any, bias_plain, act_any, strides, padding,
                                                 padding),
        eng, fpd);
    fwd = dnnl::convolution_forward(fpd);
    bwd_data = dnnl::convolution_backward_data(dpd);
    bwd_w = dnnl::convolution_backward_weights(wpd);
    st = {Staged(ux, fpd.src_desc(), eng),      Staged(uw, fpd.weights_desc(), eng),
          Staged(uy, fpd.dst_desc(), eng),      Staged(ug, dpd.diff_dst_desc(), eng),
          Staged(uw, dpd.weights_desc(), eng),  Staged(udx, dpd.diff_src_desc(), eng),
          Staged(ux, wpd.src_desc(), eng),      Staged(ug, wpd.diff_dst_desc(), eng),
          Staged(udw, wpd.diff_weights_desc(), eng)};
    x_shared = wpd.src_desc() == fpd.src_desc();
    g_shared = wpd.diff_dst_desc() == dpd.diff_dst_desc();
  }
  void step() {
    st[0].in(s);
    st[1].in(s);
    fwd.execute(s, {{DNNL_ARG_SRC, st[0].prim}, {DNNL_ARG_WEIGHTS, st[1].prim}, {DNNL_ARG_BIAS, ub},
                    {DNNL_ARG_DST, st[2].prim}});
    st[2].out(s);
    st[3].in(s);
    st[4].in(s);
    bwd_data.execute(s, {{DNNL_ARG_DIFF_DST, st[3].prim}, {DNNL_ARG_WEIGHTS, st[4].prim},
                         {DNNL_ARG_DIFF_SRC, st[5].prim}});
    st[5].out(s);
    // the forward's copy of x and the data gradient's copy of g serve when the layouts agree
    if (!x_shared) st[6].in(s);
    if (!g_shared) st[7].in(s);
    bwd_w.execute(s, {{DNNL_ARG_SRC, x_shared ? st[0].prim : st[6].prim},
                      {DNNL_ARG_DIFF_DST, g_shared ? st[3].prim : st[7].prim},
                      {DNNL_ARG_DIFF_WEIGHTS, st[8].prim},
                      {DNNL_ARG_DIFF_BIAS, udb}});
    st[8].out(s);
    s.wait();
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= conv_layer::lr * dw[i];
    for (std::size_t i = 0; i < b.size(); ++i) b[i] -= conv_layer::lr * db[i];
  }
};
}  // namespace

BENCH_SIDE(conv_layer) {
  const conv_layer::Data data = conv_layer::make_data();
  Result r;
  {
    ConvOneDnn timed(data);
    r = time_it([&] { timed.step(); clobber(); }, opt);
  }
  ConvOneDnn run(data);
  for (std::size_t i = 0; i < conv_layer::check_steps; ++i) run.step();
  append_checksums(r.check, run.y.data(), run.y.size());
  append_checksums(r.check, run.dx.data(), run.dx.size());
  append_checksums(r.check, run.w.data(), run.w.size());
  append_checksums(r.check, run.b.data(), run.b.size());
  return r;
}

}  // namespace bench
