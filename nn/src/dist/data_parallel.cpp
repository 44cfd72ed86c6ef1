// DataParallel: identical model copies across ranks (rank 0's weights at start, the row-weighted
// mean gradient at every step).
//
// Plain mode: rank r contributes rows_r * g_r (g_r = the gradient of its mean loss); the sum over
// ranks divided by sum_r rows_r is the gradient of the mean over every row, whatever the split.
// Ordered mode: the same sum, but over stored micro-batch contributions gathered to every rank and
// added in float64 in the global micro-batch order, so no float sum depends on the world size.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <type_traits>

#include <fmt/core.h>

#include "ag/extend.hpp"
#include "ag/nn/dist.hpp"
#include "ag/nn/module.hpp"

namespace ag::nn::dist {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One line per parameter and buffer: what must agree across ranks before weights can be copied.
std::vector<std::string> describe(const Module& m) {
  std::vector<std::string> lines;
  for (const auto& [name, t] : m.named_parameters())
    lines.push_back(fmt::format("parameter {} {} {}", name, dtype_name(t.dtype()), shape_str(t.shape())));
  for (const auto& [name, t] : m.named_buffers())
    lines.push_back(fmt::format("buffer {} {} {}", name, dtype_name(t.dtype()), shape_str(t.shape())));
  return lines;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

DataParallel::DataParallel(Module& model, Communicator& comm, DataParallelOptions options)
    : model_(model), comm_(comm), options_(options) {
  if (options_.bucket_bytes == 0) throw ValueError("DataParallel: bucket_bytes must be at least 1");
  sync_parameters();
}

void DataParallel::sync_parameters() {
  // Shapes first: a hash per rank (two exact 32-bit halves per double), then, if any differs, the
  // lists of rank 0 and of the first differing rank travel so every rank names the same difference.
  const std::vector<std::string> mine = describe(model_);
  const std::uint64_t h = fnv1a(join(mine));
  const std::vector<double> hashes =
      comm_.all_gather(std::vector<double>{static_cast<double>(h >> 32), static_cast<double>(h & 0xffffffffu)});
  int differing = -1;
  for (int r = 1; r < comm_.size() && differing < 0; ++r)
    if (hashes[2 * r] != hashes[0] || hashes[2 * r + 1] != hashes[1]) differing = r;
  if (differing >= 0) {
    std::string first = join(mine), other = join(mine);
    comm_.broadcast(first, 0);
    comm_.broadcast(other, differing);
    const std::vector<std::string> a = split(first), b = split(other);
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    throw ValueError(fmt::format(
        "DataParallel: the model on rank {} differs from rank 0's ({} vs {} parameters and buffers); first difference: "
        "rank 0 has '{}', rank {} has '{}'",
        differing, a.size(), b.size(), i < a.size() ? a[i] : "nothing more", differing,
        i < b.size() ? b[i] : "nothing more"));
  }

  NoGradGuard no_grad;
  for (Tensor p : model_.parameters()) comm_.broadcast(p, 0);
  for (Tensor b : model_.buffers()) comm_.broadcast(b, 0);

  params_ = model_.trainable_parameters();
  for (const Tensor& p : params_)
    if (p.dtype() != f32 && p.dtype() != f64)
      throw DtypeError(fmt::format("DataParallel: parameters must be float32 or float64, got {}", dtype_name(p.dtype())));
  numel_ = 0;
  for (const Tensor& p : params_) numel_ += p.numel();
  // Reverse parameter order inside each dtype's buffer: the last layer's gradient first.
  offset_.assign(params_.size(), 0);
  std::size_t n32 = 0, n64 = 0;
  for (std::size_t i = params_.size(); i-- > 0;) {
    std::size_t& n = params_[i].dtype() == f32 ? n32 : n64;
    offset_[i] = n;
    n += params_[i].numel();
  }
  flat32_.assign(n32, 0.0f);
  flat64_.assign(n64, 0.0);
  meta_.assign(params_.size() + 1, 0.0);
  has_grad_.assign(params_.size(), false);
  micro_.clear();
  micro_rows_.clear();
  local_rows_ = 0.0;
  accumulated_ = 0;
}

void DataParallel::accumulate(std::size_t rows) {
  const double w = static_cast<double>(rows);
  NoGradGuard no_grad;
  if (options_.ordered) {
    // rows * g in float64 is exact (a float has 24 significant bits, rows far fewer than 29).
    std::vector<double> flat(numel_, 0.0);
    std::size_t off = 0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Tensor p = params_[i];
      const Tensor g = p.grad();
      if (g.defined()) {
        has_grad_[i] = true;
        ag::dispatch(g.dtype(), [&](auto tag) {
          using T = decltype(tag);
          const T* x = g.data<T>();
          const std::size_t n = p.numel();
          for (std::size_t k = 0; k < n; ++k) flat[off + k] = w * static_cast<double>(x[k]);
        });
      }
      off += p.numel();
      p.zero_grad();
    }
    micro_.push_back(std::move(flat));
    micro_rows_.push_back(w);
  } else {
    // The first micro-batch writes rows * g (zeros where there is no gradient), later ones add.
    const bool first = accumulated_ == 0;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Tensor p = params_[i];
      const Tensor g = p.grad();
      ag::dispatch(p.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* c = flat<T>() + offset_[i];
        const std::size_t n = p.numel();
        if (!g.defined()) {
          if (first) std::fill_n(c, n, T(0));
          return;
        }
        has_grad_[i] = true;
        const T* x = g.data<T>();
        const T wt = static_cast<T>(w);
        if (first) {
          for (std::size_t k = 0; k < n; ++k) c[k] = wt * x[k];
        } else {
          for (std::size_t k = 0; k < n; ++k) c[k] += wt * x[k];
        }
      });
      p.zero_grad();
    }
  }
  ++accumulated_;
  local_rows_ += w;
}

void DataParallel::reduce_gradients(std::size_t rows) {
  accumulate(rows);
  reduce_gradients();
}

void DataParallel::reduce_gradients() {
  if (options_.ordered) reduce_ordered();
  else reduce_plain();
  has_grad_.assign(params_.size(), false);
  micro_.clear();
  micro_rows_.clear();
  local_rows_ = 0.0;
  accumulated_ = 0;
  if (options_.broadcast_buffers) {
    NoGradGuard no_grad;
    for (Tensor b : model_.buffers()) comm_.broadcast(b, 0);
  }
}

void DataParallel::reduce_plain() {
  if (accumulated_ == 0) {  // a rank without a batch this step contributes nothing
    std::fill(flat32_.begin(), flat32_.end(), 0.0f);
    std::fill(flat64_.begin(), flat64_.end(), 0.0);
  }
  const auto t0 = Clock::now();
  // Rows and, per parameter, how many ranks have a gradient: one small float64 all-reduce.
  meta_[0] = local_rows_;
  for (std::size_t i = 0; i < params_.size(); ++i) meta_[i + 1] = has_grad_[i] ? 1.0 : 0.0;
  comm_.all_reduce(meta_.data(), meta_.size());
  const double total = meta_[0];
  last_total_rows_ = total;
  if (total <= 0.0) throw ValueError("DataParallel::reduce_gradients: no rank accumulated any rows");

  // Each dtype's buffer in pieces of bucket_bytes: the same all-reduces on every rank.
  const auto reduce = [&](auto* data, std::size_t n) {
    using T = std::remove_pointer_t<decltype(data)>;
    const std::size_t per = std::max<std::size_t>(1, options_.bucket_bytes / sizeof(T));
    for (std::size_t lo = 0; lo < n; lo += per) comm_.all_reduce(data + lo, std::min(per, n - lo));
  };
  reduce(flat32_.data(), flat32_.size());
  reduce(flat64_.data(), flat64_.size());
  comm_seconds_ += seconds_since(t0);

  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (meta_[i + 1] == 0.0) continue;  // no rank has a gradient: it keeps none
    ag::dispatch(params_[i].dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* c = flat<T>() + offset_[i];
      const T tt = static_cast<T>(total);
      Tensor g = ag::empty_tensor<T>(params_[i].shape());
      T* d = ag::data<T>(g);
      const std::size_t n = params_[i].numel();
      for (std::size_t k = 0; k < n; ++k) d[k] = c[k] / tt;
      params_[i].set_grad(g);
    });
  }
}

void DataParallel::reduce_ordered() {
  const auto t0 = Clock::now();
  const std::size_t N = static_cast<std::size_t>(comm_.size());
  const std::vector<double> counts = comm_.all_gather(static_cast<double>(micro_.size()));
  std::size_t kmax = 0;
  for (double c : counts) kmax = std::max(kmax, static_cast<std::size_t>(c));
  if (kmax == 0) throw ValueError("DataParallel::reduce_gradients: no rank accumulated any micro-batch");

  // Per rank: the rows of its micro-batches (0 past its count), then its has-gradient flags.
  std::vector<double> meta(kmax + params_.size(), 0.0);
  for (std::size_t j = 0; j < micro_rows_.size(); ++j) meta[j] = micro_rows_[j];
  for (std::size_t i = 0; i < params_.size(); ++i) meta[kmax + i] = has_grad_[i] ? 1.0 : 0.0;
  const std::vector<double> all_meta = comm_.all_gather(meta);
  const std::size_t stride = meta.size();
  // Global micro-batch order: micro-batch j of rank r is chunk j * N + r of the step (the order in
  // which SamplerOptions::chunk deals the rows), so j outer, r inner.
  double total = 0.0;
  for (std::size_t j = 0; j < kmax; ++j)
    for (std::size_t r = 0; r < N; ++r)
      if (j < static_cast<std::size_t>(counts[r])) total += all_meta[r * stride + j];
  last_total_rows_ = total;

  std::vector<double> sum(numel_, 0.0);
  // Element ranges sized so that each rank sends about bucket_bytes per gather.
  const std::size_t per = std::max<std::size_t>(1, options_.bucket_bytes / (sizeof(double) * kmax));
  std::vector<double> send, recv;
  for (std::size_t lo = 0; lo < numel_; lo += per) {
    const std::size_t n = std::min(per, numel_ - lo);
    send.assign(kmax * n, 0.0);
    for (std::size_t j = 0; j < micro_.size(); ++j) std::copy_n(micro_[j].data() + lo, n, send.data() + j * n);
    recv.resize(N * kmax * n);
    comm_.all_gather(send.data(), send.size(), recv.data());
    for (std::size_t j = 0; j < kmax; ++j)
      for (std::size_t r = 0; r < N; ++r) {
        if (j >= static_cast<std::size_t>(counts[r])) continue;
        const double* x = recv.data() + (r * kmax + j) * n;
        for (std::size_t e = 0; e < n; ++e) sum[lo + e] += x[e];
      }
  }
  // A parameter has a gradient when any rank gave it one.
  for (std::size_t i = 0; i < params_.size(); ++i) {
    bool any = false;
    for (std::size_t r = 0; r < N; ++r) any = any || all_meta[r * stride + kmax + i] != 0.0;
    has_grad_[i] = any;
  }
  comm_seconds_ += seconds_since(t0);
  write_grads_f64(sum, total);
}

void DataParallel::write_grads_f64(const std::vector<double>& flat, double total) {
  if (total <= 0.0) throw ValueError("DataParallel::reduce_gradients: no rank accumulated any rows");
  std::size_t off = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::size_t n = params_[i].numel();
    if (has_grad_[i]) {
      ag::dispatch(params_[i].dtype(), [&](auto tag) {
        using T = decltype(tag);
        Tensor g = ag::empty_tensor<T>(params_[i].shape());
        T* d = ag::data<T>(g);
        for (std::size_t k = 0; k < n; ++k) d[k] = static_cast<T>(flat[off + k] / total);
        params_[i].set_grad(g);
      });
    }
    off += n;
  }
}

}  // namespace ag::nn::dist
