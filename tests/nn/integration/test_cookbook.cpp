// The README's cookbook ("Common tasks"): every example there is an excerpt of this file (the
// install.readme_snippet test checks that they match), and each one runs here with real checks.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ag/nn.hpp"

namespace nn = ag::nn;

namespace {

// A model of your own: register every parameter and sub-module in the constructor (an
// unregistered tensor is invisible to parameters(), so no optimizer would ever update it), call
// sub-modules through operator(), and name the type.
struct TwoLayer : nn::Module {
  std::shared_ptr<nn::Dense> fc1, fc2;
  ag::Tensor scale;
  TwoLayer(std::size_t in, std::size_t hidden, std::size_t out) {
    fc1 = register_module("fc1", std::make_shared<nn::Dense>(in, hidden));
    fc2 = register_module("fc2", std::make_shared<nn::Dense>(hidden, out));
    scale = register_parameter("scale", ag::ones({out}));
  }
  ag::Tensor forward(const ag::Tensor& x) override { return (*fc2)(ag::relu((*fc1)(x))) * scale; }
  std::string type_name() const override { return "TwoLayer"; }
};

}  // namespace

TEST_CASE("cookbook: a custom Module, trained with an optimizer by hand") {
  TwoLayer model(3, 8, 1);
  CHECK(model.parameters().size() == 5);  // fc1.weight, fc1.bias, fc2.weight, fc2.bias, scale
  ag::Generator gen(1);
  const ag::Tensor x = ag::randn({16, 3}, gen), y = ag::randn({16, 1}, gen);
  nn::Adam opt(model.parameters(), 1e-2);  // (parameters, lr); SGD(parameters, lr, momentum) alike
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    opt.zero_grad();
    ag::Tensor loss = nn::mse_loss(model(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  CHECK(last < first);
}

TEST_CASE("cookbook: tensors from a std::vector or a pointer with a shape") {
  std::vector<double> values = {1, 2, 3, 4, 5, 6};
  ag::Tensor a = ag::from_vector(values, {2, 3});            // float64 [2, 3], a copy
  ag::Tensor b = ag::from_data(values.data() + 3, {3}, true);  // float64 [3], requires grad
  std::vector<float> f = {0.5f, 1.5f};
  ag::Tensor c = ag::from_vector(f, {2, 1});                 // float32 [2, 1]
  CHECK(a.shape() == ag::Shape{2, 3});
  CHECK(a.dtype() == ag::f64);
  CHECK(c.dtype() == ag::f32);
  CHECK(b.requires_grad());
  CHECK(ag::sum(a).item() == 21.0);
  CHECK(ag::sum(b).item() == 15.0);
  CHECK_THROWS_AS(ag::from_vector(values, {4, 2}), ag::ValueError);  // 6 values, 8 elements
}

TEST_CASE("cookbook: ag::grad and a gradient penalty") {
  ag::Tensor w = ag::Tensor({0.5, -1.0, 2.0}, ag::f64, true);
  ag::Tensor x = ag::Tensor({1.0, 2.0, 3.0}, ag::f64, true);
  // grad(outputs, inputs, grad_outputs = {}, retain_graph = create_graph, create_graph = false,
  //      allow_unused = false) -> one gradient per input, without touching any .grad
  ag::Tensor out = ag::sum(ag::tanh(w * x));
  ag::Tensor dx = ag::grad({out}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  ag::Tensor penalty = ag::sum(ag::square(dx));  // ‖∂out/∂x‖², differentiable in w
  ag::Tensor loss = out + 0.1 * penalty;
  loss.backward();
  // check against the closed form: d/dw of Σ tanh(w x) + 0.1 Σ (w (1 - tanh²(w x)))²
  for (int i = 0; i < 3; ++i) {
    const double wi = w.to_xarray<double>()(i), xi = x.to_xarray<double>()(i);
    const double t = std::tanh(wi * xi), s = 1 - t * t;
    const double want = xi * s + 0.1 * 2 * (wi * s) * (s + wi * (-2 * t * s * xi));
    CHECK(w.grad().to_xarray<double>()(i) == doctest::Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("cookbook: shape and index ops") {
  ag::Tensor m = ag::reshape(ag::arange(12.0, ag::f64), {3, 4});  // [[0..3], [4..7], [8..11]]
  ag::Tensor row = ag::select(m, 0, 1);                 // m[1]       -> [4, 5, 6, 7]
  ag::Tensor col = ag::select(m, 1, -1);                // m[:, -1]   -> [3, 7, 11]
  ag::Tensor part = ag::slice(m, 1, 1, 3);              // m[:, 1:3]  -> [3, 2]
  ag::Tensor every2 = ag::slice(m, 1, std::nullopt, std::nullopt, 2);  // m[:, ::2]
  ag::Tensor both = ag::stack({row, row}, 0);           // [2, 4]
  ag::Tensor cat = ag::concat({m, m}, 1);               // [3, 8]
  ag::Tensor picked = ag::index_select(m, 0, {2, 0});   // rows 2 and 0
  ag::Tensor noise = ag::uniform({3, 4}, -0.1, 0.1, ag::f64);  // U(-0.1, 0.1)
  CHECK(row.to_xarray<double>()(3) == 7.0);
  CHECK(col.to_xarray<double>()(2) == 11.0);
  CHECK(part.shape() == ag::Shape{3, 2});
  CHECK(every2.to_xarray<double>()(1, 1) == 6.0);
  CHECK(both.shape() == ag::Shape{2, 4});
  CHECK(cat.shape() == ag::Shape{3, 8});
  CHECK(picked.to_xarray<double>()(0, 0) == 8.0);
  CHECK(ag::max(ag::abs(noise)).item() <= 0.1);
}

TEST_CASE("cookbook: CSV, DataLoader and fit") {
  const std::string path = "cookbook_points.csv";
  {
    std::ofstream f(path);
    f << "x1,x2,label\n";
    for (int i = 0; i < 40; ++i) f << (i % 7) * 0.1 << "," << (i % 5) * 0.2 << "," << (i % 2 ? "yes" : "no") << "\n";
  }
  nn::CsvOptions options;
  options.label = "label";  // by header name (or label_index = -1 for the last column)
  options.dtype = ag::f32;
  nn::CsvTable table = nn::read_csv(path, options);  // table.x [rows, 2], table.labels
  std::remove(path.c_str());
  nn::LabelEncoder enc;
  const std::vector<std::size_t> classes = enc.fit_transform(table.labels);  // "no" -> 0, "yes" -> 1
  nn::Dataset data(table.x, ag::one_hot(classes, 2));
  nn::DataLoader loader(data, /*batch_size=*/8, /*shuffle=*/true, /*seed=*/42);
  std::size_t batches = 0;
  for (const nn::Batch& b : loader) {  // b.x [8, 2], b.y [8, 2]
    CHECK(b.x.shape()[0] == 8);
    ++batches;
  }
  CHECK(batches == 5);
  CHECK(table.x.shape() == ag::Shape{40, 2});
  CHECK(enc.classes().size() == 2);
}
