#pragma once
// Small helpers shared by the nn tests (values out of tensors, element-wise comparisons), and the
// small models and data sets that more than one test file uses.
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/nn.hpp"

namespace nn_test {

inline std::vector<double> values(const ag::Tensor& t) {
  xt::xarray<double> a = t.to_xarray<double>();
  return std::vector<double>(a.begin(), a.end());
}

inline void check_values(const ag::Tensor& t, const ag::Shape& shape, const std::vector<double>& want,
                         double eps = 1e-12) {
  REQUIRE(t.defined());
  REQUIRE(t.shape() == shape);
  const std::vector<double> got = values(t);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK_MESSAGE(got[i] == doctest::Approx(want[i]).epsilon(eps), "element " << i);
}

// Sets a tensor's values in place (its shape must have want.size() elements).
inline void set_values(ag::Tensor t, const std::vector<double>& v) {
  REQUIRE(t.numel() == v.size());
  if (t.dtype() == ag::f64) {
    auto& a = t.mutable_value<double>();
    std::copy(v.begin(), v.end(), a.begin());
  } else {
    auto& a = t.mutable_value<float>();
    for (std::size_t i = 0; i < v.size(); ++i) a.flat(i) = static_cast<float>(v[i]);
  }
}

// Runs f and returns the message of the ag exception E it throws ("" if none was thrown).
template <class E, class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The subclassing example from module.hpp, plus a nested Sequential and an own parameter.
struct Net : ag::nn::Module {
  std::shared_ptr<ag::nn::Dense> fc;
  std::shared_ptr<ag::nn::Sequential> layers;
  ag::Tensor scale;
  explicit Net(ag::Generator& gen) {
    fc = register_module("fc", std::make_shared<ag::nn::Dense>(3, 4, gen));
    layers = register_module("layers", std::make_shared<ag::nn::Sequential>(
                                           std::make_shared<ag::nn::Tanh>(),
                                           std::make_shared<ag::nn::Dense>(4, 2, gen, /*bias*/ false)));
    scale = register_parameter("scale", ag::ones({2}));
  }
  ag::Tensor forward(const ag::Tensor& x) override { return (*layers)((*fc)(x)) * scale; }
  std::string type_name() const override { return "Net"; }
};

// x [n, 2] with row i = (i, 10·i); y [n] with y_i = i: every batch tells which rows it holds.
inline ag::nn::Dataset numbered(std::size_t n) {
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i < n; ++i) {
    xs.push_back(double(i));
    xs.push_back(10.0 * double(i));
    ys.push_back(double(i));
  }
  ag::Tensor x = ag::zeros({n, 2}, ag::f64), y = ag::zeros({n}, ag::f64);
  set_values(x, xs);
  set_values(y, ys);
  return ag::nn::Dataset(x, y);
}

// fit() options that print nothing.
inline ag::nn::FitOptions quiet() {
  ag::nn::FitOptions o;
  o.verbosity = ag::nn::Verbosity::silent;
  return o;
}

// y = x on the training rows; the validation rows want y = -x, so every step towards the training
// target makes the validation loss worse (from w = 0: val loss = mean((w·x + x)²) grows with w).
struct Opposite {
  std::shared_ptr<ag::nn::Dense> model =
      std::make_shared<ag::nn::Dense>(1, 1, /*bias=*/false, ag::nn::Init::zeros, ag::f64);
  ag::Tensor x = ag::tensor({{1.0}, {2.0}, {-1.0}, {0.5}}, ag::f64);
  ag::nn::Dataset train{x, x};
  ag::nn::Dataset val{x, -1.0 * x};
};

}  // namespace nn_test
