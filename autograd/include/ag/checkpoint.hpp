#pragma once
// Gradient checkpointing: memory for compute. ag::checkpoint(f, x) runs f without recording and
// records one node; its VJP runs f again, recording, on fresh copies of the inputs, and
// differentiates that replay. The tape then holds f's inputs and outputs instead of every
// intermediate result inside f, at the cost of one more forward of f per backward.
//
//   auto block = [&](const ag::Tensor& h) { return ag::tanh(ag::linear(h, w, b)); };
//   ag::Tensor y = ag::checkpoint(block, x, {w, b});   // w, b: read by f, not passed to it
//
// f takes one Tensor or a list and returns one Tensor or a list, as in ag/functional.hpp; the
// result follows f's (one Tensor, or a std::vector<Tensor>).
//  - params: tensors f reads besides its inputs that need gradients (a layer's weights). They
//    must be leaves. A tensor that requires grad, is read by f and is in neither list would lose
//    its gradient: the replay detects it and raises GradError naming its shape.
//  - The gradients are bit-identical to those of f without checkpointing (the replay computes the
//    same values in the same order), and create_graph works through it (second derivatives: the
//    gradient is itself recorded as a checkpointed function of the inputs and the cotangent).
//  - Random draws replay: the global generator's state (and that of each generator listed in
//    options.generators, e.g. a Dropout's own) is saved before the forward; each replay runs f
//    from that state and then puts back the generator's state of the moment, so the draws after
//    backward are those they would have been without checkpointing.
//  - f is copied and kept until the node is freed (the backward): whatever it refers to must live
//    that long. It must compute the same function at each call (apart from the replayed draws);
//    state it changes in place (running statistics) changes again at each replay.
//  - Outputs that carry gradients must share one floating dtype (others pass through, constant).
//    With grad mode off, or nothing in inputs/params requiring grad, f just runs (recording as
//    usual: no saving then).
#include <functional>
#include <utility>
#include <vector>

#include "ag/functional.hpp"
#include "ag/random.hpp"

namespace ag {

struct CheckpointOptions {
  bool preserve_rng_state = true;       // replays draw what the forward drew
  std::vector<Generator*> generators;   // generators f draws from besides the global one
};

namespace detail {
using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
std::vector<Tensor> checkpoint(CheckpointFn f, const std::vector<Tensor>& inputs, const TensorList& params,
                               const CheckpointOptions& options);
template <class In, class F> auto checkpoint_as(F&& f, const std::vector<Tensor>& xs, const TensorList& params,
                                                const CheckpointOptions& o) {
  using G = std::decay_t<F>;
  constexpr bool one_out = one_output<In, G>;
  CheckpointFn fn = [g = G(std::forward<F>(f))](const std::vector<Tensor>& v) mutable {
    return to_list(call_with<In>(g, v));
  };
  return pick<one_out>(detail::checkpoint(std::move(fn), xs, params, o));
}
}  // namespace detail

template <class F>
auto checkpoint(F&& f, const Tensor& x, const TensorList& params = {}, const CheckpointOptions& options = {}) {
  return detail::checkpoint_as<Tensor>(std::forward<F>(f), {x}, params, options);
}
template <class F>
auto checkpoint(F&& f, const TensorList& xs, const TensorList& params = {}, const CheckpointOptions& options = {}) {
  return detail::checkpoint_as<TensorList>(std::forward<F>(f), xs.to_vector(), params, options);
}

}  // namespace ag
