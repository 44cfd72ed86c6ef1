// Method forms on Tensor (x.relu().sum(), x.max(1)): each gives exactly the free function's result,
// and records the same op.
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "support/values.hpp"

namespace {
using opt::make;
using M = std::function<ag::Tensor(const ag::Tensor&)>;

void same(const ag::Tensor& a, const ag::Tensor& b, const std::string& what) {
  INFO(what);
  REQUIRE(a.defined());
  CHECK(a.dtype() == b.dtype());
  CHECK(a.shape() == b.shape());
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  REQUIRE(va.size() == vb.size());
  for (std::size_t k = 0; k < va.size(); ++k)  // bit-equal, NaN included (log1p and pow of negatives)
    CHECK((va[k] == vb[k] || (std::isnan(va[k]) && std::isnan(vb[k]))));
  CHECK(std::string(a.op_name()) == std::string(b.op_name()));
}
}  // namespace

TEST_CASE("method forms equal the free functions") {
  const ag::Tensor x = make({0.5, -1.25, 2.0, 0.75, -0.5, 1.5}, {2, 3}, ag::f64, true);
  const ag::Tensor pos = make({0.5, 1.25, 2.0, 0.75, 0.5, 1.5}, {2, 3}, ag::f64, true);
  const ag::Tensor mask = ag::gt(x, 0.0);
  const std::vector<std::pair<std::string, std::pair<M, M>>> cases = {
      {"abs", {[](const ag::Tensor& t) { return t.abs(); }, [](const ag::Tensor& t) { return ag::abs(t); }}},
      {"neg", {[](const ag::Tensor& t) { return t.neg(); }, [](const ag::Tensor& t) { return ag::neg(t); }}},
      {"exp", {[](const ag::Tensor& t) { return t.exp(); }, [](const ag::Tensor& t) { return ag::exp(t); }}},
      {"sin", {[](const ag::Tensor& t) { return t.sin(); }, [](const ag::Tensor& t) { return ag::sin(t); }}},
      {"cos", {[](const ag::Tensor& t) { return t.cos(); }, [](const ag::Tensor& t) { return ag::cos(t); }}},
      {"tanh", {[](const ag::Tensor& t) { return t.tanh(); }, [](const ag::Tensor& t) { return ag::tanh(t); }}},
      {"sigmoid", {[](const ag::Tensor& t) { return t.sigmoid(); }, [](const ag::Tensor& t) { return ag::sigmoid(t); }}},
      {"relu", {[](const ag::Tensor& t) { return t.relu(); }, [](const ag::Tensor& t) { return ag::relu(t); }}},
      {"gelu", {[](const ag::Tensor& t) { return t.gelu(); }, [](const ag::Tensor& t) { return ag::gelu(t); }}},
      {"square", {[](const ag::Tensor& t) { return t.square(); }, [](const ag::Tensor& t) { return ag::square(t); }}},
      {"sign", {[](const ag::Tensor& t) { return t.sign(); }, [](const ag::Tensor& t) { return ag::sign(t); }}},
      {"log1p", {[](const ag::Tensor& t) { return t.log1p(); }, [](const ag::Tensor& t) { return ag::log1p(t); }}},
      {"expm1", {[](const ag::Tensor& t) { return t.expm1(); }, [](const ag::Tensor& t) { return ag::expm1(t); }}},
      {"reciprocal", {[](const ag::Tensor& t) { return t.reciprocal(); }, [](const ag::Tensor& t) { return ag::reciprocal(t); }}},
      {"erf", {[](const ag::Tensor& t) { return t.erf(); }, [](const ag::Tensor& t) { return ag::erf(t); }}},
      {"erfc", {[](const ag::Tensor& t) { return t.erfc(); }, [](const ag::Tensor& t) { return ag::erfc(t); }}},
      {"pow", {[](const ag::Tensor& t) { return t.pow(3.0); }, [](const ag::Tensor& t) { return ag::pow(t, 3.0); }}},
      {"pow t", {[](const ag::Tensor& t) { return t.pow(t); }, [](const ag::Tensor& t) { return ag::pow(t, t); }}},
      {"clamp", {[](const ag::Tensor& t) { return t.clamp(-1.0, std::nullopt); }, [](const ag::Tensor& t) { return ag::clamp(t, -1.0, std::nullopt); }}},
      {"matmul", {[](const ag::Tensor& t) { return t.matmul(t.t()); }, [](const ag::Tensor& t) { return ag::matmul(t, ag::transpose(t, -2, -1)); }}},
      {"softmax", {[](const ag::Tensor& t) { return t.softmax(); }, [](const ag::Tensor& t) { return ag::softmax(t, -1); }}},
      {"log_softmax", {[](const ag::Tensor& t) { return t.log_softmax(0); }, [](const ag::Tensor& t) { return ag::log_softmax(t, 0); }}},
      {"sum", {[](const ag::Tensor& t) { return t.sum({1}, true); }, [](const ag::Tensor& t) { return ag::sum(t, {1}, true); }}},
      {"mean", {[](const ag::Tensor& t) { return t.mean({0}); }, [](const ag::Tensor& t) { return ag::mean(t, {0}); }}},
      {"prod", {[](const ag::Tensor& t) { return t.prod({1}); }, [](const ag::Tensor& t) { return ag::prod(t, {1}); }}},
      {"max", {[](const ag::Tensor& t) { return t.max({1}); }, [](const ag::Tensor& t) { return ag::max(t, {1}); }}},
      {"min", {[](const ag::Tensor& t) { return t.min(); }, [](const ag::Tensor& t) { return ag::min(t); }}},
      {"argmax", {[](const ag::Tensor& t) { return t.argmax(1); }, [](const ag::Tensor& t) { return ag::argmax(t, 1); }}},
      {"argmin", {[](const ag::Tensor& t) { return t.argmin(); }, [](const ag::Tensor& t) { return ag::argmin(t); }}},
      {"var", {[](const ag::Tensor& t) { return t.var(); }, [](const ag::Tensor& t) { return ag::var(t); }}},
      {"std", {[](const ag::Tensor& t) { return t.std(); }, [](const ag::Tensor& t) { return ag::std(t); }}},
      {"norm", {[](const ag::Tensor& t) { return t.norm(); }, [](const ag::Tensor& t) { return ag::norm(t); }}},
      {"cumsum", {[](const ag::Tensor& t) { return t.cumsum(1); }, [](const ag::Tensor& t) { return ag::cumsum(t, 1); }}},
      {"cumprod", {[](const ag::Tensor& t) { return t.cumprod(0); }, [](const ag::Tensor& t) { return ag::cumprod(t, 0); }}},
      {"argsort", {[](const ag::Tensor& t) { return t.argsort(1, true); }, [](const ag::Tensor& t) { return ag::argsort(t, 1, true); }}},
      {"view", {[](const ag::Tensor& t) { return t.view({3, -1}); }, [](const ag::Tensor& t) { return ag::reshape(t, {3, -1}); }}},
      {"flatten", {[](const ag::Tensor& t) { return t.flatten(); }, [](const ag::Tensor& t) { return ag::flatten(t); }}},
      {"unsqueeze", {[](const ag::Tensor& t) { return t.unsqueeze(1).squeeze({1}); }, [](const ag::Tensor& t) { return ag::squeeze(ag::unsqueeze(t, 1), {1}); }}},
      {"permute", {[](const ag::Tensor& t) { return t.permute({1, 0}); }, [](const ag::Tensor& t) { return ag::permute(t, {1, 0}); }}},
      {"transpose", {[](const ag::Tensor& t) { return t.transpose(0, 1); }, [](const ag::Tensor& t) { return ag::transpose(t, 0, 1); }}},
      {"expand", {[](const ag::Tensor& t) { return t.unsqueeze(0).expand({2, 2, 3}); }, [](const ag::Tensor& t) { return ag::expand(ag::unsqueeze(t, 0), {2, 2, 3}); }}},
      {"flip", {[](const ag::Tensor& t) { return t.flip({1}); }, [](const ag::Tensor& t) { return ag::flip(t, {1}); }}},
      {"index_select", {[](const ag::Tensor& t) { return t.index_select(1, ag::tensor({2, 0}, ag::i64)); }, [](const ag::Tensor& t) { return ag::index_select(t, 1, ag::tensor({2, 0}, ag::i64)); }}},
      {"gather", {[](const ag::Tensor& t) { return t.gather(1, ag::tensor({{1}, {2}}, ag::i64)); }, [](const ag::Tensor& t) { return ag::gather(t, 1, ag::tensor({{1}, {2}}, ag::i64)); }}},
      {"masked_fill", {[&](const ag::Tensor& t) { return t.masked_fill(mask, 0.0); }, [&](const ag::Tensor& t) { return ag::masked_fill(t, mask, 0.0); }}},
  };
  for (const auto& [name, fs] : cases) same(fs.first(x), fs.second(x), name);
  same(pos.log(), ag::log(pos), "log");
  same(pos.sqrt(), ag::sqrt(pos), "sqrt");
  // chains read like PyTorch
  same(x.relu().sum(), ag::sum(ag::relu(x)), "relu().sum()");
}

TEST_CASE("method forms: x.max(1) is torch.max(x, dim), x.max({1}) the values-only reduction") {
  const ag::Tensor x = make({1, 5, 5, 7, -2, 0}, {2, 3}, ag::f64, true);
  auto [v, i] = x.max(1);
  opt::check(v, {2}, {5, 7}, 0);
  opt::check(i, {2}, {1, 0}, 0);  // the first of the tied 5s
  CHECK(i.dtype() == ag::i64);
  v.sum().backward();
  opt::check(x.grad(), {2, 3}, {0, 1, 0, 1, 0, 0}, 0);  // all of g to the returned index
  opt::check(x.max({1}), {2}, {5, 7}, 0);
  auto [mv, mi] = x.min(0, true);
  opt::check(mv, {1, 3}, {1, -2, 0}, 0);
  opt::check(mi, {1, 3}, {0, 1, 1}, 0);
  auto [sv, si] = x.sort(1, true);
  opt::check(sv, {2, 3}, {5, 5, 1, 7, 0, -2}, 0);
  opt::check(si, {2, 3}, {1, 2, 0, 0, 2, 1}, 0);
  auto [tv, ti] = x.topk(1);
  opt::check(tv, {2, 1}, {5, 7}, 0);
  opt::check(ti, {2, 1}, {1, 0}, 0);
}
