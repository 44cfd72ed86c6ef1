#pragma once
// Activation layers (no parameters): ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax, GELU,
// ELU, Softplus, SiLU, LogSigmoid.
#include <string>

#include "ag/nn/module.hpp"

namespace ag::nn {

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;  // max(x, 0)
  std::string type_name() const override { return "ReLU"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
  Tensor forward(const Tensor& x) override;  // x if x > 0, else slope·x
  std::string type_name() const override { return "LeakyReLU"; }
  std::string describe() const override;
  double negative_slope() const { return slope_; }

 private:
  double slope_;
};

class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;  // 1 / (1 + e^-x)
  std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Tanh"; }
};

class Softmax : public Module {
 public:
  explicit Softmax(int axis = -1) : axis_(axis) {}
  Tensor forward(const Tensor& x) override;  // e^x / sum(e^x) along axis; each slice sums to 1
  std::string type_name() const override { return "Softmax"; }
  std::string describe() const override;

 private:
  int axis_;
};

class LogSoftmax : public Module {
 public:
  explicit LogSoftmax(int axis = -1) : axis_(axis) {}
  Tensor forward(const Tensor& x) override;  // x - logsumexp(x) along axis
  std::string type_name() const override { return "LogSoftmax"; }
  std::string describe() const override;

 private:
  int axis_;
};

class GELU : public Module {
 public:
  explicit GELU(GeluApprox approximate = GeluApprox::none) : approximate_(approximate) {}
  Tensor forward(const Tensor& x) override;  // x·Φ(x), or the tanh approximation
  std::string type_name() const override { return "GELU"; }
  std::string describe() const override;  // "GELU(approximate='none')"
  GeluApprox approximate() const { return approximate_; }

 private:
  GeluApprox approximate_;
};

class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : alpha_(alpha) {}
  Tensor forward(const Tensor& x) override;  // x if x > 0, else alpha·(eˣ - 1)
  std::string type_name() const override { return "ELU"; }
  std::string describe() const override;  // "ELU(alpha=1)"
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};

// (1/β)·log(1 + e^(βx)), and x itself where βx > threshold. β must be finite and nonzero
// (ValueError at construction).
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Softplus"; }
  std::string describe() const override;  // "Softplus(beta=1, threshold=20)"
  double beta() const { return beta_; }
  double threshold() const { return threshold_; }

 private:
  double beta_, threshold_;
};

class SiLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;  // x·σ(x) (swish)
  std::string type_name() const override { return "SiLU"; }
};

class LogSigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;  // log σ(x) = -softplus(-x), finite for any x
  std::string type_name() const override { return "LogSigmoid"; }
};

}  // namespace ag::nn
