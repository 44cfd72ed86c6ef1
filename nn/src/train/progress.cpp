// Console progress bar and value formatting.
#include "ag/nn/train/progress.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

#include <unistd.h>

#include <fmt/core.h>

namespace ag::nn {

bool stdout_is_terminal() { return ::isatty(::fileno(stdout)) == 1; }

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

ProgressBar::ProgressBar(std::ostream& out, std::size_t total, std::string prefix, std::size_t width)
    : out_(out), total_(total), width_(width), prefix_(std::move(prefix)), start_(Clock::now()),
      last_draw_(start_) {}

std::string ProgressBar::render(std::size_t done, double elapsed, bool final,
                                const std::string& suffix) const {
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const auto filled = static_cast<std::size_t>(frac * static_cast<double>(width_));
  std::string bar(width_, '.');
  for (std::size_t i = 0; i < filled && i < width_; ++i) bar[i] = '=';
  if (filled < width_ && done > 0) bar[filled] = '>';
  std::string time;
  if (final) {
    time = format_elapsed(elapsed);
  } else {
    // ETA: the mean time per step so far times the steps left.
    const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : NAN;
    time = "ETA " + format_duration(eta);
  }
  std::string line = fmt::format("{} [{}] {}/{} - {}", prefix_, bar, done, total_, time);
  if (!suffix.empty()) line += " - " + suffix;
  return line;
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
