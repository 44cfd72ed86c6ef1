#pragma once
// Activation layers (no parameters): ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax.
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

}  // namespace ag::nn
