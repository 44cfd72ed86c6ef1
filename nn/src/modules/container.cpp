// Sequential: runs its children in order; errors name the failing layer.
#include "ag/nn/modules/container.hpp"

#include <exception>

#include <fmt/core.h>

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

}  // namespace ag::nn
