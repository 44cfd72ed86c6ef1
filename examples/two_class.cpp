// Two classes in 2-D, as in the backprop tutorial: red and green points, one sigmoid output neuron
// giving P(green), binary log-loss. Writes the points and the learned decision boundary
// (P(green) = 0.5) over a shaded background of P(green) as an SVG picture.
//
//   two_class [output.svg]      (default: two_class.svg in the current directory)
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "tutorial.hpp"
#include "svg.hpp"

namespace {

constexpr double kLo = -1.1, kHi = 1.1;  // the plotted square
constexpr std::size_t kGrid = 50;        // cells per side for the background and the contour

// Line segments where the grid values cross `level` (marching squares). v has (n+1)² node values,
// v[i * (n+1) + j] at x = x(i), y = y(j). Segments in grid coordinates (i, j as doubles).
std::vector<std::pair<std::pair<double, double>, std::pair<double, double>>> contour(
    const std::vector<double>& v, std::size_t n, double level) {
  auto at = [&](std::size_t i, std::size_t j) { return v[i * (n + 1) + j] - level; };
  std::vector<std::pair<std::pair<double, double>, std::pair<double, double>>> segments;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      // corners in order around the cell, and the crossing on each edge (linear interpolation)
      const double c[4][3] = {{double(i), double(j), at(i, j)},
                              {double(i + 1), double(j), at(i + 1, j)},
                              {double(i + 1), double(j + 1), at(i + 1, j + 1)},
                              {double(i), double(j + 1), at(i, j + 1)}};
      std::vector<std::pair<double, double>> cross;
      for (int e = 0; e < 4; ++e) {
        const double* a = c[e];
        const double* b = c[(e + 1) % 4];
        if ((a[2] < 0) != (b[2] < 0)) {
          const double t = a[2] / (a[2] - b[2]);
          cross.emplace_back(a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]));
        }
      }
      for (std::size_t k = 0; k + 1 < cross.size(); k += 2) segments.emplace_back(cross[k], cross[k + 1]);
    }
  return segments;
}

}  // namespace

int main(int argc, char** argv) {
  namespace nn = ag::nn;
  const std::string out = argc > 1 ? argv[1] : "two_class.svg";
  fmt::print("Two classes: green points inside the circle r = 0.6, red ones outside\n");
  fmt::print("network 2 -> 16 (tanh) -> 1 -> sigmoid = P(green), binary log-loss, Adam, batches of 16\n\n");

  const tutorial::TwoClassRun r = tutorial::run_two_class(nn::Verbosity::automatic);
  fmt::print("\ntraining accuracy {:.4f} on {} points\n", r.accuracy, r.data.size());

  // P(green) on the grid nodes, one batch.
  const std::size_t m = kGrid + 1;
  xt::xarray<float> grid = xt::xarray<float>::from_shape({m * m, std::size_t{2}});
  auto coord = [](std::size_t k) { return kLo + (kHi - kLo) * double(k) / double(kGrid); };
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < m; ++j) {
      grid(i * m + j, 0) = static_cast<float>(coord(i));
      grid(i * m + j, 1) = static_cast<float>(coord(j));
    }
  const auto p = nn::predict(*r.model, ag::Tensor(std::move(grid))).to_xarray<double>();
  std::vector<double> prob(p.begin(), p.end());

  // Picture: 500×500 px plot, y up.
  const double size = 500, margin = 30;
  svg::Document d(size + 2 * margin, size + 2 * margin + 30);
  auto sx = [&](double x) { return margin + (x - kLo) / (kHi - kLo) * size; };
  auto sy = [&](double y) { return margin + 30 + (kHi - y) / (kHi - kLo) * size; };
  d.text(margin + size / 2, 22, "two_class: P(green) and the decision boundary P = 0.5", 15, "middle");
  const double cell = size / kGrid;
  for (std::size_t i = 0; i < kGrid; ++i)
    for (std::size_t j = 0; j < kGrid; ++j) {
      // mean of the cell's corners: red (P = 0) to green (P = 1), pale
      const double q = 0.25 * (prob[i * m + j] + prob[(i + 1) * m + j] + prob[i * m + j + 1] +
                               prob[(i + 1) * m + j + 1]);
      const int rr = int(255 - 45 * q), gg = int(210 + 45 * q), bb = 210;
      d.rect(sx(coord(i)), sy(coord(j + 1)), cell + 0.3, cell + 0.3, fmt::format("rgb({},{},{})", rr, gg, bb));
    }
  // The true circle (dashed) and the learned boundary (solid).
  std::vector<std::pair<double, double>> circle;
  for (int k = 0; k <= 120; ++k)
    circle.emplace_back(sx(0.6 * std::cos(k * M_PI / 60)), sy(0.6 * std::sin(k * M_PI / 60)));
  d.polyline(circle, "#666", 1);
  for (const auto& [a, b] : contour(prob, kGrid, 0.5))
    d.line(sx(coord(0) + a.first * (kHi - kLo) / kGrid), sy(coord(0) + a.second * (kHi - kLo) / kGrid),
           sx(coord(0) + b.first * (kHi - kLo) / kGrid), sy(coord(0) + b.second * (kHi - kLo) / kGrid),
           "#000", 2, "stroke-linecap=\"round\"");
  const auto x = r.data.x().to_xarray<double>();
  const auto y = r.data.y().to_xarray<double>();
  for (std::size_t i = 0; i < r.data.size(); ++i) {
    const bool green = y(i, 0) > 0.5;
    d.circle(sx(x(i, 0)), sy(x(i, 1)), 3.5, green ? "#2ca02c" : "#d62728", "#fff");
  }
  d.text(margin + 4, size + 2 * margin + 24,
         fmt::format("training accuracy {:.3f}; grey: true circle r = 0.6; black: learned P = 0.5", r.accuracy), 11);
  d.save(out);
  fmt::print("wrote {} (points, shaded P(green), decision boundary)\n", out);
  return r.accuracy >= 0.95 ? 0 : 1;
}
