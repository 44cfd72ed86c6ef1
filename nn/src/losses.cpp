// Losses composed from ag ops (each gradient comes from the ops' VJPs; the stable pieces —
// softplus, log_softmax — have hand-written ones in the core).
#include "ag/nn/losses.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "ag/extend.hpp"

namespace ag::nn {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::none: return "none";
    case Reduction::batchmean: return "batchmean";
  }
  return "?";
}

namespace {

// pred and target: defined, same dtype, same shape (no silent broadcasting in a loss).
void check_pair(const char* op, const Tensor& pred, const Tensor& target) {
  ag::require_defined(op, pred, "pred");
  ag::require_defined(op, target, "target");
  if (pred.dtype() != target.dtype())
    throw DtypeError(fmt::format("{}: pred is {} {} but target is {} {} (convert one with .to())", op,
                                 dtype_name(pred.dtype()), shape_str(pred.shape()),
                                 dtype_name(target.dtype()), shape_str(target.shape())));
  if (!ag::same_shape(pred, target))
    throw ShapeError(fmt::format("{}: pred shape {} and target shape {} must be equal", op,
                                 shape_str(pred.shape()), shape_str(target.shape())));
}

// Every loss but kl_div: Reduction::batchmean is kl_div's.
void reject_batchmean(const char* op, Reduction r) {
  if (r == Reduction::batchmean)
    throw ValueError(fmt::format("{}: Reduction::batchmean is for kl_div only; use Reduction::mean", op));
}

// `op` is the loss the user called: an empty mean names it, not the internal mean.
Tensor reduce(const char* op, const Tensor& x, Reduction r) {
  reject_batchmean(op, r);
  if (r == Reduction::mean && x.numel() == 0)
    throw ValueError(fmt::format("{}: no elements to average (the elementwise loss has shape {}); "
                                 "use Reduction::sum or Reduction::none for empty batches", op,
                                 shape_str(x.shape())));
  switch (r) {
    case Reduction::mean: return mean(x);
    case Reduction::sum: return sum(x);
    case Reduction::none: return x;
    case Reduction::batchmean: break;  // rejected above
  }
  return x;
}

// Class indices as an int64 tensor of `shape` ([n] by default).
Tensor indices_tensor(const std::vector<std::size_t>& classes, Shape shape = {}) {
  if (shape.empty()) shape = {classes.size()};
  Tensor t = ag::empty_tensor<std::int64_t>(shape);
  std::int64_t* p = ag::data<std::int64_t>(t);
  for (std::size_t i = 0; i < classes.size(); ++i) p[i] = static_cast<std::int64_t>(classes[i]);
  return t;
}

// The options of cross_entropy and nll_loss (nll_loss: no smoothing).
struct ClassOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight;
  std::optional<std::int64_t> ignore_index;
  double smoothing = 0.0;
};

const char* input_name(const char* op) { return std::string(op) == "nll_loss" ? "log_probs" : "logits"; }

// The class weights as a constant [C] tensor of the input's dtype (undefined when none were given).
Tensor class_weights(const char* op, const Tensor& weight, const Shape& input_shape, DType dtype) {
  if (!weight.defined()) return Tensor();
  const std::size_t C = input_shape.back();
  if (!is_floating(weight.dtype()))
    throw DtypeError(fmt::format("{}: weight {} is {}; pass a float tensor of {} class weights", op,
                                 shape_str(weight.shape()), dtype_name(weight.dtype()), C));
  if (weight.shape() != Shape{C})
    throw ShapeError(fmt::format("{}: weight has shape {}, expected [{}] (one per class of the {} {})", op,
                                 shape_str(weight.shape()), C, input_name(op), shape_str(input_shape)));
  return weight.detach().to(dtype);  // not differentiated (as in PyTorch)
}

// Class-index targets, checked: each row's class and weight.
struct ClassTargets {
  std::vector<std::size_t> idx;  // per row (row-major over the target's shape); ignored rows: 0
  std::vector<double> w;         // per row: weight[class] (1 without weights); 0 for ignored rows
  std::vector<double> keep;      // per row: 0 for ignored rows, else 1 (w and keep: empty when plain)
  std::size_t ignored = 0;       // how many rows are ignored
  double total = 0.0;            // Σ w: what Reduction::mean divides by
  bool plain = true;             // no weights and nothing ignored: every w is 1
};

ClassTargets class_targets(const char* op, const Tensor& target, const Shape& input_shape, const Tensor& weight,
                           std::optional<std::int64_t> ignore) {
  const std::size_t C = input_shape.back();
  const xt::xarray<double> cls = target.to_xarray<double>();  // exact for any class count in use
  const std::vector<double> wc = weight.defined() ? weight.to_vector<double>() : std::vector<double>();
  ClassTargets ct;
  ct.plain = !weight.defined() && !ignore;
  const std::size_t n = cls.size();
  ct.idx.assign(n, 0);
  if (!ct.plain) {  // the plain case (the hot one) needs only the indices
    ct.w.assign(n, 0.0);
    ct.keep.assign(n, 0.0);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double c = cls.data()[i];
    if (ignore && c == static_cast<double>(*ignore)) {  // class 0 (any valid one), weight 0
      ++ct.ignored;
      continue;
    }
    if (!(c >= 0 && c < static_cast<double>(C)) || c != std::floor(c))
      throw IndexError(fmt::format("{}: bad class index for {} classes: target[{}] = {} for {} {}{}", op, C, i, c,
                                   input_name(op), shape_str(input_shape),
                                   ignore ? fmt::format(" (ignore_index = {})", *ignore) : std::string()));
    ct.idx[i] = static_cast<std::size_t>(c);
    if (ct.plain) continue;
    ct.keep[i] = 1.0;
    ct.w[i] = weight.defined() ? wc[ct.idx[i]] : 1.0;
    ct.total += ct.w[i];
  }
  if (ct.plain) ct.total = static_cast<double>(n);
  return ct;
}

// A constant tensor of `shape` from row-major values, in dtype d.
Tensor constant(const std::vector<double>& v, const Shape& shape, DType d) {
  return ag::dispatch(d, [&](auto t) {
    using T = decltype(t);
    Tensor c = ag::empty_tensor<T>(shape);
    T* p = ag::data<T>(c);
    for (std::size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
    return c;
  });
}

// Reduces the per-row losses of class-index targets: the mean divides by Σ w (PyTorch's
// weighted mean), which is the row count when nothing is weighted or ignored.
Tensor reduce_rows(const char* op, const Tensor& loss, Reduction r, const ClassTargets& ct) {
  if (r != Reduction::mean || ct.plain || loss.numel() == 0) return reduce(op, loss, r);
  if (ct.total == 0.0)
    throw ValueError(fmt::format("{}: nothing to average: every target of {} is ignored or has class weight 0 "
                                 "(the weighted mean would be 0/0); use Reduction::sum or Reduction::none",
                                 op, shape_str(loss.shape())));
  return sum(loss) * (1.0 / ct.total);
}

// loss per row: -(q · lp) summed over the class axis, q from `target` (probability rows or class
// indices) mixed with the uniform distribution by the smoothing, with PyTorch's class weights and
// ignore_index; reduced by o.reduction.
Tensor class_loss(const char* op, const Tensor& lp, const Tensor& target, const ClassOptions& o) {
  ag::require_defined(op, target, "target");
  if (target.dtype() == bool_)
    throw DtypeError(fmt::format("{}: the target {} is bool; pass class indices (int64) or probability rows",
                                 op, shape_str(target.shape())));
  const Shape ls = lp.shape();
  if (ls.empty())
    throw ShapeError(fmt::format("{}: {} must have a class axis (got a 0-d tensor)", op, input_name(op)));
  const double smoothing = o.smoothing;
  if (!(smoothing >= 0.0 && smoothing <= 1.0))
    throw ValueError(fmt::format("{}: label_smoothing must be in [0, 1], got {}", op, smoothing));
  const std::size_t C = ls.back();
  const double eps_c = smoothing / static_cast<double>(C);
  const Shape rows(ls.begin(), ls.end() - 1);
  const Shape ts = target.shape();
  const Tensor w = class_weights(op, o.weight, ls, lp.dtype());
  if (ts == ls) {  // probability rows: -Σ_c w_c·q'_c·lp_c, q' = (1-ε)q + ε/C; mean over the rows
    if (target.dtype() != lp.dtype())
      throw DtypeError(fmt::format("{}: input is {} {} but the target probabilities are {} {}", op,
                                   dtype_name(lp.dtype()), shape_str(ls), dtype_name(target.dtype()),
                                   shape_str(ts)));
    if (o.ignore_index)
      throw ValueError(fmt::format("{}: ignore_index ({}) applies to class indices, not to the probability rows "
                                   "{} given as the target",
                                   op, *o.ignore_index, shape_str(ts)));
    const Tensor wlp = w.defined() ? lp * w : lp;
    Tensor loss = neg(sum(target * wlp, {-1}));
    if (smoothing != 0.0) loss = loss * (1.0 - smoothing) - sum(wlp, {-1}) * eps_c;
    return reduce(op, loss, o.reduction);
  }
  if (ts != rows)
    throw ShapeError(fmt::format("{}: target shape {} must be {} (one-hot / probability rows) or {} "
                                 "(class indices) for input {}",
                                 op, shape_str(ts), shape_str(ls), shape_str(rows), shape_str(ls)));
  const ClassTargets ct = class_targets(op, target, ls, w, o.ignore_index);
  Shape col = rows;
  col.push_back(1);  // [N] -> [N, 1] for take_along_axis
  Tensor picked = take_along_axis(lp, indices_tensor(ct.idx, col), -1);
  std::vector<std::ptrdiff_t> back(rows.begin(), rows.end());
  Tensor loss = neg(reshape(picked, back));  // -lp[n, c_n]
  if (w.defined()) loss = loss * constant(ct.w, rows, lp.dtype());  // w[c_n]·nll_n
  if (smoothing != 0.0)  // + (ε/C)·(-Σ_c w_c·lp_c)
    loss = loss * (1.0 - smoothing) - sum(w.defined() ? lp * w : lp, {-1}) * eps_c;
  if (ct.ignored > 0)  // ignored rows: exactly 0 and no gradient, even where lp is -inf or NaN there
    loss = where(constant(ct.keep, rows, lp.dtype()), loss, scalar(0.0, lp.dtype()));
  return reduce_rows(op, loss, o.reduction, ct);
}

// Softmax cross-entropy of logits [N, C] with class indices [N], reduced by sum or mean, as one op:
// per row lse = m + log Σ e^(z-m) (m = max z), loss = w_n·(lse - z[c]) with w_n the row's class
// weight (1 without weights, 0 where ignored). The softmax p is kept for the backward,
// dz = w_n·(p - onehot(c))·g (/Σw for the mean): one exp per element in all, where
// log_softmax + gather + neg + mean recompute e^y in log_softmax's VJP and scatter into zeros.
// Under create_graph the VJP is written with ag ops (softmax(z) - onehot), so it stays differentiable.
Tensor fused_cross_entropy(const Tensor& logits, const ClassTargets& ct, Reduction r) {
  const Shape ls = logits.shape();
  const std::size_t N = ls[0], C = ls[1];
  if (r == Reduction::mean && !ct.plain && ct.total == 0.0)
    throw ValueError(fmt::format("cross_entropy: nothing to average: every target of the {} logits {} is ignored "
                                 "or has class weight 0 (the weighted mean would be 0/0); use Reduction::sum or "
                                 "Reduction::none", N, shape_str(ls)));
  const double scale = r == Reduction::mean ? 1.0 / ct.total : 1.0;
  Tensor probs;  // softmax rows, for the backward
  Tensor loss = ag::dispatch(logits.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* z = logits.value<T>().data();
    xt::xarray<T> p = xt::xarray<T>::from_shape({N, C});
    double total = 0;
    for (std::size_t i = 0; i < N; ++i) {
      const T* zi = z + i * C;
      T* pi = p.data() + i * C;
      T m = zi[0];
      for (std::size_t c = 1; c < C; ++c) m = std::max(m, zi[c]);
      T s = 0;
      for (std::size_t c = 0; c < C; ++c) s += (pi[c] = std::exp(zi[c] - m));
      for (std::size_t c = 0; c < C; ++c) pi[c] /= s;
      if (ct.plain) total += static_cast<double>(m + std::log(s) - zi[ct.idx[i]]);  // lse - z[c]
      else if (ct.w[i] != 0.0) total += ct.w[i] * static_cast<double>(m + std::log(s) - zi[ct.idx[i]]);
    }
    probs = Tensor(std::move(p));
    return scalar(total * scale, logits.dtype());
  });
  // per-row factors of the gradient (empty: all 1)
  std::vector<double> rw = ct.plain ? std::vector<double>() : ct.w;
  return record("cross_entropy", {logits}, std::move(loss),
                [probs, idx = ct.idx, rw = std::move(rw), scale](const VjpContext& c, const Tensor& g) -> Grads {
    const std::size_t N = probs.shape()[0], C = probs.shape()[1];
    if (c.create_graph()) {  // differentiable: w·(softmax(z) - onehot)·g·scale
      Tensor onehot = zeros_like(probs);
      ag::dispatch(onehot.dtype(), [&](auto t) {
        using T = decltype(t);
        T* o = onehot.mutable_value<T>().data();
        for (std::size_t i = 0; i < idx.size(); ++i) o[i * C + idx[i]] = T(1);
      });
      Tensor d = sub(softmax(c.input(0), -1), onehot);
      if (!rw.empty()) d = mul(d, constant(rw, {N, 1}, probs.dtype()));
      return {mul(d, mul(g, scale))};
    }
    return {ag::dispatch(probs.dtype(), [&](auto t) {
      using T = decltype(t);
      const T k = static_cast<T>(g.item() * scale);
      xt::xarray<T> d = probs.value<T>();  // p - onehot, times w·g·scale
      T* pd = d.data();
      for (std::size_t i = 0; i < idx.size(); ++i) pd[i * C + idx[i]] -= T(1);
      if (rw.empty()) {
        for (std::size_t j = 0, n = d.size(); j < n; ++j) pd[j] *= k;
      } else {
        for (std::size_t i = 0; i < N; ++i) {
          const T ki = static_cast<T>(rw[i]) * k;
          for (std::size_t j = 0; j < C; ++j) pd[i * C + j] = rw[i] == 0.0 ? T(0) : pd[i * C + j] * ki;
        }
      }
      return Tensor(std::move(d));
    })};
  });
}

// Margin-loss labels: ±1, of x's dtype or a signed integer dtype, x's shape; converted to x's dtype.
Tensor sign_labels(const char* op, const Tensor& x, const Tensor& y) {
  ag::require_defined(op, y, "the target y");
  const DType d = y.dtype();
  if (!(d == x.dtype() || d == i64 || d == i32))
    throw DtypeError(fmt::format("{}: the target y {} is {} but the input is {} {}; y holds 1 or -1 as {} or int64",
                                 op, shape_str(y.shape()), dtype_name(d), dtype_name(x.dtype()),
                                 shape_str(x.shape()), dtype_name(x.dtype())));
  if (!ag::same_shape(x, y))
    throw ShapeError(fmt::format("{}: input shape {} and target shape {} must be equal", op, shape_str(x.shape()),
                                 shape_str(y.shape())));
  const xt::xarray<double> v = y.to_xarray<double>();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v.data()[i] != 1.0 && v.data()[i] != -1.0)
      throw ValueError(fmt::format("{}: target y[{}] = {} (flat position in {}); y must hold 1 or -1 (a 0/1 label "
                                   "becomes -1/1 as 2·y - 1)",
                                   op, i, v.data()[i], shape_str(y.shape())));
  return d == x.dtype() ? y : y.to(x.dtype());
}

}  // namespace

Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction r) {
  check_pair("mse_loss", pred, target);
  reject_batchmean("mse_loss", r);  // before the fused path, which reads only mean/sum
  if (r == Reduction::none || pred.numel() == 0) return reduce("mse_loss", square(pred - target), r);
  // One op for the reduced loss (the per-row SGD of the tutorial runs it every sample):
  // L = k·Σ(p - t)², k = 1/n (mean) or 1; dL/dp = 2k·(p - t)·g = -dL/dt.
  OpScope mark("mse_loss");
  const double k = r == Reduction::mean ? 1.0 / static_cast<double>(pred.numel()) : 1.0;
  Tensor loss = ag::dispatch(pred.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = pred.value<T>().data();
    const T* t = target.value<T>().data();
    T total = 0;
    for (std::size_t i = 0, n = pred.numel(); i < n; ++i) total += (p[i] - t[i]) * (p[i] - t[i]);
    return scalar(static_cast<double>(total) * k, pred.dtype());
  });
  return record("mse_loss", {pred, target}, std::move(loss), [k](const VjpContext& c, const Tensor& g) -> Grads {
    const Tensor& p = c.input(0);
    const Tensor& t = c.input(1);
    Tensor d;  // 2k·(p - t)·g
    if (c.create_graph()) {
      d = mul(sub(p, t), mul(g, 2.0 * k));  // ag ops: differentiable again
    } else {
      d = ag::dispatch(p.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T s = static_cast<T>(2.0 * k * g.item());
        const auto& pv = p.value<T>();
        const T* pt = t.value<T>().data();
        xt::xarray<T> out = xt::xarray<T>::from_shape(pv.shape());
        for (std::size_t i = 0, n = pv.size(); i < n; ++i) out.data()[i] = s * (pv.data()[i] - pt[i]);
        return Tensor(std::move(out));
      });
    }
    return {c.needs_grad(0) ? d : Tensor(), c.needs_grad(1) ? neg(d) : Tensor()};
  });
}

Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction r) {
  check_pair("l1_loss", pred, target);
  return reduce("l1_loss", abs(pred - target), r);
}

Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta, Reduction r) {
  check_pair("huber_loss", pred, target);
  if (!(delta > 0.0)) throw ValueError(fmt::format("huber_loss: delta must be > 0, got {}", delta));
  Tensor a = abs(pred - target);
  Tensor q = clamp(a, std::nullopt, delta);  // min(|d|, δ)
  // |d| <= δ: ½d²;  beyond: ½δ² + δ(|d| - δ) = δ(|d| - ½δ)
  return reduce("huber_loss", 0.5 * square(q) + delta * (a - q), r);
}

Tensor bce_loss(const Tensor& prob, const Tensor& target, Reduction r, double eps) {
  check_pair("bce_loss", prob, target);
  if (!(eps > 0.0 && eps < 0.5)) throw ValueError(fmt::format("bce_loss: eps must be in (0, 0.5), got {}", eps));
  // One op, PyTorch's formula: the logs are clamped at -100, so a confident correct prediction
  // gives 0·(-100) = 0 even where 1 - eps rounds to 1 in float32 (eps below ~6e-8), never
  // 0·log 0 = NaN. VJP: d/dp = (p - y)/max(p(1 - p), 1e-12) where eps <= p <= 1 - eps (0 where p
  // was clamped); d/dy = log(1 - p) - log p (clamped). Written with ag ops: differentiable again.
  auto clamped_log = [](const Tensor& v) { return clamp(log(v), -100.0, std::nullopt); };
  Tensor elementwise = ag::op(
      "bce_loss", {prob, target},
      [&] {
        const Tensor p = clamp(prob, eps, 1.0 - eps);
        return neg(target * clamped_log(p) + (1.0 - target) * clamped_log(1.0 - p));
      },
      [eps, clamped_log](const VjpContext& c, const Tensor& g) -> Grads {
        const Tensor& prob = c.input(0);
        const Tensor& y = c.input(1);
        const Tensor p = clamp(prob, eps, 1.0 - eps);
        Tensor dp, dy;
        if (c.needs_grad(0)) {
          const Tensor inside = ge(prob, eps) * le(prob, 1.0 - eps);
          dp = g * inside * (p - y) / clamp(p * (1.0 - p), 1e-12, std::nullopt);
        }
        if (c.needs_grad(1)) dy = g * (clamped_log(1.0 - p) - clamped_log(p));
        return {dp, dy};
      });
  return reduce("bce_loss", elementwise, r);
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r) {
  check_pair("bce_with_logits", logits, target);
  // -(y·log σ(z) + (1-y)·log(1-σ(z))) = softplus(z) - z·y, softplus = max(z,0) + log1p(e^-|z|)
  return reduce("bce_with_logits", softplus(logits) - logits * target, r);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r, double label_smoothing) {
  return cross_entropy(logits, target, CrossEntropyOptions{r, Tensor(), std::nullopt, label_smoothing});
}

Tensor cross_entropy(const Tensor& logits, const std::vector<std::size_t>& classes, Reduction r,
                     double label_smoothing) {
  return cross_entropy(logits, indices_tensor(classes), r, label_smoothing);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options) {
  ag::require_defined("cross_entropy", logits, "logits");
  reject_batchmean("cross_entropy", options.reduction);
  const ClassOptions o{options.reduction, options.weight, options.ignore_index, options.label_smoothing};
  if (logits.dim() == 0) return class_loss("cross_entropy", logits, target, o);
  ag::require_defined("cross_entropy", target, "target");
  if (logits.dim() == 2 && target.dim() == 1 && target.shape()[0] == logits.shape()[0] &&
      logits.shape()[0] > 0 && o.smoothing == 0.0 && o.reduction != Reduction::none && target.dtype() != bool_) {
    OpScope mark("cross_entropy");
    const Shape ls = logits.shape();
    const Tensor w = class_weights("cross_entropy", o.weight, ls, logits.dtype());
    return fused_cross_entropy(logits, class_targets("cross_entropy", target, ls, w, o.ignore_index), o.reduction);
  }
  return class_loss("cross_entropy", log_softmax(logits, -1), target, o);
}

Tensor cross_entropy(const Tensor& logits, const std::vector<std::size_t>& classes,
                     const CrossEntropyOptions& options) {
  return cross_entropy(logits, indices_tensor(classes), options);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction r) {
  return nll_loss(log_probs, target, NLLLossOptions{r, Tensor(), std::nullopt});
}

Tensor nll_loss(const Tensor& log_probs, const std::vector<std::size_t>& classes, Reduction r) {
  return nll_loss(log_probs, indices_tensor(classes), r);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options) {
  ag::require_defined("nll_loss", log_probs, "log_probs");
  reject_batchmean("nll_loss", options.reduction);
  return class_loss("nll_loss", log_probs, target, ClassOptions{options.reduction, options.weight, options.ignore_index, 0.0});
}

Tensor nll_loss(const Tensor& log_probs, const std::vector<std::size_t>& classes, const NLLLossOptions& options) {
  return nll_loss(log_probs, indices_tensor(classes), options);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction r, bool log_target) {
  check_pair("kl_div", input, target);
  if (!is_floating(input.dtype()))
    throw DtypeError(fmt::format("kl_div: input and target are {} {}; pass float32 or float64 (log-)probabilities",
                                 dtype_name(input.dtype()), shape_str(input.shape())));
  Tensor pointwise;
  if (log_target) {
    pointwise = exp(target) * (target - input);  // e^t·(t - lp)
  } else {
    // xlogy(t, t) - t·lp: t·log t is 0 at t = 0 (log 1 there; where() sends no gradient through the 1)
    const Tensor safe = where(eq(target, 0.0), scalar(1.0, target.dtype()), target);
    pointwise = target * log(safe) - target * input;
  }
  if (r != Reduction::batchmean) return reduce("kl_div", pointwise, r);
  if (input.dim() == 0) return sum(pointwise);  // PyTorch: a 0-d input has no batch axis
  if (input.size(0) == 0)
    throw ValueError(fmt::format("kl_div: no batch to average (input {}); use Reduction::sum or Reduction::none "
                                 "for empty batches",
                                 shape_str(input.shape())));
  return sum(pointwise) * (1.0 / static_cast<double>(input.size(0)));  // the KL per sample
}

Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin, Reduction r) {
  reject_batchmean("margin_ranking_loss", r);
  ag::require_defined("margin_ranking_loss", x1, "x1");
  ag::require_defined("margin_ranking_loss", x2, "x2");
  if (x1.dtype() != x2.dtype() || !is_floating(x1.dtype()))
    throw DtypeError(fmt::format("margin_ranking_loss: x1 is {} {} and x2 is {} {}; both must be float32 or both "
                                 "float64", dtype_name(x1.dtype()), shape_str(x1.shape()), dtype_name(x2.dtype()),
                                 shape_str(x2.shape())));
  if (!ag::same_shape(x1, x2))
    throw ShapeError(fmt::format("margin_ranking_loss: x1 shape {} and x2 shape {} must be equal",
                                 shape_str(x1.shape()), shape_str(x2.shape())));
  const Tensor s = sign_labels("margin_ranking_loss", x1, y);
  // max(0, -y·(x1 - x2) + margin); clamp passes the gradient at the kink, as PyTorch's clamp_min
  return reduce("margin_ranking_loss", clamp(margin - s * (x1 - x2), 0.0, std::nullopt), r);
}

Tensor hinge_embedding_loss(const Tensor& x, const Tensor& y, double margin, Reduction r) {
  reject_batchmean("hinge_embedding_loss", r);
  ag::require_defined("hinge_embedding_loss", x, "x");
  if (!is_floating(x.dtype()))
    throw DtypeError(fmt::format("hinge_embedding_loss: the input x {} is {}; pass float32 or float64",
                                 shape_str(x.shape()), dtype_name(x.dtype())));
  const Tensor s = sign_labels("hinge_embedding_loss", x, y);
  // x where y = 1, max(0, margin - x) where y = -1 (clamp: the gradient passes at the kink, as PyTorch)
  return reduce("hinge_embedding_loss", where(eq(s, 1.0), x, clamp(margin - x, 0.0, std::nullopt)), r);
}

}  // namespace ag::nn
