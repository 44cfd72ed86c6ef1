// Containers: Sequential runs its children in order (errors name the failing layer); ModuleList
// and ModuleDict hold sub-modules for a forward written by hand.
#include "ag/nn/modules/container.hpp"

#include <algorithm>
#include <exception>
#include <memory>

#include "ag/checkpoint.hpp"
#include "ag/nn/modules/dropout.hpp"

#include <fmt/core.h>
#include <fmt/format.h>

namespace ag::nn {

Sequential& Sequential::push_back(std::shared_ptr<Module> m) {
  register_module(std::to_string(size()), std::move(m));
  return *this;
}

const std::shared_ptr<Module>& Sequential::operator[](std::size_t i) const {
  if (i >= size())
    throw IndexError(fmt::format("Sequential: index {} out of range (size {})", i, size()));
  return children()[i].second;
}

namespace {
// Layers [first, last) of a Sequential on h; errors name the failing layer, keeping their type.
Tensor run_layers(const Sequential& seq, std::size_t first, std::size_t last, Tensor h) {
  const auto& layers = seq.children();
  for (std::size_t i = first; i < last; ++i) {
    Module& m = *layers[i].second;
    // Rethrow with the layer's position, keeping the exception type.
    auto where = [&](const std::exception& e) {
      return fmt::format("Sequential layer {} ({}): {}", i, m.describe(), e.what());
    };
    try {
      h = m(h);
    } catch (const ShapeError& e) {
      throw ShapeError(where(e));
    } catch (const DtypeError& e) {
      throw DtypeError(where(e));
    }
  }
  return h;
}
}  // namespace

Tensor Sequential::forward(const Tensor& x) { return run_layers(*this, 0, size(), x); }

Tensor checkpoint_sequential(Sequential& seq, std::size_t segments, const Tensor& x) {
  const std::size_t n = seq.size();
  if (segments < 1 || segments > n)
    throw ValueError(fmt::format("checkpoint_sequential: {} segments for a Sequential of {} layers (need 1 to {})",
                                 segments, n, n));
  Tensor h = x;
  std::size_t first = 0;
  for (std::size_t s = 0; s < segments; ++s) {
    const std::size_t last = first + n / segments + (s < n % segments ? 1 : 0);
    if (s + 1 == segments) return run_layers(seq, first, last, h);  // its activations are needed at once
    std::vector<Tensor> params, buffers;
    CheckpointOptions options;
    for (std::size_t i = first; i < last; ++i) {
      Module& m = *seq[i];
      for (const Tensor& p : m.trainable_parameters()) params.push_back(p);
      for (const Tensor& b : m.buffers()) buffers.push_back(b);
      std::vector<Module*> all = {&m};  // the layer and its descendants
      for (const auto& [name, sub] : m.named_modules()) all.push_back(sub);
      for (Module* sub : all)
        if (auto* d = dynamic_cast<Dropout*>(sub)) options.generators.push_back(&d->generator());
    }
    // The first call is the forward; later ones are replays, which must not update the buffers again.
    auto calls = std::make_shared<std::size_t>(0);
    auto segment = [&seq, first, last, buffers, calls](const Tensor& in) {
      if ((*calls)++ == 0) return run_layers(seq, first, last, in);
      std::vector<Tensor> saved;
      for (const Tensor& b : buffers) saved.push_back(b.detach());
      struct PutBack {
        const std::vector<Tensor>& buffers;
        const std::vector<Tensor>& saved;
        ~PutBack() {
          NoGradGuard no_record;
          for (std::size_t i = 0; i < buffers.size(); ++i) Tensor(buffers[i]).copy_(saved[i]);
        }
      } put_back{buffers, saved};
      return run_layers(seq, first, last, in);
    };
    h = checkpoint(segment, h, params, options);
    first = last;
  }
  return h;
}

ModuleList::ModuleList(std::vector<std::shared_ptr<Module>> modules) {
  for (auto& m : modules) push_back(std::move(m));
}

std::shared_ptr<Module> ModuleList::at(std::size_t i) const {
  if (i >= items_.size())
    throw IndexError(fmt::format("ModuleList: index {} is out of range for a list of {}", i, items_.size()));
  return items_[i];
}
Module& ModuleList::operator[](std::size_t i) const { return *at(i); }

ModuleDict::ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> modules) {
  for (auto& [name, m] : modules) insert(name, m);
}

bool ModuleDict::contains(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& p) { return p.first == name; });
}

std::shared_ptr<Module> ModuleDict::at(const std::string& name) const {
  for (const auto& p : items_)
    if (p.first == name) return p.second;
  throw IndexError(fmt::format("ModuleDict: no module named '{}' (has: {})", name, fmt::join(keys(), ", ")));
}
Module& ModuleDict::operator[](const std::string& name) const { return *at(name); }

std::vector<std::string> ModuleDict::keys() const {
  std::vector<std::string> k;
  for (const auto& p : items_) k.push_back(p.first);
  return k;
}

}  // namespace ag::nn
