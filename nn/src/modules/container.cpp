// Containers: Sequential runs its children in order (errors name the failing layer); ModuleList
// and ModuleDict hold sub-modules for a forward written by hand.
#include "ag/nn/modules/container.hpp"

#include <algorithm>
#include <exception>

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

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto& layers = children();
  for (std::size_t i = 0; i < layers.size(); ++i) {
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
