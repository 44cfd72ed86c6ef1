#pragma once
// Data-parallel training: every process (rank) holds a full copy of the model, trains on its own
// shard of the data, and the gradients are summed across ranks before each optimizer step, so the
// copies stay identical.
//
//   namespace dist = ag::nn::dist;
//   dist::Communicator& comm = dist::world();     // MPI under mpirun, else a world of size 1
//   dist::DataParallel dp(model, comm);            // copies rank 0's weights, checks shapes
//   dist::SamplerOptions so;  so.seed = 7;         // one shuffle per epoch, the same on every rank
//   ag::nn::DataLoader loader(train, batch_per_rank, dist::sampler(train.size(), comm, so));
//   for (int epoch = 0; epoch < epochs; ++epoch)   // each pass over the loader is the next epoch
//     for (const auto& [xb, yb] : loader) {
//       opt.zero_grad();
//       loss_fn(model(xb), yb).backward();        // a mean over this rank's rows
//       dp.reduce_gradients(xb.size(0));          // grads = the mean over every rank's rows
//       opt.step();
//     }
//
// Or let fit do all of it: FitOptions::communicator = &comm (ag/nn/train/fit.hpp).
//
// Two worlds behind one Communicator interface:
// - local_world(n, fn): n threads in this process, one model copy each (tapes and generators are
//   per thread). Always built; every distributed code path runs in it without mpirun.
// - MPI (built when CMake finds MPI; TAPEGRAD_WITH_MPI): world() under mpirun (or srun). The MPI
//   header is never included here.
//
// Failures. In the local world an exception on one thread makes every other thread's next (or
// current) collective throw dist::PeerError, and local_world rethrows the first exception after
// joining. Under MPI an exception must not leave the other ranks blocked in a collective: wrap the
// work in dist::run(comm, fn), which prints "tapegrad: rank r of n failed: <message>" to stderr and
// calls MPI_Abort (the whole job ends with exit code 1); an exception escaping main() does the same
// (world() installs a terminate handler).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {
class Module;
}

namespace ag::nn::dist {

enum class ReduceOp {
  sum,   // x_r summed over ranks
  mean,  // the sum divided by size()
};

// Thrown by a collective on the ranks of a local world when another rank failed (its message names
// that rank and its error).
struct PeerError : Error {
  using Error::Error;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size()-1
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi", "single"
  virtual void barrier() = 0;

  // In place: data[i] = op over ranks of data[i]. Every rank passes the same n. With the local
  // world the sum runs in rank order (deterministic); MPI chooses its own reduction order.
  void all_reduce(float* data, std::size_t n, ReduceOp op = ReduceOp::sum);
  void all_reduce(double* data, std::size_t n, ReduceOp op = ReduceOp::sum);
  // A float32 or float64 tensor (DtypeError otherwise), in place, under no-grad; same shape on
  // every rank.
  void all_reduce(Tensor& t, ReduceOp op = ReduceOp::sum);
  double all_reduce(double value, ReduceOp op = ReduceOp::sum);

  // Copies root's bytes / values into every rank's (same sizes on every rank).
  void broadcast(void* data, std::size_t bytes, int root = 0);
  void broadcast(Tensor& t, int root = 0);  // any dtype; not recorded (a parameter takes it too)
  void broadcast(std::string& s, int root = 0);  // the length travels first

  // Every rank's values, rank-major: result[r * n + i] = rank r's v[i] (equal n on every rank).
  std::vector<double> all_gather(const std::vector<double>& v);
  std::vector<double> all_gather(double v) { return all_gather(std::vector<double>{v}); }
  // out[r * n + i] = rank r's in[i]; out holds size() * n values.
  void all_gather(const float* in, std::size_t n, float* out);
  void all_gather(const double* in, std::size_t n, double* out);

  // Ends the whole job (MPI_Abort under MPI; the local world makes every rank's next collective
  // throw PeerError with this message, and this rank throws it too).
  [[noreturn]] virtual void abort(const std::string& message) = 0;

 protected:
  virtual void all_reduce_sum_f32(float* data, std::size_t n) = 0;
  virtual void all_reduce_sum_f64(double* data, std::size_t n) = 0;
  virtual void broadcast_bytes(void* data, std::size_t bytes, int root) = 0;
  virtual void all_gather_bytes(const void* in, std::size_t bytes, void* out) = 0;
};

// Runs fn(comm) on n threads (n >= 1), each with its own Communicator of rank 0..n-1, and joins
// them. The first exception thrown by any rank is rethrown here after every thread has stopped
// (the others get PeerError out of their collectives instead of waiting forever). Ranks calling
// different collectives, or one with different sizes, throw ValueError on every rank.
void local_world(int n, const std::function<void(Communicator&)>& fn);

// A world of one process: every collective is the identity (all_reduce mean included).
Communicator& single_world();

// True when this build has the MPI backend.
bool mpi_available();
// The MPI_COMM_WORLD communicator; initializes MPI on first use (MPI_Init_thread, finalized at
// exit). ValueError when built without MPI.
Communicator& mpi_world();
// mpi_world() when the process was started by mpirun/mpiexec/srun (detected from the launcher's
// environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK), else single_world(): the same program
// runs alone without MPI being initialized.
Communicator& world();

// Runs fn(comm); when it throws, prints "tapegrad: rank r of n failed: <what>" to stderr and ends
// the job with comm.abort() (MPI_Abort), so that no rank waits forever for a failed one. In a
// local world it rethrows instead (local_world then stops the other threads).
void run(Communicator& comm, const std::function<void(Communicator&)>& fn);

// ---- sharded data ---------------------------------------------------------------------------------

// How a DistributedSampler makes the shards equal in length when size() does not divide the data.
enum class Uneven {
  pad,   // repeat rows from the start of the (shuffled) order: every row is seen, a few twice
  drop,  // drop the tail of the order: each epoch misses up to size()*chunk - 1 rows
  // keep every row once: the shards differ in length by up to `chunk` rows, so with a per-rank
  // loader a rank may have one batch fewer; it must still call DataParallel::reduce_gradients()
  // (without accumulate) that step, or the others wait for it
  none,
};

struct SamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;  // epoch e shuffles with Generator(seed + e), identical on every rank
  Uneven uneven = Uneven::pad;
  // Rows are dealt to ranks in chunks of `chunk` consecutive rows of the epoch's order, round
  // robin: rank r gets chunks r, r + size, r + 2 size, ... (chunk 1 = PyTorch's DistributedSampler).
  // With a per-rank batch of B/size rows the ranks' batches at step t together hold exactly the
  // rows of a single process's batch t of B rows (when chunk divides B/size); ordered mode needs
  // chunk = the micro-batch size.
  std::size_t chunk = 1;
};

// This rank's row indices for `epoch` (see SamplerOptions).
std::vector<std::size_t> shard_indices(std::size_t n, int rank, int size, std::size_t epoch,
                                       const SamplerOptions& options = {});

// A per-epoch index function for DataLoader's sampler constructor: shard_indices for comm's rank.
std::function<std::vector<std::size_t>(std::size_t epoch)> sampler(std::size_t n, const Communicator& comm,
                                                                     const SamplerOptions& options = {});

// ---- DataParallel -----------------------------------------------------------------------------------

struct DataParallelOptions {
  // Gradients travel in fused buckets of about this many bytes, in reverse parameter order.
  std::size_t bucket_bytes = std::size_t(1) << 20;
  // Ordered mode: gradients are gathered per micro-batch and summed in one fixed order on every
  // rank (see DataParallel), so results do not depend on the MPI reduction order or the number of
  // ranks. Costs a gather of every micro-batch's gradients.
  bool ordered = false;
  // Buffers (BatchNorm's running statistics) are copied from rank 0 at every reduce_gradients, as
  // PyTorch's DistributedDataParallel does before each forward; off: each rank keeps its own.
  bool broadcast_buffers = true;
};

// Keeps a model's copies identical across ranks.
//
// Plain mode: reduce_gradients(rows) after a backward of a loss that is a mean over `rows` rows
// replaces each gradient g_r by (sum_r rows_r g_r) / (sum_r rows_r): the gradient of the mean over
// all ranks' rows, exact for uneven batches (a rank with a short last batch weighs less). The sum is
// an all-reduce in the gradient's dtype, fused into buckets.
//
// Ordered mode: call accumulate(rows) after each micro-batch's backward (it stores rows * g and
// clears the grads), then reduce_gradients() once per step. Every rank sums the stored micro-batch
// gradients of every rank in the global micro-batch order (in float64, left to right), so the
// result is bit-identical on every rank and, with shards dealt in chunks of the micro-batch size
// (SamplerOptions::chunk), bit-identical to one process running the same micro-batches, for any
// number of ranks that divides the micro-batches of a step. (A plain backward over B rows is NOT
// bit-identical to micro-batches of B/k rows: the float sums inside the ops differ.)
//
// Parameters that received no gradient on any rank keep none (the optimizer skips them, as in one
// process); frozen parameters are left alone.
//
// Identical copies: in plain mode every rank applies the same update only if the all-reduce gives
// every rank the same bits. The local world sums in rank order on every rank; OpenMPI's algorithms
// do too (the MPI tests check the weights bit for bit after every step), but the MPI standard does
// not promise it: ordered mode does.
//
// The gradient all-reduce runs after backward, not overlapped with it: the engine hands a leaf its
// gradient only once the whole sweep is done, and without a progress thread OpenMPI advances a
// non-blocking collective only inside MPI calls; between ranks on one machine the reduction is work
// for the same cores that run backward.
class DataParallel {
 public:
  // Calls sync_parameters().
  DataParallel(Module& model, Communicator& comm, DataParallelOptions options = {});

  // Checks that every rank has the same parameter and buffer names, shapes and dtypes (ValueError
  // naming the first difference otherwise, on every rank), then copies rank 0's parameters and
  // buffers to every rank.
  void sync_parameters();

  // Adds rows * grad (every trainable parameter) to this rank's contribution and clears the grads.
  void accumulate(std::size_t rows);
  // Reduces the accumulated contributions into each parameter's grad (the mean over every rank's
  // rows) and clears them. A rank without a batch this step calls it too, without accumulate (it
  // contributes no rows); ValueError when no rank has any row.
  void reduce_gradients();
  // accumulate(rows) then reduce_gradients(): the one call per step of plain training.
  void reduce_gradients(std::size_t rows);

  Communicator& communicator() { return comm_; }
  const DataParallelOptions& options() const { return options_; }
  // Rows of the last reduce_gradients over every rank.
  double last_total_rows() const { return last_total_rows_; }
  // Seconds spent in the gradient collectives (all-reduce or gather) since construction.
  double communication_seconds() const { return comm_seconds_; }

 private:
  Module& model_;
  Communicator& comm_;
  DataParallelOptions options_;
  std::vector<Tensor> params_;  // trainable, in parameter order
  std::size_t numel_ = 0;        // elements of params_ together
  // Plain mode: sum over micro-batches of rows * grad, every parameter of one dtype packed into one
  // persistent buffer, in reverse parameter order (the all-reduce goes through it in bucket-sized
  // pieces; reusing the buffer matters: a fresh 1 MiB buffer per call made OpenMPI's all-reduce
  // 10x slower here).
  std::vector<float> flat32_;
  std::vector<double> flat64_;
  std::vector<std::size_t> offset_;  // parameter i's first element in its dtype's buffer
  std::vector<double> meta_;
  std::vector<std::vector<double>> micro_;  // ordered mode: [micro-batch][flattened params]
  std::vector<double> micro_rows_;
  std::vector<bool> has_grad_;
  std::size_t accumulated_ = 0;  // accumulate() calls since the last reduce
  double local_rows_ = 0.0;
  double last_total_rows_ = 0.0;
  double comm_seconds_ = 0.0;
  void reduce_plain();
  void reduce_ordered();
  template <class T> T* flat() {
    if constexpr (std::is_same_v<T, float>) return flat32_.data();
    else return flat64_.data();
  }
  void write_grads_f64(const std::vector<double>& flat, double total_rows);
};

}  // namespace ag::nn::dist
