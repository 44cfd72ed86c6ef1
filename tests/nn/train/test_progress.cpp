// The progress bar's frames and the duration and value formats.
#include <sstream>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

TEST_CASE("ProgressBar frames, durations and values") {
  std::ostringstream os;
  nn::ProgressBar bar(os, 10, "epoch 1/2", 10);
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
