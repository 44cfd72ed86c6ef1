#pragma once
// Losses, as functions and as modules. `pred` comes first, `target` second; both must have the
// same dtype. Reduction::mean averages over the elements (mse, l1, huber, bce, kl_div, the margin
// losses) or over the rows (cross_entropy, nll: one loss per row; with class weights or
// ignore_index, the weighted mean of PyTorch), ::sum adds them, ::none returns them unreduced,
// ::batchmean (kl_div only) divides the sum by the batch size.
// The class axis of cross_entropy / nll_loss is the last one: pred [N, C] (or [C] for one row).
// The cosine similarity behind embedding losses is the autograd op ag::cosine_similarity.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {

// batchmean: sum / input.size(0) (the KL divergence per sample), for kl_div only; the other losses
// reject it with a ValueError.
enum class Reduction { mean, sum, none, batchmean };
const char* reduction_name(Reduction r);

// mean((pred - target)²). Shapes must match exactly (ShapeError otherwise: no silent broadcast).
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction r = Reduction::mean);
// mean(|pred - target|)
Tensor l1_loss(const Tensor& pred, const Tensor& target, Reduction r = Reduction::mean);
// 0.5·d² where |d| <= delta, delta·(|d| - 0.5·delta) beyond (d = pred - target)
Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta = 1.0,
                  Reduction r = Reduction::mean);

// Binary log-loss from probabilities p: -(y·log p + (1-y)·log(1-p)), with p clamped to
// [eps, 1-eps] and each log clamped at -100 (as PyTorch), so a saturated p gives a finite loss
// and a finite gradient in every dtype (in float32, 1 - 1e-8 rounds to 1: the log clamp keeps a
// confident correct prediction at loss 0, not NaN). d/dp = (p - y)/max(p(1-p), 1e-12), 0 where p
// was clamped. Prefer bce_with_logits: it needs no clamp.
Tensor bce_loss(const Tensor& prob, const Tensor& target, Reduction r = Reduction::mean,
                double eps = 1e-7);
// Binary log-loss from logits z (p = sigmoid(z)), stable for every z:
//   max(z, 0) - z·y + log(1 + e^-|z|);  d/dz = sigmoid(z) - y.
Tensor bce_with_logits(const Tensor& logits, const Tensor& target, Reduction r = Reduction::mean);

// Categorical cross-entropy from logits z [N, C], through log_softmax (stable for any z):
//   loss_n = -sum_c q_nc·log_softmax(z)_nc
// with q the target distribution: one-hot / probability rows [N, C] (the logits' dtype), or class
// indices (a std::vector<size_t>, or an int64/int32/uint8 tensor [N]; a float tensor of exact
// integers is still accepted but deprecated). label_smoothing ε mixes q with the uniform
// distribution: q' = (1-ε)·q + ε/C.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r = Reduction::mean,
                     double label_smoothing = 0.0);
Tensor cross_entropy(const Tensor& logits, const std::vector<std::size_t>& classes,
                     Reduction r = Reduction::mean, double label_smoothing = 0.0);
// Negative log-likelihood on log-probabilities lp [N, C] (e.g. from log_softmax):
//   loss_n = -lp[n, class_n]   (or -sum_c q_nc·lp_nc for probability rows)
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction r = Reduction::mean);
Tensor nll_loss(const Tensor& log_probs, const std::vector<std::size_t>& classes,
                Reduction r = Reduction::mean);

// Class weights and ignored targets (PyTorch's weight and ignore_index), as options:
//   nn::CrossEntropyOptions o;
//   o.weight = ag::tensor({1.0, 2.0, 0.5});   // [C]
//   o.ignore_index = -100;                     // e.g. the padding positions of a sequence batch
//   nn::cross_entropy(logits, targets, o);
// weight [C]: a float tensor (converted to the input's dtype; a constant, not differentiated).
//   Class indices: loss_n = w[c_n]·(the unweighted loss_n), and Reduction::mean divides the sum by
//   Σ_n w[c_n] over the rows not ignored (not by N). Probability rows: loss_n = -Σ_c w_c·q_nc·lp_nc,
//   and mean divides by the number of rows. With label smoothing ε (class indices): loss_n =
//   (1-ε)·w[c_n]·nll_n - (ε/C)·Σ_c w_c·lp_nc, the mean dividing both by Σ w[c_n].
// ignore_index: rows whose class index equals it (any value, in [0, C) or not, e.g. -100) have loss 0
//   and gradient 0 and do not count in the mean. Class indices only: with probability rows it is a
//   ValueError. A mean over rows that are all ignored (nothing to average: PyTorch gives NaN) is a
//   ValueError, as a mean over an empty batch is; Reduction::sum gives 0 there.
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight;                             // [C], or undefined: every class weighs 1
  std::optional<std::int64_t> ignore_index;  // none: every row counts
  double label_smoothing = 0.0;              // in [0, 1]
};
struct NLLLossOptions {
  Reduction reduction = Reduction::mean;
  Tensor weight;                             // [C], or undefined: every class weighs 1
  std::optional<std::int64_t> ignore_index;  // none: every row counts
};
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options);
Tensor cross_entropy(const Tensor& logits, const std::vector<std::size_t>& classes,
                     const CrossEntropyOptions& options);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLLossOptions& options);
Tensor nll_loss(const Tensor& log_probs, const std::vector<std::size_t>& classes, const NLLLossOptions& options);

// Kullback-Leibler divergence KL(target ‖ p) where `input` holds log p (log-probabilities, e.g.
// from log_softmax) and target holds probabilities (PyTorch's argument order and semantics):
//   pointwise  target·(log target - input), taken as 0 where target = 0;
//   log_target: target holds log-probabilities too: e^target·(target - input).
// Same shapes and dtype. Reduction::mean averages over all elements (PyTorch's default, which is
// not the KL divergence); Reduction::batchmean divides the sum by input.size(0) (the mean KL per
// sample: use it for the true KL of a batch of distributions; a 0-d input: the sum).
// d/dinput = -target (-e^target with log_target).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean, bool log_target = false);

// Margin ranking loss: max(0, -y·(x1 - x2) + margin) elementwise, y = 1 when x1 should rank above
// x2, -1 when below. x1, x2 and y have equal shapes; y holds only 1 and -1 (ValueError otherwise:
// PyTorch accepts other values silently) and is of x1's dtype or int64/int32. The kink at 0 passes
// the gradient, as PyTorch's clamp_min: d/dx1 = -y where -y·(x1 - x2) + margin >= 0.
Tensor margin_ranking_loss(const Tensor& x1, const Tensor& x2, const Tensor& y, double margin = 0.0,
                           Reduction r = Reduction::mean);
// Hinge embedding loss: x where y = 1, max(0, margin - x) where y = -1 (x is typically a distance,
// e.g. an L1 distance between two embeddings). y as for margin_ranking_loss; x and y equal shapes.
Tensor hinge_embedding_loss(const Tensor& x, const Tensor& y, double margin = 1.0,
                            Reduction r = Reduction::mean);

// ---- module forms ------------------------------------------------------------------------------
// A loss object: loss(pred, target) -> Tensor. Copyable; callable like a function.
class Loss {
 public:
  explicit Loss(Reduction r = Reduction::mean) : reduction_(r) {}
  virtual ~Loss() = default;
  virtual Tensor forward(const Tensor& pred, const Tensor& target) const = 0;
  Tensor operator()(const Tensor& pred, const Tensor& target) const { return forward(pred, target); }
  virtual std::string type_name() const = 0;
  Reduction reduction() const { return reduction_; }

 protected:
  Reduction reduction_;
};

class MSELoss : public Loss {
 public:
  using Loss::Loss;
  Tensor forward(const Tensor& p, const Tensor& t) const override { return mse_loss(p, t, reduction_); }
  std::string type_name() const override { return "MSELoss"; }
};

class L1Loss : public Loss {
 public:
  using Loss::Loss;
  Tensor forward(const Tensor& p, const Tensor& t) const override { return l1_loss(p, t, reduction_); }
  std::string type_name() const override { return "L1Loss"; }
};

class HuberLoss : public Loss {
 public:
  explicit HuberLoss(double delta = 1.0, Reduction r = Reduction::mean) : Loss(r), delta_(delta) {}
  Tensor forward(const Tensor& p, const Tensor& t) const override {
    return huber_loss(p, t, delta_, reduction_);
  }
  std::string type_name() const override { return "HuberLoss"; }

 private:
  double delta_;
};

class BCELoss : public Loss {
 public:
  explicit BCELoss(Reduction r = Reduction::mean, double eps = 1e-7) : Loss(r), eps_(eps) {}
  Tensor forward(const Tensor& p, const Tensor& t) const override {
    return bce_loss(p, t, reduction_, eps_);
  }
  std::string type_name() const override { return "BCELoss"; }

 private:
  double eps_;
};

class BCEWithLogitsLoss : public Loss {
 public:
  using Loss::Loss;
  Tensor forward(const Tensor& z, const Tensor& t) const override {
    return bce_with_logits(z, t, reduction_);
  }
  std::string type_name() const override { return "BCEWithLogitsLoss"; }
};

// Target: one-hot / probability rows [N, C] or class indices [N].
class CrossEntropyLoss : public Loss {
 public:
  explicit CrossEntropyLoss(Reduction r = Reduction::mean, double label_smoothing = 0.0)
      : Loss(r), options_{r, Tensor(), std::nullopt, label_smoothing} {}
  explicit CrossEntropyLoss(CrossEntropyOptions options) : Loss(options.reduction), options_(std::move(options)) {}
  Tensor forward(const Tensor& z, const Tensor& t) const override { return cross_entropy(z, t, options_); }
  std::string type_name() const override { return "CrossEntropyLoss"; }
  const CrossEntropyOptions& options() const { return options_; }

 private:
  CrossEntropyOptions options_;
};

class NLLLoss : public Loss {
 public:
  explicit NLLLoss(Reduction r = Reduction::mean) : Loss(r), options_{r, Tensor(), std::nullopt} {}
  explicit NLLLoss(NLLLossOptions options) : Loss(options.reduction), options_(std::move(options)) {}
  Tensor forward(const Tensor& lp, const Tensor& t) const override { return nll_loss(lp, t, options_); }
  std::string type_name() const override { return "NLLLoss"; }
  const NLLLossOptions& options() const { return options_; }

 private:
  NLLLossOptions options_;
};

// forward(input log-probabilities, target probabilities); see kl_div.
class KLDivLoss : public Loss {
 public:
  explicit KLDivLoss(Reduction r = Reduction::mean, bool log_target = false) : Loss(r), log_target_(log_target) {}
  Tensor forward(const Tensor& lp, const Tensor& t) const override { return kl_div(lp, t, reduction_, log_target_); }
  std::string type_name() const override { return "KLDivLoss"; }
  bool log_target() const { return log_target_; }

 private:
  bool log_target_;
};

// forward(x, y) with y = ±1; see hinge_embedding_loss.
class HingeEmbeddingLoss : public Loss {
 public:
  explicit HingeEmbeddingLoss(double margin = 1.0, Reduction r = Reduction::mean) : Loss(r), margin_(margin) {}
  Tensor forward(const Tensor& x, const Tensor& y) const override {
    return hinge_embedding_loss(x, y, margin_, reduction_);
  }
  std::string type_name() const override { return "HingeEmbeddingLoss"; }
  double margin() const { return margin_; }

 private:
  double margin_;
};

// Three inputs (x1, x2, y), so not a Loss (whose forward takes two); see margin_ranking_loss.
class MarginRankingLoss {
 public:
  explicit MarginRankingLoss(double margin = 0.0, Reduction r = Reduction::mean) : margin_(margin), reduction_(r) {}
  Tensor forward(const Tensor& x1, const Tensor& x2, const Tensor& y) const {
    return margin_ranking_loss(x1, x2, y, margin_, reduction_);
  }
  Tensor operator()(const Tensor& x1, const Tensor& x2, const Tensor& y) const { return forward(x1, x2, y); }
  std::string type_name() const { return "MarginRankingLoss"; }
  double margin() const { return margin_; }
  Reduction reduction() const { return reduction_; }

 private:
  double margin_;
  Reduction reduction_;
};

}  // namespace ag::nn
