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

// Runs seq on x in `segments` consecutive runs of layers (sizes differing by at most one), each but
// the last under ag::checkpoint: the tape keeps only the segments' boundary activations, and the
// layers inside a segment run again during backward (about one more forward in all). With n
// layers in k segments the tape holds about n/k + k layers' activations instead of n (least for
// k ≈ √n). The segment's trainable parameters are the checkpoint's params; Dropout layers (on any
// generator) draw the same masks in the replay, and buffers (running statistics) are put back
// after each replay so that they are updated once, as without checkpointing. Gradients equal those
// of seq(x) bit for bit. ValueError unless 1 <= segments <= seq.size().
Tensor checkpoint_sequential(Sequential& seq, std::size_t segments, const Tensor& x);

// A list of sub-modules registered as "0", "1", ... (their parameters, buffers, state and hooks
// are the list's): iterate or index it in your own forward. It has no forward itself.
class ModuleList : public Module {
 public:
  ModuleList() = default;
  explicit ModuleList(std::vector<std::shared_ptr<Module>> modules);
  template <class M> std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    register_module(std::to_string(items_.size()), m);
    items_.push_back(m);
    return m;
  }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  Module& operator[](std::size_t i) const;  // IndexError naming the list's size
  std::shared_ptr<Module> at(std::size_t i) const;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<Module>> items_;
};

// Sub-modules by name, in insertion order (names as for register_module: non-empty, no '.').
class ModuleDict : public Module {
 public:
  ModuleDict() = default;
  explicit ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules);
  template <class M> std::shared_ptr<M> insert(std::string name, std::shared_ptr<M> m) {
    register_module(name, m);
    items_.emplace_back(std::move(name), m);
    return m;
  }
  std::size_t size() const { return items_.size(); }
  bool contains(const std::string& name) const;
  Module& operator[](const std::string& name) const;  // IndexError listing the names
  std::shared_ptr<Module> at(const std::string& name) const;
  std::vector<std::string> keys() const;
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  std::string type_name() const override { return "ModuleDict"; }

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> items_;
};

}  // namespace ag::nn
