// CSV reader: a good file in its variants, and every error naming the file, line and column.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// Writes `text` to a fresh file in the temp directory and returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / "tapegrad_test_csv";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

}  // namespace

TEST_CASE("read_csv: header, numeric columns, named string label column") {
  const std::string path = write_file("cities.csv",
                                      "temp, city ,humidity\r\n"
                                      "18.5,San Francisco,78\r\n"
                                      "\r\n"
                                      "27,\"New York, NY\",-6.2e1\r\n"
                                      " +21 , Boston , 66 \r\n");
  nn::CsvOptions o;
  o.label = "city";
  o.dtype = ag::f64;
  const nn::CsvTable t = nn::read_csv(path, o);
  CHECK(t.feature_names == std::vector<std::string>{"temp", "humidity"});
  CHECK(t.label_name == "city");
  CHECK(t.label_column == 2);
  CHECK(t.rows() == 3);
  check_values(t.x, {3, 2}, {18.5, 78, 27, -62, 21, 66});
  CHECK(t.labels == std::vector<std::string>{"San Francisco", "New York, NY", "Boston"});
  CHECK(t.label_lines == std::vector<std::size_t>{2, 4, 5});
  CHECK(nn::read_csv(path, [] { nn::CsvOptions f; f.label = "city"; return f; }()).x.dtype() == ag::f32);
}

TEST_CASE("read_csv: no header, skipped lines, label by (negative) index, numeric labels") {
  const std::string path = write_file("iris_like.csv",
                                      "3,2,setosa,versicolor\n"
                                      "5.1,3.5,0\n"
                                      "4.9,3.0,1\n"
                                      "6.2,3.4,1\n");
  nn::CsvOptions o;
  o.header = false;
  o.skip_lines = 1;
  o.label_index = -1;
  o.dtype = ag::f64;
  const nn::CsvTable t = nn::read_csv(path, o);
  CHECK(t.feature_names == std::vector<std::string>{"col1", "col2"});
  check_values(t.x, {3, 2}, {5.1, 3.5, 4.9, 3.0, 6.2, 3.4});
  CHECK(t.labels == std::vector<std::string>{"0", "1", "1"});
  check_values(t.numeric_labels(ag::f64), {3, 1}, {0, 1, 1});
  // no label column: every column is a feature
  nn::CsvOptions all;
  all.header = false;
  all.skip_lines = 1;
  const nn::CsvTable u = nn::read_csv(path, all);
  CHECK(u.x.shape() == ag::Shape{3, 3});
  CHECK(u.labels.empty());
}

TEST_CASE("split_csv_line: quotes, doubled quotes, empty and trailing cells") {
  CHECK(nn::split_csv_line("a,\"b,c\",\"say \"\"hi\"\"\"", ',', "x") ==
        std::vector<std::string>{"a", "b,c", "say \"hi\""});
  CHECK(nn::split_csv_line("1;;3;", ';', "x") == std::vector<std::string>{"1", "", "3", ""});
}

TEST_CASE("read_csv errors: missing file") {
  const std::string msg = error_of<ag::IOError>([] { nn::read_csv("/nonexistent/dir/data.csv"); });
  CHECK(contains(msg, "/nonexistent/dir/data.csv"));
  CHECK(contains(msg, "No such file"));
}

TEST_CASE("read_csv errors: ragged row names the file and line") {
  const std::string path = write_file("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
  const std::string msg = error_of<ag::IOError>([&] { nn::read_csv(path); });
  CHECK(contains(msg, path + ":3, column 3"));
  CHECK(contains(msg, "expected 3 columns, found 2"));
  const std::string wide = write_file("wide.csv", "a,b\n1,2\n3,4,5,6\n");
  const std::string mw = error_of<ag::IOError>([&] { nn::read_csv(wide); });
  CHECK(contains(mw, wide + ":3, column 3"));
  CHECK(contains(mw, "expected 2 columns, found 4"));
}

TEST_CASE("read_csv errors: non-numeric and empty cells name the file, line and column") {
  const std::string path = write_file("nonnum.csv", "a,b,label\n1,2,x\n\n3,abc,y\n");
  nn::CsvOptions o;
  o.label = "label";
  const std::string msg = error_of<ag::IOError>([&] { nn::read_csv(path, o); });
  CHECK(contains(msg, path + ":4"));
  CHECK(contains(msg, "column 2 ('b')"));
  CHECK(contains(msg, "'abc' is not a number"));

  const std::string empty_cell = write_file("emptycell.csv", "1,,3\n");
  nn::CsvOptions nh;
  nh.header = false;
  const std::string m2 = error_of<ag::IOError>([&] { nn::read_csv(empty_cell, nh); });
  CHECK(contains(m2, empty_cell + ":1"));
  CHECK(contains(m2, "column 2"));
  CHECK(contains(m2, "empty cell"));

  // a label that is not a number, when asked for numbers
  const std::string labels = write_file("labels.csv", "a,b,label\n1,2,3\n4,5,x\n");
  const nn::CsvTable t = nn::read_csv(labels, o);
  const std::string m3 = error_of<ag::IOError>([&] { t.numeric_labels(); });
  CHECK(contains(m3, labels + ":3"));
  CHECK(contains(m3, "'x'"));
  CHECK(contains(m3, "column 3 ('label')"));
}

TEST_CASE("read_csv errors: unknown label column, unterminated quote, empty file") {
  const std::string path = write_file("cols.csv", "a,b\n1,2\n");
  nn::CsvOptions o;
  o.label = "class";
  const std::string msg = error_of<ag::IOError>([&] { nn::read_csv(path, o); });
  CHECK(contains(msg, "'class'"));
  CHECK(contains(msg, "'a', 'b'"));
  CHECK(contains(msg, path));

  const std::string quote = write_file("quote.csv", "a,b\n1,\"2\n");
  const std::string mq = error_of<ag::IOError>([&] { nn::read_csv(quote); });
  CHECK(contains(mq, quote + ":2"));
  CHECK(contains(mq, "column 2"));
  CHECK(contains(mq, "unterminated"));

  const std::string empty = write_file("empty.csv", "\n\n");
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(empty); }), "empty"));
  const std::string header_only = write_file("header_only.csv", "a,b\n");
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(header_only); }), "no data rows"));
}
