#pragma once
// Seeing the tape: the graph that produced a tensor, as Graphviz DOT or as readable text.
// Both walk from the given tensors back through grad_fn to the leaves; neither changes anything.
#include <string>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

// Graphviz DOT: one box per op (name, tape position #n, output dtype and shape), one ellipse per
// leaf (name, dtype, shape; filled when it requires grad), dashed boxes for constants, edges from
// inputs to the ops that use them; the given tensors have a double border. Render with
// `dot -Tsvg graph.dot -o graph.svg`.
std::string to_dot(const std::vector<Tensor>& outputs);
std::string to_dot(const Tensor& output);

// The same graph as text, one line per tensor in recording order, e.g.
//   w      = leaf float32 [3, 2] requires_grad
//   %1     = matmul(x, w)        float32 [4, 2]  #1
//   %2     = sum(%1)             float32 []      #2   <- output 0
std::string graph_string(const std::vector<Tensor>& outputs);
std::string graph_string(const Tensor& output);

}  // namespace ag
