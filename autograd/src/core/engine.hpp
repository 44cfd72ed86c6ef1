#pragma once
// Engine-side entry points of anomaly mode, hooks and the profiler (not installed).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ag/autograd.hpp"

namespace ag::detail {

// The largest tape position recorded on (or seen by) this thread: every node recorded from now
// on gets a larger seq (tape.cpp).
std::uint64_t last_seq() noexcept;

// ---- anomaly mode (debug.cpp) ----
// > 0 while a VJP runs on this thread: its inner ops are not checked one by one (an intermediate
// inf that the VJP masks is fine); the gradients it returns are.
extern thread_local int in_vjp;
struct InVjp {
  InVjp() noexcept { ++in_vjp; }
  ~InVjp() { --in_vjp; }
};
void check_recorded_anomaly(const Node& n, const Tensor& out);               // forward of a recorded op
void check_backward_anomaly(const Node& n, std::size_t input, const Tensor& g);  // a VJP's gradient
// A gradient handed in by the user (`what` = "grad_output") or returned by a hook.
void check_gradient_anomaly(const char* who, const char* what, std::size_t index, const Tensor& g);

// Runs gradient hooks in order; a defined result must match g's shape and dtype and replaces it.
// `who`/`seq` name the tensor for errors: the op and its tape position, or a leaf (seq 0).
Tensor run_hooks(std::vector<std::pair<std::size_t, GradHook>>& hooks, Tensor g, const char* who,
                 std::uint64_t seq);

// "float32 [2, 3]": a tensor as errors name it.
inline std::string tensor_str(const Tensor& t) { return dtype_name(t.dtype()) + (" " + shape_str(t.shape())); }

// "'mul' (#3)" for a node, "leaf 'w'" / "a leaf" for a leaf, "a constant" for a tensor without grad.
std::string describe_producer(const Tensor& t);

}  // namespace ag::detail
