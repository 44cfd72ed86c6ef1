// CSV reader: a good file in its variants, and every error naming the file, line and column.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/stat.h>

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

// Issue 14 item 16: compressed and binary files used to fail as "a ragged row on line 2".
TEST_CASE("read_csv errors: gzip, zip, UTF-16 and binary files are refused up front, naming the file") {
  // gzip.compress(b"label,x\na,1\nb,2\n", mtime=0): a real gzip stream of a small CSV
  const std::string gz = write_file("data.csv.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\xcb\x49\x4c"
                                                               "\x4a\xcd\xd1\xa9\xe0\x4a\xd4\x31\xe4\x4a\xd2\x31\xe2"
                                                               "\x02\x00\xb4\xd8\x0b\x1a\x10\x00\x00\x00", 36));
  const std::string mgz = error_of<ag::IOError>([&] { nn::read_csv(gz); });
  CHECK(mgz == "read_csv: '" + gz + "' looks gzip-compressed (it starts with the bytes 1f 8b), not CSV text: "
                                    "decompress it first (gunzip)");

  const std::string zip = write_file("data.zip", std::string("PK\x03\x04\x14\x00\x00\x00\x08\x00", 10) + "data.csv");
  const std::string mzip = error_of<ag::IOError>([&] { nn::read_csv(zip); });
  CHECK(contains(mzip, "'" + zip + "' looks like a zip archive"));
  CHECK(contains(mzip, "extract the CSV file first"));

  const std::string utf16 = write_file("utf16.csv", std::string("\xff\xfe" "a\0,\0b\0\n\0", 10));
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(utf16); }),
                 "'" + utf16 + "' is UTF-16 text (it starts with the byte-order mark ff fe)"));

  // a NUL byte on the third line, after text that would parse
  const std::string bin = write_file("floats.bin", std::string("a,b\n1,2\n\x00\x00\x80\x3f", 12));
  CHECK(error_of<ag::IOError>([&] { nn::read_csv(bin); }) ==
        "read_csv: " + bin + ":3: a NUL byte (at byte offset 8): the file looks binary, not CSV text");

  // Latin-1 "café" (e9 is not UTF-8 on its own)
  const std::string latin1 = write_file("latin1.csv", "x,label\n1,caf\xe9\n");
  const std::string ml = error_of<ag::IOError>([&] { nn::read_csv(latin1); });
  CHECK(contains(ml, latin1 + ":2: invalid UTF-8 (byte e9 at offset 13)"));
  CHECK(contains(ml, "save it as UTF-8"));
  // ... and a sequence cut off at the end of the file
  const std::string cut = write_file("cut.csv", "x\n1\n\xe2\x82");
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(cut); }), cut + ":3: invalid UTF-8 (byte e2 at offset 4)"));
}

TEST_CASE("read_csv: a UTF-8 byte-order mark is skipped, UTF-8 labels are kept") {
  const std::string path = write_file("bom.csv", "\xef\xbb\xbflabel,x\n\xe2\x82\xac,1.5\nB,2\n");
  nn::CsvOptions o;
  o.label = "label";
  o.dtype = ag::f64;
  const nn::CsvTable t = nn::read_csv(path, o);
  CHECK(t.label_name == "label");  // not "\uFEFFlabel"
  CHECK(t.label_column == 1);
  CHECK(t.feature_names == std::vector<std::string>{"x"});
  CHECK(t.labels == std::vector<std::string>{"\xe2\x82\xac", "B"});  // the euro sign, intact
  check_values(t.x, {2, 1}, {1.5, 2.0});
  // without a header the first cell of the first row is clean too
  const std::string nh = write_file("bom_no_header.csv", "\xef\xbb\xbf" "3,4\n5,6\n");
  nn::CsvOptions o2;
  o2.header = false;
  o2.dtype = ag::f64;
  check_values(nn::read_csv(nh, o2).x, {2, 2}, {3, 4, 5, 6});
  // a file that is only a BOM is empty
  const std::string only = write_file("bom_only.csv", "\xef\xbb\xbf");
  CHECK(contains(error_of<ag::IOError>([&] { nn::read_csv(only); }), "empty file"));
}

TEST_CASE("read_csv: a file longer than the 8 KiB that are checked first, and a pipe, read whole") {
  // 2000 rows of 6 bytes after a BOM and the header (11 bytes): row 1363 (bytes 8189-8194)
  // straddles the end of the 8 KiB sample
  std::string text = "\xef\xbb\xbflabel,x\n";
  for (int i = 0; i < 2000; ++i) text += (i % 2 ? "b," : "a,") + std::to_string(100 + i % 900) + "\n";
  auto check = [](const nn::CsvTable& t) {
    CHECK(t.label_name == "label");
    REQUIRE(t.rows() == 2000);
    const auto x = values(t.x);
    CHECK(x[0] == 100);
    CHECK(x[1363] == 100 + 1363 % 900);
    CHECK(t.labels[1363] == "b");
    CHECK(x[1999] == 100 + 1999 % 900);
    CHECK(t.labels[1999] == "b");
  };
  nn::CsvOptions o;
  o.label = "label";
  o.dtype = ag::f64;
  check(nn::read_csv(write_file("long.csv", text), o));

  // a named pipe cannot seek back: e.g. read_csv("/dev/stdin") or <(zcat data.csv.gz)
  const std::string fifo = write_file("pipe.csv", "");
  std::filesystem::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer([&] { std::ofstream(fifo, std::ios::binary) << text; });  // < the 64 KiB pipe buffer
  check(nn::read_csv(fifo, o));
  writer.join();
  std::filesystem::remove(fifo);
}
