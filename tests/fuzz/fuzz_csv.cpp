// libFuzzer target: the CSV reader (ag/nn/csv.hpp). Every input must give a consistent table or
// ag::IOError (the documented error); anything else is a finding.
// Input: a 4-byte options prefix (csv_options.hpp), then the file.
#include <cmath>
#include <cstdint>
#include <exception>

#include "ag/nn/csv.hpp"
#include "csv_options.hpp"
#include "fuzz_util.hpp"

namespace nn = ag::nn;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::MemFile file;
  const nn::CsvOptions o = fuzz::csv_options(data, size);
  file.assign(data, size);
  try {
    const nn::CsvTable t = nn::read_csv(file.path(), o);
    const std::size_t rows = t.rows();
    if (rows == 0) fuzz::violated("read_csv", "a table without rows");
    if (t.x.dtype() != o.dtype) fuzz::violated("read_csv", "wrong dtype");
    if (t.x.dim() != 2 || t.x.shape()[1] != t.feature_names.size())
      fuzz::violated("read_csv", "x does not have one column per feature name");
    const bool labelled = !o.label.empty() || o.label_index.has_value();
    if (labelled != (t.label_column != 0)) fuzz::violated("read_csv", "label column flag");
    if (labelled && (t.labels.size() != rows || t.label_lines.size() != rows))
      fuzz::violated("read_csv", "one label per row");
    if (!labelled && !t.labels.empty()) fuzz::violated("read_csv", "labels without a label column");
    if (labelled) {
      try {
        const ag::Tensor y = t.numeric_labels(ag::f64);
        if (y.shape() != ag::Shape{rows, 1}) fuzz::violated("numeric_labels", "shape");
      } catch (const ag::IOError&) {
      }
    }
  } catch (const ag::IOError&) {
  } catch (const std::exception& e) {
    fuzz::unexpected("read_csv", e.what());
  }
  return 0;
}
