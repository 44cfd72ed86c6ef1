// Console progress bar and value formatting.
#include "ag/nn/train/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <vector>

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/core.h>

namespace ag::nn {

bool stdout_is_terminal() { return ::isatty(::fileno(stdout)) == 1; }

std::size_t terminal_width(int fd) {
  winsize ws{};
  if (fd >= 0 && ::isatty(fd) == 1 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    char* end = nullptr;
    const unsigned long n = std::strtoul(c, &end, 10);
    if (end != c && *end == '\0' && n > 0 && n < 100000) return n;
  }
  return 80;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::ceil(seconds));
  const long long h = s / 3600, m = (s / 60) % 60, sec = s % 60;
  if (h > 0) return fmt::format("{}:{:02d}:{:02d}", h, m, sec);
  return fmt::format("{}:{:02d}", m, sec);
}

std::string format_elapsed(double seconds) {
  if (seconds < 1.0) return fmt::format("{:.0f}ms", seconds * 1e3);
  if (seconds < 60.0) return fmt::format("{:.2f}s", seconds);
  return format_duration(seconds);
}

std::string format_value(double v) {
  if (v != 0.0 && std::isfinite(v) && std::abs(v) < 1e-3) return fmt::format("{:.3e}", v);
  return fmt::format("{:.4f}", v);
}

namespace {

// The terminal behind a standard stream, or -1.
int stream_fd(const std::ostream& out) {
  if (&out == &std::cout) return STDOUT_FILENO;
  if (&out == &std::cerr || &out == &std::clog) return STDERR_FILENO;
  return -1;
}

// "a - b - c" -> {"a", "b", "c"}
std::vector<std::string> split_fields(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t b = 0;
  for (std::size_t e; (e = s.find(" - ", b)) != std::string::npos; b = e + 3) out.push_back(s.substr(b, e - b));
  out.push_back(s.substr(b));
  return out;
}

}  // namespace

ProgressBar::ProgressBar(std::ostream& out, std::size_t total, std::string prefix, std::size_t bar_width,
                         std::size_t line_width)
    : out_(out), total_(total), bar_width_(bar_width),
      line_width_(line_width ? line_width : terminal_width(stream_fd(out))), prefix_(std::move(prefix)),
      start_(Clock::now()), last_draw_(start_) {}

std::string ProgressBar::render(std::size_t done, double elapsed, bool final,
                                const std::string& suffix) const {
  std::string time;
  if (final) {
    time = format_elapsed(elapsed);
  } else {
    // ETA: the mean time per step so far times the steps left.
    const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : NAN;
    time = "ETA " + format_duration(eta);
  }
  const std::vector<std::string> fields = split_fields(suffix);

  // "prefix [bar] done/total - time - field - field ...", with a bar of `bar_width` (0: none),
  // the time or not, and the first `nfields` fields.
  auto line = [&](std::size_t bar_width, bool with_time, std::size_t nfields) {
    std::string s = prefix_;
    if (bar_width > 0) {
      const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
      const auto filled = static_cast<std::size_t>(frac * static_cast<double>(bar_width));
      std::string bar(bar_width, '.');
      for (std::size_t i = 0; i < filled && i < bar_width; ++i) bar[i] = '=';
      if (filled < bar_width && done > 0) bar[filled] = '>';
      s += " [" + bar + "]";
    }
    s += fmt::format(" {}/{}", done, total_);
    if (with_time) s += " - " + time;
    for (std::size_t i = 0; i < nfields; ++i) s += " - " + fields[i];
    return s;
  };

  // At most line_width - 1 columns: a line that fills the last column wraps on some terminals.
  const std::size_t limit = line_width_ > 0 ? line_width_ - 1 : 0;
  const std::size_t without_bar = line(0, true, fields.size()).size();
  const std::size_t min_bar = std::min<std::size_t>(bar_width_, 10);
  if (bar_width_ > 0 && without_bar + 3 + min_bar <= limit)  // " [" + bar + "]"
    return line(std::min(bar_width_, limit - without_bar - 3), true, fields.size());
  // The final frame is never redrawn, so wrapping it leaves no stale line: it keeps every value.
  if (final) return line(0, true, fields.size());
  // No room for a bar: drop the fields after the first (the loss), then the time.
  const std::size_t keep = std::min<std::size_t>(fields.size(), 1);
  for (std::size_t n = fields.size();; --n) {
    if (std::string s = line(0, true, n); s.size() <= limit) return s;
    if (n == keep) break;
  }
  std::string s = line(0, false, keep);
  if (s.size() > limit) s.resize(limit);  // an overlong prefix
  return s;
}

bool ProgressBar::due(std::size_t done) const {
  return !drawn_ || done >= total_ || Clock::now() - last_draw_ >= std::chrono::milliseconds(100);
}

void ProgressBar::update(std::size_t done, const std::string& suffix) {
  if (!due(done)) return;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const std::string line = render(done, elapsed, false, suffix);
  out_ << '\r' << line;
  if (line.size() < last_len_) out_ << std::string(last_len_ - line.size(), ' ');
  out_.flush();
  last_len_ = line.size();
  last_draw_ = now;
  drawn_ = true;
}

void ProgressBar::finish(const std::string& suffix) {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const std::string line = render(total_, elapsed, true, suffix);
  out_ << '\r' << line;
  if (line.size() < last_len_) out_ << std::string(last_len_ - line.size(), ' ');
  out_ << '\n';
  out_.flush();
  last_len_ = 0;
}

}  // namespace ag::nn
