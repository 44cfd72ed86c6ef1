// nn::checkpoint_sequential: outputs, parameter gradients and running statistics bit-identical to
// running the Sequential plainly, with Dropout (global and own generator) and BatchNorm inside.
#include <cstring>
#include <memory>

#include <doctest/doctest.h>

#include "ag/ag.hpp"
#include "ag/nn.hpp"

namespace nn = ag::nn;

namespace {

// 6 x (Dense, Tanh) with a BatchNorm1d after the second pair and Dropouts (one on the global
// generator, one on its own) in between: 15 layers. The same seed gives the same model.
std::shared_ptr<nn::Sequential> make_model(ag::DType dtype) {
  ag::Generator gen(21);
  auto seq = std::make_shared<nn::Sequential>();
  for (int i = 0; i < 6; ++i) {
    seq->emplace<nn::Dense>(12, 12, gen, true, nn::Init::glorot_uniform, dtype);
    seq->emplace<nn::Tanh>();
    if (i == 1) seq->emplace<nn::BatchNorm1d>(12);
    if (i == 2) seq->emplace<nn::Dropout>(0.3);
    if (i == 4) seq->emplace<nn::Dropout>(0.4, std::uint64_t{9});
  }
  seq->to(dtype);
  return seq;
}

bool same_bits(const ag::Tensor& a, const ag::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  const std::size_t bytes = a.numel() * (a.dtype() == ag::f32 ? 4 : 8);
  const void* pa = a.dtype() == ag::f32 ? static_cast<const void*>(a.data<float>()) : a.data<double>();
  const void* pb = b.dtype() == ag::f32 ? static_cast<const void*>(b.data<float>()) : b.data<double>();
  return std::memcmp(pa, pb, bytes) == 0;
}

}  // namespace

TEST_CASE("checkpoint_sequential: bit-identical to the plain Sequential, Dropout and BatchNorm included") {
  for (ag::DType dtype : {ag::f32, ag::f64}) {
    CAPTURE(ag::dtype_name(dtype));
    ag::Generator gen(4);
    const ag::Tensor x = ag::randn({10, 12}, gen, dtype);
    auto plain = make_model(dtype);
    ag::manual_seed(77);
    const ag::Tensor y0 = (*plain)(x);
    ag::sum(ag::square(y0)).backward();
    const double next0 = ag::rand({1}, ag::f64).item();
    for (std::size_t segments : {1, 3, 4, 15}) {
      CAPTURE(segments);
      auto model = make_model(dtype);
      ag::manual_seed(77);
      const ag::Tensor y = nn::checkpoint_sequential(*model, segments, x);
      CHECK(same_bits(y, y0));
      ag::sum(ag::square(y)).backward();
      CHECK(ag::rand({1}, ag::f64).item() == next0);  // the global stream as without checkpointing
      const auto p0 = plain->named_parameters(), p1 = model->named_parameters();
      REQUIRE(p0.size() == p1.size());
      for (std::size_t i = 0; i < p0.size(); ++i)
        CHECK_MESSAGE(same_bits(p1[i].second.grad(), p0[i].second.grad()), p0[i].first);
      const auto b0 = plain->named_buffers(), b1 = model->named_buffers();
      REQUIRE(b0.size() == b1.size());
      REQUIRE(b0.size() >= 2);
      for (std::size_t i = 0; i < b0.size(); ++i)  // running statistics updated once, not per replay
        CHECK_MESSAGE(b1[i].second.to_vector<double>() == b0[i].second.to_vector<double>(), b0[i].first);
    }
  }
}

TEST_CASE("checkpoint_sequential: segments out of range are a ValueError") {
  auto model = make_model(ag::f32);
  const ag::Tensor x = ag::randn({2, 12});
  CHECK_THROWS_AS(nn::checkpoint_sequential(*model, 0, x), ag::ValueError);
  CHECK_THROWS_WITH_AS(nn::checkpoint_sequential(*model, 16, x),
                       "checkpoint_sequential: 16 segments for a Sequential of 15 layers (need 1 to 15)",
                       ag::ValueError);
}
