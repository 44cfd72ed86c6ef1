#pragma once
// Layers: Dense (= Linear), activations, Dropout, Sequential.
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ag/nn/init.hpp"
#include "ag/nn/module.hpp"

namespace ag::nn {

// Fully connected layer: y = x·W + b with W of shape [in, out] (Keras layout; PyTorch stores the
// transpose) and b of shape [out]. x is [..., in]; y is [..., out]. The bias starts at zero, W from
// `init` (Glorot-uniform by default) drawn from `gen` or from the global generator.
class Dense : public Module {
 public:
  Dense(std::size_t in, std::size_t out, bool bias = true, Init init = Init::glorot_uniform,
        DType dtype = f32);
  Dense(std::size_t in, std::size_t out, Generator& gen, bool bias = true,
        Init init = Init::glorot_uniform, DType dtype = f32);
  Tensor forward(const Tensor& x) override;  // ShapeError if x.shape().back() != in
  std::string type_name() const override { return "Dense"; }
  std::string describe() const override;  // "Dense(3 -> 4)"
  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when bias = false

 private:
  std::size_t in_, out_;
  Tensor weight_, bias_;
};
using Linear = Dense;

// ---- activations (no parameters) -------------------------------------------------------------
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

// Inverted dropout: in training each element is zeroed with probability p and the survivors are
// scaled by 1/(1-p), so the expected value is unchanged; in eval mode it is the identity.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);                      // global generator
  Dropout(double p, Generator& gen);                     // gen must outlive the layer
  Dropout(double p, std::uint64_t seed);                 // owns a generator seeded with `seed`
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string describe() const override;
  double p() const { return p_; }

 private:
  Generator& gen();
  double p_;
  Generator* gen_ = nullptr;          // nullptr: the global generator
  std::optional<Generator> own_gen_;  // for the seed constructor
};

// Runs its children in order; they are named "0", "1", ... (parameters "0.weight", ...).
//   auto model = std::make_shared<nn::Sequential>(std::make_shared<nn::Dense>(3, 8),
//                                                 std::make_shared<nn::ReLU>(),
//                                                 std::make_shared<nn::Dense>(8, 1));
class Sequential : public Module {
 public:
  Sequential() = default;
  template <class... Ms> explicit Sequential(std::shared_ptr<Ms>... modules) {
    (push_back(std::move(modules)), ...);
  }
  Sequential& push_back(std::shared_ptr<Module> m);  // named std::to_string(size())
  // Constructs M in place, appends it and returns it: seq.emplace<Dense>(3, 8).
  template <class M, class... Args> std::shared_ptr<M> emplace(Args&&... args) {
    auto m = std::make_shared<M>(std::forward<Args>(args)...);
    push_back(m);
    return m;
  }
  Tensor forward(const Tensor& x) override;  // errors are rethrown naming the failing layer
  std::string type_name() const override { return "Sequential"; }
  std::size_t size() const { return children().size(); }
  const std::shared_ptr<Module>& operator[](std::size_t i) const;  // IndexError when out of range
};

}  // namespace ag::nn
