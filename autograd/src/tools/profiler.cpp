// The profiler: op scopes (forward), VJP timings (backward) and tape memory, per thread.
#include "ag/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {

namespace detail {
namespace {
std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}
double to_ms(std::uint64_t ns) { return static_cast<double>(ns) * 1e-6; }
std::string bytes_str(std::size_t b) {
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (1u << 20)) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  if (b < (1u << 30)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1 << 20));
  return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1 << 30));
}
}  // namespace
}  // namespace detail

// The Profiler's state is the engine's observer on the profiling thread (detail::TapeObserver).
struct Profiler::State final : detail::TapeObserver {
  struct Frame {
    std::string_view op;
    std::uint64_t start;
    std::uint64_t child_ns = 0;  // time spent in ops called inside this one
    bool counted;                // false inside a VJP: that time belongs to the backward
  };
  std::unordered_map<std::string, OpProfile> ops;
  std::vector<Frame> stack;
  int in_backward = 0;
  std::size_t tape_bytes = 0, tape_nodes = 0, peak_bytes = 0, peak_nodes = 0;
  std::uint64_t start_ns = 0, stop_ns = 0;
  bool active = false;

  OpProfile& at(std::string_view op) {
    auto it = ops.find(std::string(op));
    if (it == ops.end()) {
      it = ops.emplace(std::string(op), OpProfile{}).first;
      it->second.op = std::string(op);
    }
    return it->second;
  }

  void op_enter(const char* op) noexcept override {
    try {
      stack.push_back({op, detail::now_ns(), 0, in_backward == 0});
    } catch (...) {  // out of memory while profiling: drop the sample rather than fail the op
    }
  }

  void op_exit() noexcept override {
    if (stack.empty()) return;
    const auto f = stack.back();
    stack.pop_back();
    const std::uint64_t elapsed = detail::now_ns() - f.start;
    if (!stack.empty()) stack.back().child_ns += elapsed;
    if (!f.counted) return;
    try {
      OpProfile& p = at(f.op);
      ++p.forward_calls;
      p.forward_total_ms += detail::to_ms(elapsed);
      p.forward_self_ms += detail::to_ms(elapsed - std::min(elapsed, f.child_ns));
    } catch (...) {
    }
  }

  void recorded(detail::Node& n, const Tensor& out) override {
    const std::size_t bytes = out.numel() * dtype_size(out.dtype());
    OpProfile& p = at(n.op);
    ++p.recorded;
    p.recorded_bytes += bytes;
    n.profiled_bytes = bytes ? bytes : 1;  // nonzero: "counted" (a 0-size output counts as 1 byte)
    tape_bytes += n.profiled_bytes;
    ++tape_nodes;
    peak_bytes = std::max(peak_bytes, tape_bytes);
    peak_nodes = std::max(peak_nodes, tape_nodes);
  }

  void node_freed(std::size_t bytes) noexcept override {
    tape_bytes -= std::min(tape_bytes, bytes);
    if (tape_nodes) --tape_nodes;
  }

  std::uint64_t vjp_begin() noexcept override {
    ++in_backward;
    return std::max<std::uint64_t>(detail::now_ns(), 1);
  }

  void vjp_end(const char* op, std::uint64_t start) noexcept override {
    --in_backward;
    try {
      OpProfile& p = at(op);
      ++p.backward_calls;
      p.backward_ms += detail::to_ms(detail::now_ns() - start);
    } catch (...) {
    }
  }
};

Profiler::Profiler() : state_(std::make_unique<State>()) {
  if (detail::observer)
    throw ValueError("Profiler: a Profiler is already active on this thread (stop it first)");
  state_->active = true;
  state_->start_ns = detail::now_ns();
  detail::observer = state_.get();
}

Profiler::~Profiler() { stop(); }

void Profiler::stop() {
  if (!state_->active) return;
  state_->active = false;
  state_->stop_ns = detail::now_ns();
  if (detail::observer == state_.get()) detail::observer = nullptr;
}

std::vector<OpProfile> Profiler::ops() const {
  std::vector<OpProfile> r;
  for (const auto& [name, p] : state_->ops) r.push_back(p);
  std::sort(r.begin(), r.end(), [](const OpProfile& a, const OpProfile& b) {
    const double ta = a.forward_self_ms + a.backward_ms, tb = b.forward_self_ms + b.backward_ms;
    return ta != tb ? ta > tb : a.op < b.op;
  });
  return r;
}

std::size_t Profiler::peak_tape_bytes() const { return state_->peak_bytes; }
std::size_t Profiler::peak_tape_nodes() const { return state_->peak_nodes; }
double Profiler::elapsed_ms() const {
  return detail::to_ms((state_->active ? detail::now_ns() : state_->stop_ns) - state_->start_ns);
}

std::string Profiler::table() const {
  const auto rows = ops();
  std::size_t w = 2;
  for (const auto& p : rows) w = std::max(w, p.op.size());
  std::string s = fmt::format("{:<{}}  {:>9}  {:>11}  {:>12}  {:>9}  {:>10}  {:>8}  {:>12}\n", "op", w,
                              "fwd calls", "fwd self ms", "fwd total ms", "bwd calls", "bwd ms",
                              "recorded", "output bytes");
  OpProfile total;
  for (const auto& p : rows) {
    s += fmt::format("{:<{}}  {:>9}  {:>11.3f}  {:>12.3f}  {:>9}  {:>10.3f}  {:>8}  {:>12}\n", p.op, w,
                     p.forward_calls, p.forward_self_ms, p.forward_total_ms, p.backward_calls,
                     p.backward_ms, p.recorded, detail::bytes_str(p.recorded_bytes));
    total.forward_calls += p.forward_calls;
    total.forward_self_ms += p.forward_self_ms;
    total.backward_calls += p.backward_calls;
    total.backward_ms += p.backward_ms;
    total.recorded += p.recorded;
    total.recorded_bytes += p.recorded_bytes;
  }
  s += fmt::format("{:<{}}  {:>9}  {:>11.3f}  {:>12}  {:>9}  {:>10.3f}  {:>8}  {:>12}\n", "total", w,
                   total.forward_calls, total.forward_self_ms, "", total.backward_calls, total.backward_ms,
                   total.recorded, detail::bytes_str(total.recorded_bytes));
  s += fmt::format("wall time {:.3f} ms; peak tape memory {} in {} live nodes (op outputs they hold)\n",
                   elapsed_ms(), detail::bytes_str(state_->peak_bytes), state_->peak_nodes);
  return s;
}

}  // namespace ag
