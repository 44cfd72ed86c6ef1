// The table's completeness: every op declared in ag/ops.hpp has a gradcheck row, or is listed
// here as non-differentiable. ops.hpp is read at test time, so adding a declaration without a
// row fails this test. The header is found next to this file's source tree (or through the
// TAPEGRAD_OPS_HPP definition, if set).
#include <fstream>
#include <regex>
#include <sstream>

#include "gradcheck/gradcheck_table.hpp"

namespace {

// Ops that return values without history: masks, indices, encodings.
const std::set<std::string> kNonDifferentiable = {"sign", "step", "eq",     "ne",     "lt",     "le",
                                                  "gt",   "ge",   "argmax", "argmin", "one_hot"};

std::string ops_header_path() {
#ifdef TAPEGRAD_OPS_HPP
  return TAPEGRAD_OPS_HPP;
#else
  std::string here = __FILE__;  // <root>/tests/gradcheck/test_gradcheck_table_meta.cpp
  for (int up = 0; up < 3; ++up) here = here.substr(0, here.find_last_of("/\\"));
  return here + "/autograd/include/ag/ops.hpp";
#endif
}

// Names of the functions declared in ops.hpp that return Tensor or std::vector<Tensor>
// (operators are inline wrappers of named ops and are not listed).
std::set<std::string> declared_ops(const std::string& text) {
  std::string code;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) code += line.substr(0, line.find("//")) + "\n";
  static const std::regex decl(R"((?:^|\n)\s*(?:inline\s+)?(?:Tensor|std::vector<Tensor>)\s+([A-Za-z_]\w*)\s*\()");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(code.begin(), code.end(), decl); it != std::sregex_iterator(); ++it)
    names.insert((*it)[1]);
  return names;
}

}  // namespace

TEST_CASE("gradcheck table: the parser finds declarations") {
  const std::set<std::string> got = declared_ops(
      "// Tensor commented(const Tensor& x);\n"
      "Tensor exp(const Tensor& x);  // d = g·y\n"
      "inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }\n"
      "std::vector<Tensor> split(const Tensor& x, std::size_t n, int axis = 0);\n"
      "  inline Tensor index_select(const Tensor& x, int axis, std::initializer_list<std::size_t> i) {\n"
      "Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);\n");
  CHECK(got == std::set<std::string>{"exp", "split", "index_select"});
}

TEST_CASE("gradcheck table: every public op has a row or is listed as non-differentiable") {
  const std::string path = ops_header_path();
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path << " (define TAPEGRAD_OPS_HPP to point at ag/ops.hpp)");
  std::stringstream text;
  text << f.rdbuf();
  const std::set<std::string> declared = declared_ops(text.str());
  INFO("ops.hpp at " << path);
  REQUIRE(declared.size() > 40);  // the parser really read the header
  const std::multiset<std::string>& rows = gct::covered();
  for (const std::string& op : declared) {
    const bool exempt = kNonDifferentiable.count(op) > 0;
    CHECK_MESSAGE((rows.count(op) > 0 || exempt), "op '" << op << "' is declared in ops.hpp but has no gradcheck row");
    CHECK_MESSAGE(!(rows.count(op) > 0 && exempt), "op '" << op << "' has a row but is listed as non-differentiable");
  }
  // no stale names: rows and exemptions refer to declared ops
  for (const std::string& op : rows) CHECK_MESSAGE(declared.count(op) > 0, "row for undeclared op '" << op << "'");
  for (const std::string& op : kNonDifferentiable)
    CHECK_MESSAGE(declared.count(op) > 0, "exempt op '" << op << "' is not declared");
}
