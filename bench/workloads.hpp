#pragma once
// Inputs of each workload, shared by every side so that their results can be compared.
#include <cstddef>
#include <cstdint>

namespace bench {

namespace tiny_graph {
// y = Σ(a·b + a) = 0.0625; dy/da = b + 1 = {2.5, 1.75, 0.5}; dy/db = a (all exact in float)
inline constexpr float a[3] = {0.5f, -1.25f, 2.0f};
inline constexpr float b[3] = {1.5f, 0.75f, -0.5f};
}  // namespace tiny_graph

namespace matmul_fb {
// C = A·B (n×n), then backward with the upstream gradient G: dA = G·Bᵀ, dB = Aᵀ·G.
inline constexpr std::size_t n = 512;
inline constexpr std::uint64_t seed_a = 1, seed_b = 2, seed_g = 3;
}  // namespace matmul_fb

}  // namespace bench
