#pragma once
// Console progress for training: a redrawn bar with ETA on a terminal, or plain lines.
#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

namespace ag::nn {

bool stdout_is_terminal();  // isatty(stdout)

// The width in columns of the terminal on file descriptor `fd` (TIOCGWINSZ) when it is one; else
// the COLUMNS environment variable when it is a positive number; else 80.
std::size_t terminal_width(int fd);

// "0:07", "12:03", "1:02:03" (seconds rounded up, so a running ETA never shows 0:00 too early).
std::string format_duration(double seconds);
// An elapsed time: "8ms" below a second, "3.25s" below a minute, then format_duration.
std::string format_elapsed(double seconds);
// Loss/metric values: 4 decimals, or 3 significant digits in exponent form below 1e-3.
std::string format_value(double v);

// "prefix [=========>..........] 12/40 - ETA 0:03 - suffix", redrawn in place with '\r'.
// update() redraws at most every 100 ms (and always at the last step); finish() draws the final
// state with the elapsed time instead of the ETA and ends the line.
// A redrawn frame never takes more than line_width - 1 columns (a wrapped line leaves a stale copy
// at every redraw): the bar shrinks (down to 10 columns), then goes; then the suffix's
// " - "-separated fields are dropped from the end, keeping the first (the loss); then the time; a
// prefix too long even then is cut. The final frame (finish) is not redrawn: it loses only the
// bar, keeps every value and may wrap. line_width 0: terminal_width() of `out` when it is
// std::cout (stdout) or std::cerr/std::clog (stderr); for any other stream COLUMNS, else 80.
class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::size_t total, std::string prefix, std::size_t bar_width = 30,
              std::size_t line_width = 0);
  void update(std::size_t done, const std::string& suffix);
  bool due(std::size_t done) const;  // would update() draw now? (skip building the suffix if not)
  void finish(const std::string& suffix);
  // The text of one frame (no '\r'), for tests: done of total with elapsed seconds.
  std::string render(std::size_t done, double elapsed, bool final, const std::string& suffix) const;

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  std::size_t total_, bar_width_, line_width_;
  std::string prefix_;
  Clock::time_point start_, last_draw_;
  bool drawn_ = false;
  std::size_t last_len_ = 0;  // to blank out a longer previous frame
};

}  // namespace ag::nn
