#pragma once
// fmt support. fmt::format("{}", t) prints like operator<<; a float format spec is applied to
// every element, and rank >= 2 prints one row per line with aligned columns:
//   fmt::format("{:.2f}", t)   // t = [[1, 2, 3], [4, 5, 6]], float64
//   tensor([[1.00, 2.00, 3.00],
//           [4.00, 5.00, 6.00]], shape=[2, 3], dtype=float64)
// The spec is fmt's spec for a double: [[fill]align][sign][#][0][width][.precision][type] with
// type one of a A e E f F g G (or none); anything else ({:d}, {:s}, nested {:{}}) throws
// fmt::format_error. More than 200 elements print the first and last 3 of each axis with "...".
#include <algorithm>
#include <string>
#include <string_view>

#include <fmt/ostream.h>

#include "ag/tensor.hpp"

namespace ag {
// The text of operator<<, every element formatted with the fmt spec `spec` ("" = the default
// text). An invalid spec throws fmt::format_error.
std::string format_tensor(const Tensor& t, std::string_view spec = {});
}  // namespace ag

template <> struct fmt::formatter<ag::Tensor> {
  fmt::string_view spec_;  // points into the format string, which outlives format()

  template <class ParseContext> constexpr auto parse(ParseContext& ctx) -> decltype(ctx.begin()) {
    const auto begin = ctx.begin();
    auto end = begin;
    while (end != ctx.end() && *end != '}') {
      if (*end == '{') ctx.on_error("ag::Tensor: nested format arguments ({:{}}) are not supported");
      ++end;
    }
    fmt::formatter<double> element;  // validates the spec as a double's: {:d} is a format_error
    end = element.parse(ctx);
    spec_ = fmt::string_view(begin, static_cast<std::size_t>(end - begin));
    return end;
  }

  template <class FormatContext> auto format(const ag::Tensor& t, FormatContext& ctx) const {
    const std::string s = ag::format_tensor(t, std::string_view(spec_.data(), spec_.size()));
    return std::copy(s.begin(), s.end(), ctx.out());
  }
};
template <> struct fmt::formatter<ag::DType> : fmt::ostream_formatter {};
