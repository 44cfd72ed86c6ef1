#pragma once
// A tiny SVG writer for the examples: shapes, text, and a line chart of training curves.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>

namespace svg {

class Document {
 public:
  Document(double width, double height) : width_(width), height_(height) {}
  void rect(double x, double y, double w, double h, const std::string& fill,
            const std::string& extra = "") {
    body_ += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
                         "fill=\"{}\" {}/>\n", x, y, w, h, fill, extra);
  }
  void circle(double cx, double cy, double r, const std::string& fill, const std::string& stroke) {
    body_ += fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"{:.2f}\" fill=\"{}\" "
                         "stroke=\"{}\" stroke-width=\"0.8\"/>\n", cx, cy, r, fill, stroke);
  }
  void line(double x1, double y1, double x2, double y2, const std::string& stroke, double width = 1,
            const std::string& extra = "") {
    body_ += fmt::format("<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" "
                         "stroke=\"{}\" stroke-width=\"{}\" {}/>\n", x1, y1, x2, y2, stroke, width, extra);
  }
  void polyline(const std::vector<std::pair<double, double>>& pts, const std::string& stroke,
                double width = 1.5) {
    std::string p;
    for (const auto& [x, y] : pts) p += fmt::format("{:.2f},{:.2f} ", x, y);
    body_ += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>\n",
                         p, stroke, width);
  }
  void text(double x, double y, const std::string& s, double size = 12,
            const std::string& anchor = "start", const std::string& fill = "#222") {
    body_ += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" font-family=\"sans-serif\" "
                         "font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\">{}</text>\n",
                         x, y, size, anchor, fill, s);
  }
  void save(const std::string& path) const {
    std::ofstream f(path);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                     "viewBox=\"0 0 {0} {1}\">\n", width_, height_)
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << body_ << "</svg>\n";
    if (!f) throw std::runtime_error("error writing " + path);
  }

 private:
  double width_, height_;
  std::string body_;
};

struct Series {
  std::string name;
  std::vector<double> values;  // one per epoch
  std::string color;
};

// A line chart of per-epoch values in the box (x, y, w, h): axes, ticks, legend, and a dashed
// vertical line at `mark_epoch` (1-based; 0 = none) labelled `mark_label`. The x axis counts
// x_first, x_first + 1, ... (epochs from 1 by default; years for a time series).
inline void line_chart(Document& d, double x, double y, double w, double h,
                       const std::string& title, const std::vector<Series>& series,
                       std::size_t mark_epoch = 0, const std::string& mark_label = "",
                       const std::string& x_label = "epoch", long x_first = 1) {
  const double left = x + 50, right = x + w - 10, top = y + 28, bottom = y + h - 36;
  std::size_t n = 1;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series) {
    n = std::max(n, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  lo = std::min(lo, 0.0);
  if (hi - lo < 1e-12) hi = lo + 1;
  auto px = [&](double i) { return left + (n > 1 ? i / double(n - 1) : 0.5) * (right - left); };
  auto py = [&](double v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); };

  d.text(x + w / 2, y + 16, title, 14, "middle");
  d.line(left, bottom, right, bottom, "#444");
  d.line(left, top, left, bottom, "#444");
  for (int k = 0; k <= 4; ++k) {  // y ticks
    const double v = lo + (hi - lo) * k / 4.0;
    d.line(left - 4, py(v), right, py(v), k ? "#ddd" : "#444");
    d.text(left - 6, py(v) + 4, fmt::format("{:.3g}", v), 10, "end");
  }
  const std::size_t step = std::max<std::size_t>(1, (n + 4) / 5);
  for (std::size_t i = 0; i < n; i += step) {  // x ticks: x_first .. x_first + n - 1
    d.line(px(double(i)), bottom, px(double(i)), bottom + 4, "#444");
    d.text(px(double(i)), bottom + 16, std::to_string(x_first + static_cast<long>(i)), 10, "middle");
  }
  d.text((left + right) / 2, bottom + 30, x_label, 11, "middle");
  if (mark_epoch >= 1 && mark_epoch <= n) {
    const double mx = px(double(mark_epoch - 1));
    d.line(mx, top, mx, bottom, "#888", 1, "stroke-dasharray=\"4,3\"");
    const bool right_half = mx > (left + right) / 2;  // label on the side with room
    d.text(right_half ? mx - 4 : mx + 4, bottom - 8, mark_label, 10, right_half ? "end" : "start", "#555");
  }
  double ly = top + 4;
  for (const auto& s : series) {
    std::vector<std::pair<double, double>> pts;
    for (std::size_t i = 0; i < s.values.size(); ++i)
      if (std::isfinite(s.values[i])) pts.emplace_back(px(double(i)), py(s.values[i]));
    d.polyline(pts, s.color);
    d.line(right - 110, ly, right - 90, ly, s.color, 2);
    d.text(right - 85, ly + 4, s.name, 11);
    ly += 16;
  }
}

}  // namespace svg
