// Embedding: lookup values and shapes, N(0, 1) init, accumulated gradients of repeated ids,
// padding_idx, max_norm, gradcheck, bad ids.
#include <cmath>
#include <memory>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {
// W[r] = (r, 10·r + 1) in float64: every looked-up row tells which id it came from
std::shared_ptr<nn::Embedding> numbered_table(std::size_t n, std::optional<std::size_t> padding = std::nullopt,
                                              std::optional<double> max_norm = std::nullopt) {
  ag::Generator gen(1);
  auto e = std::make_shared<nn::Embedding>(n, 2, gen, padding, max_norm, ag::f64);
  std::vector<double> w;
  for (std::size_t r = 0; r < n; ++r) {
    w.push_back(double(r));
    w.push_back(10.0 * double(r) + 1);
  }
  ag::NoGradGuard no_grad;
  set_values(e->weight(), w);
  return e;
}
}  // namespace

TEST_CASE("Embedding: rows of the weight, shape ids.shape + [dim], for int64, int32 and uint8 ids") {
  auto e = numbered_table(5);
  for (ag::DType d : {ag::i64, ag::i32, ag::u8}) {
    INFO(ag::dtype_name(d));
    const ag::Tensor ids = ag::tensor({{4, 0, 2}, {2, 2, 1}}, d);
    ag::Tensor y = (*e)(ids);
    CHECK(y.dtype() == ag::f64);
    check_values(y, {2, 3, 2}, {4, 41, 0, 1, 2, 21, 2, 21, 2, 21, 1, 11});
  }
  check_values((*e)(ag::tensor({3}, ag::i64)), {1, 2}, {3, 31});
  check_values((*e)(ag::scalar(3, ag::i64)), {2}, {3, 31});                  // 0-d id -> one vector
  check_values((*e)(ag::zeros({2, 0}, ag::i64)), {2, 0, 2}, {});             // no ids
  check_values((*e)(ag::tensor({{{1}}, {{2}}}, ag::i32)), {2, 1, 1, 2}, {1, 11, 2, 21});  // any rank
  CHECK(e->describe() == "Embedding(5, 2)");
  CHECK(e->num_embeddings() == 5);
  CHECK(e->embedding_dim() == 2);
  CHECK(e->named_parameters().size() == 1);
  CHECK(e->named_parameters()[0].first == "weight");
  CHECK(nn::Embedding(10, 3, 0, 1.5).describe() == "Embedding(10, 3, padding_idx=0, max_norm=1.5)");
}

TEST_CASE("Embedding: weight drawn from N(0, 1) (PyTorch's init), reproducible, padding row zero") {
  ag::Generator g1(7), g2(7);
  nn::Embedding a(400, 50, g1), b(400, 50, g2);
  CHECK(a.weight().dtype() == ag::f32);
  CHECK(a.weight().shape() == ag::Shape{400, 50});
  CHECK(values(a.weight()) == values(b.weight()));
  const std::vector<double> w = values(a.weight());
  double m = 0, s = 0;
  for (double v : w) m += v;
  m /= double(w.size());
  for (double v : w) s += (v - m) * (v - m);
  s = std::sqrt(s / double(w.size()));
  CHECK(std::abs(m) < 0.02);  // 20000 draws: the standard error is 0.007
  CHECK(std::abs(s - 1.0) < 0.02);
  nn::Embedding p(6, 4, g1, 3, std::nullopt, ag::f64);
  CHECK(p.weight().dtype() == ag::f64);
  const std::vector<double> pw = values(p.weight());
  for (std::size_t j = 0; j < 4; ++j) {
    CHECK(pw[3 * 4 + j] == 0.0);
    CHECK(pw[2 * 4 + j] != 0.0);
  }
}

TEST_CASE("Embedding: a repeated id accumulates the gradients of all its positions") {
  auto e = numbered_table(5);
  const ag::Tensor ids = ag::tensor({{1, 3}, {1, 1}}, ag::i64);
  // loss = Σ c·y with c[i, j, k] = position number + k/10: d/dW[1] = c at (0,0), (1,0), (1,1)
  ag::Tensor c = ag::tensor({{{1, 1.1}, {2, 2.1}}, {{3, 3.1}, {4, 4.1}}}, ag::f64);
  ag::sum((*e)(ids) * c).backward();
  check_values(e->weight().grad(), {5, 2}, {0, 0, 1 + 3 + 4, 1.1 + 3.1 + 4.1, 0, 0, 2, 2.1, 0, 0});
}

TEST_CASE("Embedding: padding_idx gets exactly zero gradient and still returns its row") {
  auto e = numbered_table(4, 0);
  // the table above overwrote the zero padding row with (0, 1): the lookup returns it, as PyTorch
  const ag::Tensor ids = ag::tensor({0, 2, 0, 3}, ag::i64);
  ag::Tensor y = (*e)(ids);
  check_values(y, {4, 2}, {0, 1, 2, 21, 0, 1, 3, 31});
  ag::sum(y * ag::tensor({{5, 6}, {7, 8}, {9, 10}, {11, 12}}, ag::f64)).backward();
  const std::vector<double> g = values(e->weight().grad());
  CHECK(g[0] == 0.0);
  CHECK(g[1] == 0.0);
  CHECK(!std::signbit(g[0]));
  check_values(e->weight().grad(), {4, 2}, {0, 0, 0, 0, 7, 8, 11, 12});
  // the same through an optimizer step: the padding row stays where it was
  nn::SGD opt(e->parameters(), 0.1);
  opt.step();
  check_values(e->weight(), {4, 2}, {0, 1, 1, 11, 2 - 0.7, 21 - 0.8, 3 - 1.1, 31 - 1.2});
  // with an infinite upstream gradient the padding row still gets 0 (not 0·inf = NaN)
  e->zero_grad();
  ag::sum((*e)(ag::tensor({0, 1}, ag::i64)) * ag::tensor({{INFINITY, 1}, {1, 1}}, ag::f64)).backward();
  CHECK(values(e->weight().grad())[0] == 0.0);
  // a padding id that is not looked up changes nothing
  e->zero_grad();
  ag::sum((*e)(ag::tensor({1, 2}, ag::i64))).backward();
  check_values(e->weight().grad(), {4, 2}, {0, 0, 1, 1, 1, 1, 0, 0});
}

TEST_CASE("Embedding: max_norm renormalises the looked-up rows in place before the lookup") {
  auto e = numbered_table(4, std::nullopt, 5.0);
  // norms: row 0 (0, 1) -> 1, row 1 (1, 11) -> √122, row 2 (2, 21) -> √445, row 3 (3, 31)
  const std::uint64_t v0 = e->weight().version();
  ag::Tensor y = (*e)(ag::tensor({1, 0, 1}, ag::i64));
  const double k = 5.0 / (std::sqrt(122.0) + 1e-7);  // PyTorch: max_norm / (norm + 1e-7)
  check_values(y, {3, 2}, {k, 11 * k, 0, 1, k, 11 * k});
  // row 1 was scaled once (not once per occurrence), row 0 was short enough, rows 2 and 3 were
  // not looked up
  check_values(e->weight(), {4, 2}, {0, 1, k, 11 * k, 2, 21, 3, 31});
  CHECK(e->weight().version() > v0);
  CHECK(e->weight().requires_grad());
  CHECK(e->weight().is_leaf());
  // the lookup's gradient is that of the renormalised rows (the rescaling is not recorded)
  ag::sum(y).backward();
  check_values(e->weight().grad(), {4, 2}, {1, 1, 2, 2, 0, 0, 0, 0});
  // nothing too long: the weight is not written (its version stays)
  const std::uint64_t v1 = e->weight().version();
  (*e)(ag::tensor({0, 1}, ag::i64));
  CHECK(e->weight().version() == v1);
  check_values(ag::norm(e->weight(), {1}), {4}, {1, 5, std::sqrt(445.0), std::sqrt(970.0)}, 1e-7);
}

TEST_CASE("Embedding: gradcheck_module with fixed ids (repeats included), alone and in a model") {
  ag::Generator gen(3);
  nn::Embedding e(6, 3, gen);
  const ag::Tensor ids = ag::tensor({{5, 1, 1}, {0, 5, 2}}, ag::i64);
  const ag::Tensor c = ag::randn({2, 3, 3}, gen, ag::f64);
  CHECK(nn::gradcheck_module(e, [&](nn::Module& m) { return m(ids); }));  // the full Jacobian
  CHECK(nn::gradcheck_module(e, [&](nn::Module& m) { return ag::sum(ag::square(m(ids)) * c); }));
  CHECK(e.weight().dtype() == ag::f32);  // restored after the check
  // an embedding feeding a dense layer, as in a bag-of-words model
  nn::Sequential model(std::make_shared<nn::Embedding>(6, 4, gen), std::make_shared<nn::Dense>(4, 2, gen),
                       std::make_shared<nn::GELU>());
  const ag::Tensor y = ag::randn({2, 3, 2}, gen, ag::f64);
  CHECK(nn::gradcheck_module(model, [&](nn::Module& m) { return nn::mse_loss(m(ids), y); }));
  // padding_idx in the ids, with a loss that does not read the padding positions (mask 0 there):
  // both sides then give the padding row 0 and the check runs through the padding branch
  nn::Embedding p(6, 3, gen, 4);
  const ag::Tensor pids = ag::tensor({4, 1, 4, 3, 1}, ag::i64);
  const ag::Tensor mask = ag::tensor({{0}, {1}, {0}, {1}, {1}}, ag::f64);
  const ag::Tensor ref = ag::randn({5, 3}, gen, ag::f64);
  CHECK(nn::gradcheck_module(p, [&](nn::Module& m) { return ag::sum(ag::square(m(pids) - ref) * mask); }));
}

TEST_CASE("Embedding: bad ids and bad arguments name the layer") {
  nn::Embedding e(5, 2);
  std::string msg = error_of<ag::IndexError>([&] { e(ag::tensor({1, 7, 2}, ag::i64)); });
  CHECK(contains(msg, "Embedding(5, 2)"));
  CHECK(contains(msg, "id 7"));
  CHECK(contains(msg, "num_embeddings = 5"));
  CHECK(contains(msg, "[3]"));
  CHECK(!contains(msg, "index_select"));
  msg = error_of<ag::IndexError>([&] { e(ag::tensor({{0, -1}}, ag::i32)); });
  CHECK(contains(msg, "id -1"));
  CHECK(contains(msg, "int32"));
  CHECK(contains(msg, "[1, 2]"));
  CHECK_THROWS_AS(e(ag::tensor({5}, ag::u8)), ag::IndexError);
  msg = error_of<ag::DtypeError>([&] { e(ag::gt(ag::tensor({1, 0}, ag::i64), 0)); });
  CHECK(contains(msg, "Embedding"));
  CHECK(contains(msg, "bool"));
  msg = error_of<ag::DtypeError>([&] { e(ag::tensor({1, 2}, ag::f32)); });
  CHECK(contains(msg, "Embedding"));
  CHECK(contains(msg, "float32"));
  CHECK(contains(msg, "int64"));
  CHECK_THROWS_AS(e(ag::Tensor()), ag::ValueError);
  CHECK(contains(error_of<ag::ValueError>([] { nn::Embedding(0, 2); }), "Embedding"));
  CHECK(contains(error_of<ag::ValueError>([] { nn::Embedding(5, 2, 5); }), "padding_idx 5"));
  CHECK_THROWS_AS(nn::Embedding(5, 2, std::nullopt, 0.0), ag::ValueError);
  CHECK_THROWS_AS(nn::Embedding(5, 2, std::nullopt, -1.0), ag::ValueError);
  CHECK_THROWS_AS(nn::Embedding(5, 2, std::nullopt, std::nullopt, ag::i64), ag::DtypeError);
}
