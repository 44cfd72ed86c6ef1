// CSV reader: plain line-by-line parsing, no dependencies.
#include "ag/nn/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <utility>

#include <fmt/core.h>

namespace ag::nn {

namespace {

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

bool is_blank(const std::string& s) {
  for (char c : s)
    if (c != ' ' && c != '\t') return false;
  return true;
}

// Whole-cell number, locale independent (from_chars), with an optional leading '+'.
enum class Parse { ok, not_a_number, out_of_range };
Parse parse_number(const std::string& s, double& v) {
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  if (b == e) return Parse::not_a_number;
  auto [p, ec] = std::from_chars(b, e, v);
  if (p != e) return Parse::not_a_number;
  if (ec == std::errc::result_out_of_range) return Parse::out_of_range;  // e.g. 1e400
  return ec == std::errc() ? Parse::ok : Parse::not_a_number;
}
bool parse_double(const std::string& s, double& v) { return parse_number(s, v) == Parse::ok; }

// A cell quoted for an error message: control bytes as \xNN (a NUL would end what()), and at
// most 40 bytes of it.
std::string quoted(const std::string& cell) {
  std::string out = "'";
  for (std::size_t i = 0; i < cell.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(cell[i]);
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += cell[i];
  }
  return out + (cell.size() > 40 ? "'..." : "'");
}

// "'abc' is not a number", "empty cell", or "'1e400' is out of the range of a double".
std::string number_problem(const std::string& cell) {
  if (cell.empty()) return "empty cell is not a number";
  double v;
  if (parse_number(cell, v) == Parse::out_of_range)
    return fmt::format("{} is out of the range of a double", quoted(cell));
  return fmt::format("{} is not a number", quoted(cell));
}

// The offset of the first byte in s[0, n) that is not part of valid UTF-8 (overlong forms,
// surrogates and code points above U+10FFFF are invalid), or n. A sequence cut off by the end of
// the sample counts as valid when the file goes on (`more`).
std::size_t invalid_utf8(const unsigned char* s, std::size_t n, bool more) {
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    for (std::size_t k = 1; k < len; ++k) {
      if (i + k >= n) return more ? n : i;
      const unsigned char d = s[i + k];
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xBF)) return i;
    }
    i += len;
  }
  return n;
}

// Looks at the first 8 KiB before any line is parsed, so that a compressed or binary file is not
// reported as "a ragged row on line 2": gzip and zip magic bytes, a UTF-16 byte-order mark, a NUL
// byte or invalid UTF-8 are an IOError naming the file. Returns the bytes read, without a UTF-8
// byte-order mark (EF BB BF), which would otherwise stick to the first header name. (No seeking
// back: the file may be a pipe, e.g. <(zcat data.csv.gz).)
std::string check_text(std::ifstream& in, const std::string& path) {
  constexpr std::size_t kSample = 8192;
  char buf[kSample];
  in.read(buf, kSample);
  if (in.bad())  // e.g. a directory: opening works, reading fails
    throw IOError(fmt::format("read_csv: cannot read '{}': {}", path, errno ? std::strerror(errno) : "read error"));
  const auto n = static_cast<std::size_t>(in.gcount());
  const auto* b = reinterpret_cast<const unsigned char*>(buf);
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    return n >= magic.size() && std::equal(magic.begin(), magic.end(), b);
  };
  if (starts({0x1f, 0x8b}))
    throw IOError(fmt::format("read_csv: '{}' looks gzip-compressed (it starts with the bytes 1f 8b), "
                              "not CSV text: decompress it first (gunzip)", path));
  if (starts({'P', 'K', 0x03, 0x04}) || starts({'P', 'K', 0x05, 0x06}))
    throw IOError(fmt::format("read_csv: '{}' looks like a zip archive (it starts with "
                              "the bytes 50 4b, 'PK'), not CSV text: extract the CSV file first", path));
  if (starts({0xff, 0xfe}) || starts({0xfe, 0xff}))
    throw IOError(fmt::format("read_csv: '{}' is UTF-16 text (it starts with the byte-order mark "
                              "{:02x} {:02x}), not UTF-8: save it as UTF-8", path, b[0], b[1]));
  const std::size_t bom = starts({0xef, 0xbb, 0xbf}) ? 3 : 0;
  auto line_of = [&](std::size_t at) { return 1 + static_cast<std::size_t>(std::count(buf, buf + at, '\n')); };
  if (const void* nul = std::memchr(buf, 0, n)) {
    const auto at = static_cast<std::size_t>(static_cast<const char*>(nul) - buf);
    throw IOError(fmt::format("read_csv: {}:{}: a NUL byte (at byte offset {}): the file looks binary, "
                              "not CSV text", path, line_of(at), at));
  }
  if (const std::size_t at = invalid_utf8(b, n, n == kSample); at < n)
    throw IOError(fmt::format("read_csv: {}:{}: invalid UTF-8 (byte {:02x} at offset {}): the file looks "
                              "binary, or is in another encoding such as Latin-1; save it as UTF-8",
                              path, line_of(at), b[at], at));
  return std::string(buf + bom, n - bom);
}

std::string column_desc(std::size_t col, const std::vector<std::string>& names) {
  if (col < names.size() && !names[col].empty()) return fmt::format("column {} ({})", col + 1, quoted(names[col]));
  return fmt::format("column {}", col + 1);
}

}  // namespace

std::vector<std::string> split_csv_line(const std::string& line, char delimiter,
                                        const std::string& where) {
  std::vector<std::string> cells;
  std::string cell;
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    // one cell starting at i
    cell.clear();
    std::size_t j = i;
    while (j < n && (line[j] == ' ' || line[j] == '\t')) ++j;
    if (j < n && line[j] == '"') {
      ++j;
      bool closed = false;
      while (j < n) {
        if (line[j] == '"') {
          if (j + 1 < n && line[j + 1] == '"') {  // "" inside quotes: a literal quote
            cell += '"';
            j += 2;
            continue;
          }
          closed = true;
          ++j;
          break;
        }
        cell += line[j++];
      }
      if (!closed)
        throw IOError(fmt::format("read_csv: {}, column {}: unterminated quoted cell", where,
                                  cells.size() + 1));
      while (j < n && (line[j] == ' ' || line[j] == '\t')) ++j;
      if (j < n && line[j] != delimiter)
        throw IOError(fmt::format("read_csv: {}, column {}: text after a closing quote", where,
                                  cells.size() + 1));
      cells.push_back(cell);
    } else {
      std::size_t k = line.find(delimiter, j);
      if (k == std::string::npos) k = n;
      cells.push_back(trim(line.substr(j, k - j)));
      j = k;
    }
    if (j >= n) break;
    i = j + 1;  // past the delimiter
    if (i == n) {  // a trailing delimiter: one more, empty cell
      cells.emplace_back();
      break;
    }
  }
  return cells;
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw IOError(fmt::format("read_csv: cannot open '{}': {}", path,
                              err ? std::strerror(err) : "unknown error"));
  }
  const std::string head = check_text(in, path);
  CsvTable t;
  t.path = path;

  std::string line;
  std::size_t line_no = 0;
  std::size_t head_pos = 0;
  auto getline = [&]() -> bool {  // from `head`, then from the rest of the file
    if (head_pos >= head.size()) return static_cast<bool>(std::getline(in, line));
    const std::size_t nl = head.find('\n', head_pos);
    if (nl != std::string::npos) {
      line.assign(head, head_pos, nl - head_pos);
      head_pos = nl + 1;
      return true;
    }
    line.assign(head, head_pos, std::string::npos);  // a line that goes on past the sample
    head_pos = head.size();
    std::string rest;
    if (std::getline(in, rest)) line += rest;
    return true;
  };
  auto next_line = [&]() -> bool {  // the next non-blank line, CR stripped
    while (getline()) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!is_blank(line)) return true;
    }
    return false;
  };
  auto where = [&]() { return fmt::format("{}:{}", path, line_no); };

  for (std::size_t s = 0; s < options.skip_lines; ++s) {
    if (!getline()) break;
    ++line_no;
  }

  std::vector<std::string> names;  // one per column
  std::size_t ncols = 0;
  std::vector<std::string> first;  // the first data row when there is no header
  std::size_t first_line = 0;
  if (!next_line()) {
    if (in.bad())  // e.g. a directory: opening works, reading fails
      throw IOError(fmt::format("read_csv: cannot read '{}': {}", path,
                                errno ? std::strerror(errno) : "read error"));
    throw IOError(fmt::format("read_csv: '{}' has no data (empty file)", path));
  }
  if (options.header) {
    names = split_csv_line(line, options.delimiter, where());
    ncols = names.size();
  } else {
    first = split_csv_line(line, options.delimiter, where());
    first_line = line_no;
    ncols = first.size();
    for (std::size_t c = 0; c < ncols; ++c) names.push_back(fmt::format("col{}", c + 1));
  }

  // which column holds the label
  std::optional<std::size_t> label_col;
  if (!options.label.empty()) {
    for (std::size_t c = 0; c < names.size(); ++c)
      if (names[c] == options.label) label_col = c;
    if (!label_col) {
      std::string known;
      for (const auto& nm : names) known += (known.empty() ? "" : ", ") + quoted(nm);
      throw IOError(fmt::format("read_csv: {}: no column named '{}' (columns: {})",
                                options.header ? fmt::format("{}:{}", path, line_no) : path,
                                options.label, known));
    }
  } else if (options.label_index) {
    const long k = *options.label_index;
    const long idx = k < 0 ? static_cast<long>(ncols) + k : k;
    if (idx < 0 || idx >= static_cast<long>(ncols))
      throw IOError(fmt::format("read_csv: {}: label_index {} out of range for {} columns", path,
                                k, ncols));
    label_col = static_cast<std::size_t>(idx);
  }
  if (label_col) {
    t.label_column = *label_col + 1;
    t.label_name = names[*label_col];
  }
  for (std::size_t c = 0; c < ncols; ++c)
    if (!label_col || c != *label_col) t.feature_names.push_back(names[c]);
  const std::size_t nfeat = t.feature_names.size();

  std::vector<double> values;
  auto add_row = [&](const std::vector<std::string>& cells, std::size_t at_line) {
    if (cells.size() != ncols)
      // the first column that is missing, or the first one too many
      throw IOError(fmt::format("read_csv: {}:{}, column {}: expected {} columns, found {} (ragged row)",
                                path, at_line, std::min(cells.size(), ncols) + 1, ncols, cells.size()));
    for (std::size_t c = 0; c < ncols; ++c) {
      if (label_col && c == *label_col) {
        t.labels.push_back(cells[c]);
        t.label_lines.push_back(at_line);
        continue;
      }
      double v;
      if (!parse_double(cells[c], v))
        throw IOError(fmt::format("read_csv: {}:{}, {}: {}", path, at_line, column_desc(c, names),
                                  number_problem(cells[c])));
      values.push_back(v);
    }
  };
  if (!first.empty()) add_row(first, first_line);
  while (next_line()) add_row(split_csv_line(line, options.delimiter, where()), line_no);
  if (in.bad()) throw IOError(fmt::format("read_csv: error reading '{}'", path));

  const std::size_t rows = nfeat ? values.size() / nfeat : t.labels.size();
  if (rows == 0) throw IOError(fmt::format("read_csv: '{}' has a header but no data rows", path));
  xt::xarray<double> x = xt::xarray<double>::from_shape({rows, nfeat});
  std::copy(values.begin(), values.end(), x.data());
  Tensor features(std::move(x));
  t.x = options.dtype == f64 ? features : features.to(options.dtype);
  return t;
}

Tensor CsvTable::numeric_labels(DType dtype) const {
  if (label_column == 0)
    throw ValueError(fmt::format("CsvTable::numeric_labels: '{}' was read without a label column",
                                 path));
  xt::xarray<double> y = xt::xarray<double>::from_shape({labels.size(), std::size_t{1}});
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double v;
    if (!parse_double(labels[i], v))
      throw IOError(fmt::format("read_csv: {}:{}, column {} ({}): label {}", path, label_lines[i],
                                label_column, quoted(label_name), number_problem(labels[i])));
    y(i, 0) = v;
  }
  Tensor out(std::move(y));
  return dtype == f64 ? out : out.to(dtype);
}

}  // namespace ag::nn
