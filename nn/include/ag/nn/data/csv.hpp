#pragma once
// A small CSV reader for numeric feature tables with one label column.
//
//   nn::CsvOptions o;
//   o.label = "city";                                   // the label column, by header name
//   nn::CsvTable t = nn::read_csv("data/cities.csv", o);  // t.x [rows, features], t.labels
//   nn::LabelEncoder enc;  auto y = ag::one_hot(enc.fit_transform(t.labels), enc.num_classes());
//
// Format: one record per line, cells separated by `delimiter`, surrounding spaces trimmed. A cell
// may be double-quoted ("New York, NY"; a doubled "" inside quotes is one quote character); quoted
// cells cannot span lines. Blank lines are skipped and CRLF line ends accepted. Every feature
// cell must be a number (strtod syntax, plus nan/inf); the label cell is kept as a string. The
// text is UTF-8; a UTF-8 byte-order mark (EF BB BF) at the start is skipped.
//
// Errors are ag::IOError naming the file and the line (and the column, 1-based, with its header
// name when there is one): a missing/unreadable file, an empty file, a row with a different number
// of cells than the first one (ragged), a non-numeric or empty feature cell, an unterminated quote,
// an unknown label column. Before parsing, the first 8 KiB are checked, so a file that is not CSV
// text is refused as such: gzip-compressed (starts 1f 8b), a zip archive (starts "PK"), UTF-16
// (a byte-order mark FF FE / FE FF), binary (a NUL byte) or not UTF-8 (an invalid UTF-8 sequence).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "ag/ag.hpp"

namespace ag::nn {

struct CsvOptions {
  char delimiter = ',';
  bool header = true;          // the first line (after skip_lines) names the columns
  std::size_t skip_lines = 0;  // lines ignored at the top of the file (before the header)
  // The label column, by header name, or by position (0-based; negative counts from the end, so
  // -1 is the last column). Neither set: every column is a feature and there are no labels.
  std::string label;
  std::optional<long> label_index;
  DType dtype = f32;
};

struct CsvTable {
  std::string path;
  std::vector<std::string> feature_names;  // header names (or "col<k>", 1-based, without header)
  std::string label_name;                  // empty without a label column
  Tensor x;                                // [rows, features]
  std::vector<std::string> labels;         // one per row (empty without a label column)
  std::vector<std::size_t> label_lines;    // the line number of each row, for error messages
  std::size_t label_column = 0;            // 1-based column of the label (0: none)
  std::size_t rows() const { return x.defined() ? x.shape()[0] : 0; }
  // The labels parsed as numbers, [rows, 1] in `dtype` (regression targets). A non-numeric label
  // is an IOError naming the file, line and column.
  Tensor numeric_labels(DType dtype = f32) const;
};

CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

// Splits one CSV line into trimmed cells (quotes removed). `where` names the file and line for the
// IOError on an unterminated quote. Exposed for tests.
std::vector<std::string> split_csv_line(const std::string& line, char delimiter,
                                        const std::string& where);

}  // namespace ag::nn
