#pragma once
// A profiler scope: per op type, how often it ran and how long its forward and backward took,
// and how much memory the tape held. It profiles the thread that created it.
//
//   ag::Profiler prof;                 // starts
//   model.fit(...);
//   prof.stop();
//   std::cout << prof.table();         // sorted by forward self time + backward time
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace ag {

struct OpProfile {
  std::string op;
  std::size_t forward_calls = 0;   // forwards run (ops run inside a VJP count as its backward)
  double forward_self_ms = 0;      // forward time without the ops it called
  double forward_total_ms = 0;     // forward time including them
  std::size_t recorded = 0;        // nodes put on the tape
  std::size_t recorded_bytes = 0;  // bytes of those nodes' outputs
  std::size_t backward_calls = 0;
  double backward_ms = 0;          // VJP time, including the ops the VJP runs
};

class Profiler {
 public:
  Profiler();  // starts profiling this thread; ValueError if a Profiler is already active on it
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  void stop();  // ends the recording (idempotent); results stay readable
  std::vector<OpProfile> ops() const;  // sorted by forward_self_ms + backward_ms, largest first
  // Tape memory while profiling: the peak of the bytes of op outputs held by live tape nodes
  // recorded during the profile, and the peak number of such nodes.
  std::size_t peak_tape_bytes() const;
  std::size_t peak_tape_nodes() const;
  double elapsed_ms() const;  // wall time from start to stop (or to now)
  std::string table() const;  // the ops() table plus totals and tape memory

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace ag
