#pragma once
// Containers: Sequential.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "ag/nn/module.hpp"

namespace ag::nn {

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
