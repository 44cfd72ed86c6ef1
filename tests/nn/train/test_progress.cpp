// The progress bar's frames, their fit to the terminal's width, and the duration and value formats.
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("ProgressBar frames, durations and values") {
  std::ostringstream os;
  nn::ProgressBar bar(os, 10, "epoch 1/2", 10, 80);
  CHECK(bar.render(5, 10.0, false, "loss 1.0000") == "epoch 1/2 [=====>....] 5/10 - ETA 0:10 - loss 1.0000");
  CHECK(bar.render(0, 0.0, false, "") == "epoch 1/2 [..........] 0/10 - ETA ?");
  CHECK(bar.render(10, 3.25, true, "") == "epoch 1/2 [==========] 10/10 - 3.25s");
  CHECK(bar.render(10, 0.0123, true, "") == "epoch 1/2 [==========] 10/10 - 12ms");
  CHECK(nn::format_elapsed(75) == "1:15");
  CHECK(nn::format_duration(0.2) == "0:01");
  CHECK(nn::format_duration(65) == "1:05");
  CHECK(nn::format_duration(3723) == "1:02:03");
  CHECK(nn::format_value(0.123456) == "0.1235");
  CHECK(nn::format_value(0.00012346) == "1.235e-04");
  CHECK(nn::format_value(0.0) == "0.0000");
}

namespace {

// Sets (or unsets, with nullopt) the COLUMNS environment variable for a scope.
struct ColumnsEnv {
  std::optional<std::string> saved;
  explicit ColumnsEnv(const std::optional<std::string>& value) {
    if (const char* c = std::getenv("COLUMNS")) saved = c;
    if (value) ::setenv("COLUMNS", value->c_str(), 1);
    else ::unsetenv("COLUMNS");
  }
  ~ColumnsEnv() {
    if (saved) ::setenv("COLUMNS", saved->c_str(), 1);
    else ::unsetenv("COLUMNS");
  }
};

}  // namespace

// Issue 14 item 15: the ~120-column bar wrapped at every redraw in an 80-column terminal.
TEST_CASE("ProgressBar frames fit the line width: the bar shrinks, then goes, then fields go") {
  std::ostringstream os;
  const std::string suffix = "loss 0.1235 - accuracy 0.9688 - mse 0.0123";
  auto frame = [&](std::size_t width) {
    nn::ProgressBar bar(os, 40, "epoch  3/10", 30, width);
    const std::string f = bar.render(12, 3.0, false, suffix);  // ETA: 3 s / 12 steps * 28 left
    INFO("width " << width << ": '" << f << "'");
    CHECK(f.size() <= width - 1);
    CHECK(contains(f, "epoch  3/10"));
    CHECK(contains(f, " 12/40"));
    CHECK(contains(f, "loss 0.1235"));
    return f;
  };
  CHECK(frame(120) ==
        "epoch  3/10 [=========>....................] 12/40 - ETA 0:07 - loss 0.1235 - accuracy 0.9688 - mse 0.0123");
  // 99 columns: the bar shrinks to 23
  CHECK(frame(100) == "epoch  3/10 [======>................] 12/40 - ETA 0:07 - loss 0.1235 - accuracy 0.9688 - mse 0.0123");
  // no room for a 10-column bar: it goes, every value stays
  CHECK(frame(80) == "epoch  3/10 12/40 - ETA 0:07 - loss 0.1235 - accuracy 0.9688 - mse 0.0123");
  CHECK(frame(60) == "epoch  3/10 12/40 - ETA 0:07 - loss 0.1235");  // the metrics after the loss go
  CHECK(frame(40) == "epoch  3/10 12/40 - loss 0.1235");               // then the ETA
  // narrower than the essentials: cut, but still never wider than the line
  nn::ProgressBar tiny(os, 40, "epoch  3/10", 30, 10);
  CHECK(tiny.render(12, 3.0, false, suffix) == "epoch  3/");

  // The final frame is not redrawn: it drops the bar but keeps every value (it may wrap).
  nn::ProgressBar last(os, 40, "epoch  3/10", 30, 40);
  CHECK(last.render(40, 75.0, true, suffix + " - val_loss 0.2000") ==
        "epoch  3/10 40/40 - 1:15 - loss 0.1235 - accuracy 0.9688 - mse 0.0123 - val_loss 0.2000");
  nn::ProgressBar last_wide(os, 40, "epoch  3/10", 30, 120);
  CHECK(last_wide.render(40, 75.0, true, "loss 0.1235") == "epoch  3/10 [==============================] 40/40 - 1:15 - loss 0.1235");
}

TEST_CASE("ProgressBar::update redraws within the width and blanks out a longer frame") {
  std::ostringstream os;
  nn::ProgressBar bar(os, 4, "e 1/1", 30, 80);
  bar.update(1, "loss 1.0000 - accuracy 0.5000");  // the first frame is always drawn
  const std::string first = os.str();
  // "\re 1/1 [======>.................] 1/4 - ETA 0:01 - loss 1.0000 - accuracy 0.5000": the bar
  // shrinks from 30 to 24 columns to keep the frame at 79
  CHECK(first.size() == 1 + 79);
  CHECK(first.rfind("\re 1/1 [======>.................] 1/4 - ETA ", 0) == 0);
  CHECK(contains(first, " - loss 1.0000 - accuracy 0.5000"));
  bar.finish("loss 0.5000");
  const std::string fin = os.str().substr(first.size());
  // '\r', the shorter final frame padded with spaces to the first one's 79 columns, '\n'
  CHECK(fin.size() == 1 + 79 + 1);
  CHECK(fin.rfind("\re 1/1 [==============================] 4/4 - ", 0) == 0);
  CHECK(contains(fin, " - loss 0.5000 "));
  CHECK(fin.back() == '\n');
}

TEST_CASE("terminal_width: a terminal's width, else COLUMNS, else 80") {
  const int devnull = ::open("/dev/null", O_WRONLY);
  REQUIRE(devnull >= 0);  // not a terminal
  {
    ColumnsEnv env(std::string("57"));
    CHECK(nn::terminal_width(devnull) == 57);
    CHECK(nn::terminal_width(-1) == 57);
    // a bar on a stream that is not std::cout/std::cerr takes COLUMNS
    std::ostringstream os;
    nn::ProgressBar bar(os, 40, "epoch 1/1", 30);
    CHECK(bar.render(12, 3.0, false, "loss 0.1235 - accuracy 0.9688").size() <= 56);
  }
  {
    ColumnsEnv env(std::nullopt);
    CHECK(nn::terminal_width(devnull) == 80);
  }
  for (const char* bad : {"", "0", "abc", "80x", "-5"}) {
    ColumnsEnv env{std::string(bad)};  // (braces: with parentheses this declared a function)
    CHECK_MESSAGE(nn::terminal_width(devnull) == 80, "COLUMNS='" << bad << "'");
  }
  ::close(devnull);
}
