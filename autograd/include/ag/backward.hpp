#pragma once
// Running the tape: grad mode (what gets recorded), anomaly mode, backward() and ag::grad().
#include <atomic>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "ag/tensor.hpp"

namespace ag {

// ---- grad mode (thread-local) -----------------------------------------------------------------
bool is_grad_enabled() noexcept;
void set_grad_enabled(bool on) noexcept;

class NoGradGuard {  // RAII: nothing is recorded inside its scope
 public:
  NoGradGuard() noexcept : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

class EnableGradGuard {  // RAII: recording on again (e.g. inside a NoGradGuard)
 public:
  EnableGradGuard() noexcept : prev_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;
 private:
  bool prev_;
};

template <class F> auto no_grad(F&& f) {  // runs f with recording off
  NoGradGuard guard;
  return std::forward<F>(f)();
}

// ---- anomaly mode (process-wide, like PyTorch's) --------------------------------------------------
// On: every op's forward output (recorded or not), every gradient a VJP or hook returns and every
// given grad_output is checked for NaN/Inf; the first one raises AnomalyError naming the op, its
// tape position (#n: the n-th op recorded on this thread), the shapes and the op (or leaf) that
// produced each input. Off (the default): one relaxed atomic load per op, nothing else.
bool is_anomaly_enabled() noexcept;
void set_detect_anomaly(bool on) noexcept;  // the global switch

namespace detail {
extern std::atomic<unsigned> anomaly_state;  // bit 0: the switch; + 2 per live DetectAnomalyGuard
inline bool anomaly_on() noexcept { return anomaly_state.load(std::memory_order_relaxed) != 0; }
// Throws AnomalyError if `out` has a NaN/Inf (op not recorded: no tape position to report).
void check_forward_anomaly(const char* op, const Tensor* inputs, std::size_t n, const Tensor& out);
}  // namespace detail

class DetectAnomalyGuard {  // RAII: anomaly mode on inside its scope (on every thread)
 public:
  DetectAnomalyGuard() noexcept { detail::anomaly_state.fetch_add(2, std::memory_order_relaxed); }
  ~DetectAnomalyGuard() { detail::anomaly_state.fetch_sub(2, std::memory_order_relaxed); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;
};

// ---- backward ---------------------------------------------------------------------------------
// Accumulates d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every reached leaf's .grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Returns d(outputs)/d(inputs) without touching any .grad. retain_graph defaults to create_graph.
// An input the outputs do not depend on is an error unless allow_unused (then: undefined Tensor).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

// Introspection of this thread's tape (for tests and memory checks). A node counts on the thread
// that recorded it until it is freed, on whichever thread that happens.
std::size_t live_node_count() noexcept;  // nodes recorded on this thread that are still alive
std::size_t tape_size() noexcept;        // = live_node_count() (the tape keeps no slots for freed nodes)

}  // namespace ag
