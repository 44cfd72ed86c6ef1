// Shards of a data set for each rank: the epoch's order (one permutation, the same on every rank),
// made a multiple of size * chunk long, dealt to ranks chunk by chunk.
#include <fmt/core.h>

#include "ag/nn/data/dataset.hpp"
#include "ag/nn/dist.hpp"

namespace ag::nn::dist {

std::vector<std::size_t> shard_indices(std::size_t n, int rank, int size, std::size_t epoch,
                                       const SamplerOptions& o) {
  if (size < 1 || rank < 0 || rank >= size)
    throw ValueError(fmt::format("dist::shard_indices: rank {} out of range for a world of size {}", rank, size));
  if (o.chunk == 0) throw ValueError("dist::shard_indices: chunk must be at least 1");
  std::vector<std::size_t> order;
  if (o.shuffle) {
    Generator gen(o.seed + epoch);
    order = permutation(n, gen);
  } else {
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
  }
  const std::size_t group = static_cast<std::size_t>(size) * o.chunk;  // rows per round of dealing
  std::size_t total = n;
  if (o.uneven == Uneven::pad && n > 0) total = (n + group - 1) / group * group;
  if (o.uneven == Uneven::drop) total = n / group * group;
  for (std::size_t i = n; i < total; ++i) order.push_back(order[i - n]);  // pad from the start, cyclically
  order.resize(total);

  std::vector<std::size_t> mine;
  mine.reserve(total / static_cast<std::size_t>(size) + o.chunk);
  for (std::size_t start = static_cast<std::size_t>(rank) * o.chunk; start < total; start += group)
    for (std::size_t i = start; i < std::min(start + o.chunk, total); ++i) mine.push_back(order[i]);
  return mine;
}

std::function<std::vector<std::size_t>(std::size_t)> sampler(std::size_t n, const Communicator& comm,
                                                               const SamplerOptions& options) {
  const int rank = comm.rank(), size = comm.size();
  shard_indices(0, rank, size, 0, options);  // checks the options now rather than at the first pass
  return [n, rank, size, options](std::size_t epoch) { return shard_indices(n, rank, size, epoch, options); };
}

}  // namespace ag::nn::dist
