#pragma once
// The 4-byte options prefix of fuzz_csv inputs, shared with the corpus replay test
// (tests/nn/test_bad_files.cpp). Readable, so that the seed files in corpus/csv/ say what they test:
//   [0] delimiter: one of , ; TAB | SPACE (any other byte: ',')
//   [1] bit 0 set: no header; bits 1-2: skip_lines 0-3        ('H' = header, 'I' = no header,
//                                                              'J' = header after 1 skipped line)
//   [2] label column: 'L' by name "label"; '0'-'9' by index; 'l' index -1; 'm' index -2;
//       a byte >= 0x80 that byte as a negative index; anything else: no label column
//   [3] 'd': float64, anything else float32
#include <cstddef>
#include <cstdint>

#include "ag/nn/csv.hpp"

namespace fuzz {

// Options from the first 4 bytes (defaults when there are fewer); advances data/size past them.
inline ag::nn::CsvOptions csv_options(const std::uint8_t*& data, std::size_t& size) {
  ag::nn::CsvOptions o;
  if (size < 4) return o;
  const char d = static_cast<char>(data[0]);
  if (d == ',' || d == ';' || d == '\t' || d == '|' || d == ' ') o.delimiter = d;
  o.header = (data[1] & 1) == 0;
  o.skip_lines = (data[1] >> 1) & 3;
  const unsigned char l = data[2];
  if (l == 'L') o.label = "label";
  else if (l >= '0' && l <= '9') o.label_index = l - '0';
  else if (l == 'l') o.label_index = -1;
  else if (l == 'm') o.label_index = -2;
  else if (l >= 0x80) o.label_index = static_cast<std::int8_t>(l);
  o.dtype = data[3] == 'd' ? ag::f64 : ag::f32;
  data += 4;
  size -= 4;
  return o;
}

}  // namespace fuzz
