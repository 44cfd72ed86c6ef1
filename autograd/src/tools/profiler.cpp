// The profiler: op scopes (forward), VJP timings (backward) and tape memory, per thread.
#include "ag/profiler.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "core/engine.hpp"
#include "core/internal.hpp"

namespace ag {

struct Profiler::State {
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
};

namespace detail {
thread_local bool profiling = false;
namespace {
thread_local Profiler::State* active = nullptr;

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

void profile_enter(const char* op) noexcept {
  if (!active) return;
  try {
    active->stack.push_back({op, now_ns(), 0, active->in_backward == 0});
  } catch (...) {  // out of memory while profiling: drop the sample rather than fail the op
  }
}

void profile_exit() noexcept {
  if (!active || active->stack.empty()) return;
  const auto f = active->stack.back();
  active->stack.pop_back();
  const std::uint64_t elapsed = now_ns() - f.start;
  if (!active->stack.empty()) active->stack.back().child_ns += elapsed;
  if (!f.counted) return;
  try {
    OpProfile& p = active->at(f.op);
    ++p.forward_calls;
    p.forward_total_ms += to_ms(elapsed);
    p.forward_self_ms += to_ms(elapsed - std::min(elapsed, f.child_ns));
  } catch (...) {
  }
}

void profile_recorded(Node& n, const Tensor& out) {
  if (!active) return;
  const std::size_t bytes = out.numel() * (out.dtype() == f32 ? sizeof(float) : sizeof(double));
  OpProfile& p = active->at(n.op);
  ++p.recorded;
  p.recorded_bytes += bytes;
  n.profiled_bytes = bytes ? bytes : 1;  // nonzero: "counted" (a 0-size output counts as 1 byte)
  active->tape_bytes += n.profiled_bytes;
  ++active->tape_nodes;
  active->peak_bytes = std::max(active->peak_bytes, active->tape_bytes);
  active->peak_nodes = std::max(active->peak_nodes, active->tape_nodes);
}

void profile_node_freed(std::size_t bytes) noexcept {
  if (!active) return;  // recorded under a profiler that has stopped since
  active->tape_bytes -= std::min(active->tape_bytes, bytes);
  if (active->tape_nodes) --active->tape_nodes;
}

std::uint64_t profile_backward_begin() noexcept {
  if (!active) return 0;
  ++active->in_backward;
  return std::max<std::uint64_t>(now_ns(), 1);
}

void profile_backward_end(const char* op, std::uint64_t start) noexcept {
  if (!active || start == 0) return;
  --active->in_backward;
  try {
    OpProfile& p = active->at(op);
    ++p.backward_calls;
    p.backward_ms += to_ms(now_ns() - start);
  } catch (...) {
  }
}
}  // namespace detail

Profiler::Profiler() : state_(std::make_unique<State>()) {
  if (detail::active)
    throw ValueError("Profiler: a Profiler is already active on this thread (stop it first)");
  state_->active = true;
  state_->start_ns = detail::now_ns();
  detail::active = state_.get();
  detail::profiling = true;
}

Profiler::~Profiler() { stop(); }

void Profiler::stop() {
  if (!state_->active) return;
  state_->active = false;
  state_->stop_ns = detail::now_ns();
  if (detail::active == state_.get()) {
    detail::active = nullptr;
    detail::profiling = false;
  }
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
