// The Communicator's typed collectives over its four byte-level primitives; the world of one
// process; the local world of threads; world() and run().
#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <limits>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "ag/extend.hpp"
#include "ag/nn/dist.hpp"
#include "backend.hpp"

namespace ag::nn::dist {

// ---- typed collectives ---------------------------------------------------------------------------

void Communicator::all_reduce(float* data, std::size_t n, ReduceOp op) {
  all_reduce_sum_f32(data, n);
  if (op == ReduceOp::mean && size() > 1) {
    const float s = static_cast<float>(size());
    for (std::size_t i = 0; i < n; ++i) data[i] /= s;
  }
}

void Communicator::all_reduce(double* data, std::size_t n, ReduceOp op) {
  all_reduce_sum_f64(data, n);
  if (op == ReduceOp::mean && size() > 1) {
    const double s = static_cast<double>(size());
    for (std::size_t i = 0; i < n; ++i) data[i] /= s;
  }
}

double Communicator::all_reduce(double value, ReduceOp op) {
  all_reduce(&value, 1, op);
  return value;
}

void Communicator::all_reduce(Tensor& t, ReduceOp op) {
  require_defined("dist::all_reduce", t, "the tensor");
  if (t.dtype() != f32 && t.dtype() != f64)
    throw DtypeError(fmt::format("dist::all_reduce: needs a float32 or float64 tensor, got {}", dtype_name(t.dtype())));
  ag::dispatch(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = t.mutable_data<T>();
    all_reduce(p, t.numel(), op);
  });
}

void Communicator::broadcast(void* data, std::size_t bytes, int root) {
  if (root < 0 || root >= size())
    throw ValueError(fmt::format("dist::broadcast: root {} out of range for a world of size {}", root, size()));
  broadcast_bytes(data, bytes, root);
}

void Communicator::broadcast(Tensor& t, int root) {
  require_defined("dist::broadcast", t, "the tensor");
  ag::dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Raw bytes into the tensor's own storage: never recorded, so parameters take it too.
    broadcast(ag::data<T>(t), t.numel() * sizeof(T), root);
  });
}

void Communicator::broadcast(std::string& s, int root) {
  std::uint64_t n = s.size();
  broadcast(&n, sizeof n, root);
  s.resize(static_cast<std::size_t>(n));
  if (n > 0) broadcast(s.data(), s.size(), root);
}

std::vector<double> Communicator::all_gather(const std::vector<double>& v) {
  std::vector<double> out(v.size() * static_cast<std::size_t>(size()));
  all_gather(v.data(), v.size(), out.data());
  return out;
}

void Communicator::all_gather(const float* in, std::size_t n, float* out) {
  all_gather_bytes(in, n * sizeof(float), out);
}

void Communicator::all_gather(const double* in, std::size_t n, double* out) {
  all_gather_bytes(in, n * sizeof(double), out);
}

// ---- a world of one process ------------------------------------------------------------------------

namespace {

class SingleWorld final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void barrier() override {}
  [[noreturn]] void abort(const std::string& message) override {
    std::cerr << "tapegrad: rank 0 of 1 failed: " << message << std::endl;
    std::exit(1);
  }

 protected:
  void all_reduce_sum_f32(float*, std::size_t) override {}
  void all_reduce_sum_f64(double*, std::size_t) override {}
  void broadcast_bytes(void*, std::size_t, int) override {}
  void all_gather_bytes(const void* in, std::size_t bytes, void* out) override {
    if (bytes > 0 && in != out) std::memcpy(out, in, bytes);
  }
};

// ---- the local world: n threads meeting at a shared rendezvous -------------------------------------
//
// Every collective is two rendezvous: at the first every rank has posted its buffers; between the
// two each rank reads the others' (never writing what another reads); after the second each writes
// only its own buffer. A failed rank sets `failure`, which wakes every waiter with PeerError.

enum class Kind { barrier, sum_f32, sum_f64, broadcast, all_gather };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::barrier: return "barrier";
    case Kind::sum_f32: return "all_reduce(float32)";
    case Kind::sum_f64: return "all_reduce(float64)";
    case Kind::broadcast: return "broadcast";
    default: return "all_gather";
  }
}

struct Slot {
  Kind kind = Kind::barrier;
  const void* in = nullptr;
  std::size_t bytes = 0;
  int root = 0;
};

struct Rendezvous {
  explicit Rendezvous(int n) : n(n), slots(static_cast<std::size_t>(n)) {}
  const int n;
  std::mutex m;
  std::condition_variable cv;
  int arrived = 0;
  std::uint64_t generation = 0;
  bool failed = false;
  std::string failure;
  std::vector<Slot> slots;

  void fail(const std::string& message) {
    std::lock_guard<std::mutex> lock(m);
    if (!failed) {
      failed = true;
      failure = message;
    }
    cv.notify_all();
  }

  void wait_all() {
    std::unique_lock<std::mutex> lock(m);
    if (failed) throw PeerError(failure);
    const std::uint64_t g = generation;
    if (++arrived == n) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return;
    }
    cv.wait(lock, [&] { return generation != g || failed; });
    if (generation == g) throw PeerError(failure);  // failed while waiting
  }
};

class LocalComm final : public Communicator {
 public:
  LocalComm(Rendezvous& rv, int rank) : rv_(rv), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return rv_.n; }
  std::string backend() const override { return "local"; }
  void barrier() override { post(Kind::barrier, nullptr, 0, 0); rv_.wait_all(); }
  [[noreturn]] void abort(const std::string& message) override {
    const std::string m = fmt::format("rank {} of {} aborted: {}", rank_, rv_.n, message);
    rv_.fail(m);
    throw PeerError(m);
  }

 protected:
  void all_reduce_sum_f32(float* data, std::size_t n) override { sum(data, n, Kind::sum_f32); }
  void all_reduce_sum_f64(double* data, std::size_t n) override { sum(data, n, Kind::sum_f64); }

  void broadcast_bytes(void* data, std::size_t bytes, int root) override {
    post(Kind::broadcast, data, bytes, root);
    rv_.wait_all();
    check_same();
    if (rank_ != root && bytes > 0) std::memcpy(data, rv_.slots[static_cast<std::size_t>(root)].in, bytes);
    rv_.wait_all();  // the root's buffer stays untouched until every rank has copied it
  }

  void all_gather_bytes(const void* in, std::size_t bytes, void* out) override {
    post(Kind::all_gather, in, bytes, 0);
    rv_.wait_all();
    check_same();
    auto* o = static_cast<unsigned char*>(out);
    for (int r = 0; r < rv_.n; ++r)
      if (bytes > 0) std::memcpy(o + static_cast<std::size_t>(r) * bytes, rv_.slots[static_cast<std::size_t>(r)].in, bytes);
    rv_.wait_all();
  }

 private:
  Rendezvous& rv_;
  int rank_;

  void post(Kind k, const void* in, std::size_t bytes, int root) {
    rv_.slots[static_cast<std::size_t>(rank_)] = Slot{k, in, bytes, root};
  }

  // Every rank runs the same check on the same slots, so all throw or none does.
  void check_same() const {
    const Slot& a = rv_.slots[0];
    for (int r = 1; r < rv_.n; ++r) {
      const Slot& b = rv_.slots[static_cast<std::size_t>(r)];
      if (b.kind != a.kind || b.bytes != a.bytes || b.root != a.root)
        throw ValueError(fmt::format(
            "dist (local world): ranks disagree on the collective: rank 0 called {} with {} bytes (root {}), "
            "rank {} called {} with {} bytes (root {})",
            kind_name(a.kind), a.bytes, a.root, r, kind_name(b.kind), b.bytes, b.root));
    }
  }

  // Sums in rank order into a private copy, then (after every rank has read) writes it back: the
  // same float operations in the same order on every rank, so every rank gets identical bits.
  template <class T> void sum(T* data, std::size_t n, Kind k) {
    post(k, data, n * sizeof(T), 0);
    rv_.wait_all();
    check_same();
    std::vector<T> acc(static_cast<const T*>(rv_.slots[0].in), static_cast<const T*>(rv_.slots[0].in) + n);
    for (int r = 1; r < rv_.n; ++r) {
      const T* x = static_cast<const T*>(rv_.slots[static_cast<std::size_t>(r)].in);
      for (std::size_t i = 0; i < n; ++i) acc[i] += x[i];
    }
    rv_.wait_all();
    std::copy(acc.begin(), acc.end(), data);
  }
};

bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

}  // namespace

void local_world(int n, const std::function<void(Communicator&)>& fn) {
  if (n < 1) throw ValueError(fmt::format("dist::local_world: needs at least 1 rank, got {}", n));
  Rendezvous rv(n);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::size_t> order;  // ranks in the order they failed with their own error
  std::mutex order_m;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      LocalComm comm(rv, r);
      try {
        fn(comm);
      } catch (const PeerError&) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        { std::lock_guard<std::mutex> lock(order_m); order.push_back(static_cast<std::size_t>(r)); }
        rv.fail(fmt::format("rank {} of {} failed: {}", r, n, e.what()));
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        { std::lock_guard<std::mutex> lock(order_m); order.push_back(static_cast<std::size_t>(r)); }
        rv.fail(fmt::format("rank {} of {} failed with a non-standard exception", r, n));
      }
    });
  for (auto& t : threads) t.join();
  // The first rank's own error (not the PeerErrors it caused), else the first PeerError (abort()).
  if (!order.empty()) std::rethrow_exception(errors[order.front()]);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

Communicator& single_world() {
  static SingleWorld w;
  return w;
}

bool mpi_available() { return backend::mpi_built(); }

Communicator& mpi_world() { return backend::mpi_world(); }

Communicator& world() {
  if (!launched_by_mpirun()) return single_world();
  if (backend::mpi_built()) return backend::mpi_world();
  static bool warned = false;
  if (!warned) {
    warned = true;
    std::cerr << "tapegrad: started by an MPI launcher but built without MPI: this process runs alone "
                 "(a world of size 1)\n";
  }
  return single_world();
}

void run(Communicator& comm, const std::function<void(Communicator&)>& fn) {
  if (comm.backend() == "local") {
    fn(comm);  // local_world stops the other threads and rethrows
    return;
  }
  std::string message;
  try {
    fn(comm);
    return;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "a non-standard exception";
  }
  comm.abort(message);
}

}  // namespace ag::nn::dist
