#pragma once
// Shape ops: views of the same values in another arrangement, and joining/splitting along axes.
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

// ---- shape -------------------------------------------------------------------------------------
Tensor reshape(const Tensor& x, const std::vector<std::ptrdiff_t>& shape);  // one -1 is inferred
Tensor permute(const Tensor& x, const Axes& axes);
Tensor transpose(const Tensor& x, int dim0, int dim1);  // swap two axes
Tensor transpose(const Tensor& x);                      // reverse all axes (numpy .T)
Tensor squeeze(const Tensor& x);                    // removes every size-1 axis
Tensor squeeze(const Tensor& x, const Axes& axes);  // removes the given axes (each must be size 1)
Tensor unsqueeze(const Tensor& x, int axis);        // inserts a size-1 axis; axis in [-(n+1), n]
Tensor flatten(const Tensor& x, int start = 0, int end = -1);  // merges axes start..end (inclusive)
// Joins along an existing axis (same shapes elsewhere) / along a new axis (same shapes).
Tensor concat(const std::vector<Tensor>& xs, int axis = 0);
Tensor stack(const std::vector<Tensor>& xs, int axis = 0);
// Pieces along `axis`: `sections` equal pieces (must divide the axis; numpy.split), or pieces of
// the given sizes (must sum to the axis). Each piece is its own recorded slice.
std::vector<Tensor> split(const Tensor& x, std::size_t sections, int axis = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<std::size_t>& sizes, int axis = 0);
inline std::vector<Tensor> split(const Tensor& x, std::initializer_list<std::size_t> sizes, int axis = 0) {
  return split(x, std::vector<std::size_t>(sizes), axis);
}
// x[start:stop:step] along axis, python semantics: negative start/stop count from the end and
// are clipped; nullopt means the end given step's sign; step != 0 (negative steps go backwards).
Tensor slice(const Tensor& x, int axis, std::optional<std::ptrdiff_t> start,
             std::optional<std::ptrdiff_t> stop, std::ptrdiff_t step = 1);
// x[..., index, ...]: one index along axis (negative counts from the end); the axis is removed.
Tensor select(const Tensor& x, int axis, std::ptrdiff_t index);

// torch.nn.functional.pad: pads = (before, after) pairs from the LAST axis backwards, {left,
// right} pads the last axis, {left, right, top, bottom} the last two; at most 2·x.dim() values.
// mode "constant": new positions hold `value`; negative pads remove positions (crop).
//   d = pad(g, -pads) (crop back).
// "reflect": mirror without repeating the edge ([a, b, c] padded 2 on the left: [c, b, a, b, c];
//   pads < the axis size). "replicate": repeat the edge value. "circular": wrap around (pads <=
//   the axis size). These three are index_select along each padded axis (d adds g's copies back).
Tensor pad(const Tensor& x, const std::vector<std::ptrdiff_t>& pads, const std::string& mode = "constant",
           double value = 0.0);

// ---- rearranging (numpy/PyTorch semantics) ------------------------------------------------------------
// Reverses the order along each of `axes` (numpy.flip, torch.flip); no axes: x. d = flip(g, axes).
Tensor flip(const Tensor& x, const Axes& axes);
// Shifts the values along axis by `shift`, wrapping around: out[(i + shift) mod n] = x[i] (negative
// shifts move toward lower indices). d = roll(g, -shift, axis).
Tensor roll(const Tensor& x, std::ptrdiff_t shift, int axis);
// Several axes at once: shifts[i] along axes[i] (same lengths; a repeated axis adds its shifts).
Tensor roll(const Tensor& x, const std::vector<std::ptrdiff_t>& shifts, const Axes& axes);
// Without an axis: rolls the row-major flattened values and restores the shape (torch.roll(x, s)).
Tensor roll(const Tensor& x, std::ptrdiff_t shift);
// numpy.tile, which is PyTorch's Tensor.repeat: reps[d] copies of x along axis d. A reps shorter
// than x's rank is padded with leading 1s; a longer one gives x leading size-1 axes.
// [a, b] tiled {2} -> [a, b, a, b]. d = g summed over the copies (reshape + sum).
Tensor tile(const Tensor& x, const std::vector<std::size_t>& reps);
// torch.repeat_interleave / numpy.repeat: each entry `repeats` times in a row along axis,
// [a, b] -> [a, a, b, b]. d = g summed over each entry's copies (reshape + sum).
Tensor repeat_interleave(const Tensor& x, std::size_t repeats, int axis);

}  // namespace ag
