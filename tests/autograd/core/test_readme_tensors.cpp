// The README's "Tensors" examples (quoted there verbatim: the install.readme_snippet test checks it).
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "ag/ag.hpp"

TEST_CASE("README tensors: dtypes and the promotion rule") {
  ag::Tensor logits = ag::tensor({{0.1, 2.0, -1.0}, {3.0, 0.0, 1.0}});  // float32
  ag::Tensor labels = ag::tensor({1, 2}, ag::i64);                       // int64 class indices
  ag::Tensor pred = ag::argmax(logits, 1);                                // int64 [1, 0]
  ag::Tensor hit = pred == labels;                                        // bool [true, false]
  ag::Tensor correct = ag::sum(hit);                                      // int64 1
  ag::Tensor accuracy = ag::mean(hit);                                    // float32 0.5
  ag::Tensor shifted = labels + 1;       // int64: a C++ integer keeps the integer dtype
  ag::Tensor scaled = labels * 0.5;      // float32: a double with an integer tensor
  ag::Tensor masked = logits * (logits > 0.0);  // bool promotes to float32; differentiable in logits
  CHECK(correct.item<std::int64_t>() == 1);
  CHECK(accuracy.item() == 0.5);
  CHECK(shifted.dtype() == ag::i64);
  CHECK(scaled.dtype() == ag::f32);
  CHECK(masked.dtype() == ag::f32);
  CHECK(hit.dtype() == ag::bool_);
  CHECK_THROWS_AS(ag::exp(labels), ag::DtypeError);  // exp: takes float32 or float64 tensors, got int64
}

TEST_CASE("README tensors: buffers in and out") {
  // In: a copy of any buffer (the tensor owns it; free the buffer whenever you like).
  std::vector<std::uint8_t> pixels(28 * 28, 0);
  ag::Tensor img = ag::from_blob(pixels.data(), {28, 28}, ag::u8);
  ag::Tensor x = img.to(ag::f32) / 255.0;
  ag::Tensor ids = ag::tensor(std::vector<std::int64_t>{5, 9, 2}, {3});
  // Out: a flat copy in any type, or a pointer to the contiguous row-major values.
  std::vector<float> flat = x.to_vector<float>();
  const std::int64_t* p = ids.data<std::int64_t>();  // DtypeError if the type does not match
  // Weights from anywhere: copy_ into a parameter, under NoGradGuard.
  ag::Tensor w = ag::zeros({3}, ag::f32, true);
  {
    ag::NoGradGuard no_grad;
    w.copy_(ag::tensor({0.5, -1.0, 2.0}, ag::f64));  // converted to float32 in place
  }
  CHECK(flat.size() == 784);
  CHECK(p[1] == 9);
  CHECK(w.to_vector<double>() == std::vector<double>{0.5, -1.0, 2.0});
  CHECK(w.requires_grad());
}
