// The MPI backend: MPI_COMM_WORLD behind the Communicator interface. Compiled only when CMake found
// MPI; the only file that includes <mpi.h>.
#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <fmt/core.h>

#include "backend.hpp"

namespace ag::nn::dist::backend {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(fmt::format("dist (MPI): {} failed: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

// Counts are ints in MPI: larger buffers go in pieces of at most this many elements.
constexpr std::size_t max_count = static_cast<std::size_t>(INT_MAX);

int world_rank = 0, world_size = 1;

// An exception escaping main() (or thrown during unwinding) on one rank: say which rank and why,
// then end the whole job instead of leaving the others blocked in a collective.
[[noreturn]] void terminate_job() {
  std::string message = "terminate called without an active exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      message = x.what();
    } catch (...) {
      message = "a non-standard exception";
    }
  }
  std::cerr << "tapegrad: rank " << world_rank << " of " << world_size << " failed: " << message << std::endl;
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

class MpiComm final : public Communicator {
 public:
  MpiComm() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      // FUNNELED: tapegrad calls MPI from the thread that initialized it only.
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit(finalize_at_exit);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    // Errors come back as codes (check() turns them into exceptions) instead of aborting silently.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    std::set_terminate(terminate_job);
  }
  int rank() const override { return world_rank; }
  int size() const override { return world_size; }
  std::string backend() const override { return "mpi"; }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
  [[noreturn]] void abort(const std::string& message) override {
    std::cerr << "tapegrad: rank " << world_rank << " of " << world_size << " failed: " << message << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }

 protected:
  void all_reduce_sum_f32(float* data, std::size_t n) override { sum(data, n, MPI_FLOAT); }
  void all_reduce_sum_f64(double* data, std::size_t n) override { sum(data, n, MPI_DOUBLE); }

  void broadcast_bytes(void* data, std::size_t bytes, int root) override {
    auto* p = static_cast<unsigned char*>(data);
    for (std::size_t off = 0; off < bytes; off += max_count) {
      const int c = static_cast<int>(std::min(max_count, bytes - off));
      check(MPI_Bcast(p + off, c, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  void all_gather_bytes(const void* in, std::size_t bytes, void* out) override {
    if (bytes > max_count)
      throw ValueError(fmt::format("dist::all_gather (MPI): {} bytes per rank is more than MPI's int count", bytes));
    const int c = static_cast<int>(bytes);
    check(MPI_Allgather(in, c, MPI_BYTE, out, c, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
  }

 private:
  template <class T> void sum(T* data, std::size_t n, MPI_Datatype type) {
    for (std::size_t off = 0; off < n; off += max_count) {
      const int c = static_cast<int>(std::min(max_count, n - off));
      check(MPI_Allreduce(MPI_IN_PLACE, data + off, c, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    }
  }
};

}  // namespace

bool mpi_built() { return true; }

Communicator& mpi_world() {
  static MpiComm w;
  return w;
}

}  // namespace ag::nn::dist::backend
