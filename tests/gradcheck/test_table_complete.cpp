// The table's completeness: every op declared in any ag/ops/<family>.hpp has a gradcheck row, or
// is listed here as non-differentiable. Every header in that folder is read at test time, so a
// declaration without a row fails this test, also in a family added later. The folder is found
// next to this file's source tree (or through the TAPEGRAD_OPS_DIR definition, if set).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "gradcheck/gradcheck_table.hpp"

namespace {

// Ops that return values without history: masks, indices, encodings.
const std::set<std::string> kNonDifferentiable = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "one_hot",
                                                   "argsort", "logical_and", "logical_or", "logical_xor", "logical_not",
                                                   "nonzero"};

std::filesystem::path ops_dir() {
#ifdef TAPEGRAD_OPS_DIR
  return TAPEGRAD_OPS_DIR;
#else
  // the public op headers of the source tree
  return std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "autograd" / "include" /
         "ag" / "ops";
#endif
}

// Names of the functions declared in an ops header that return Tensor, std::vector<Tensor> or
// ValuesIndices (operators are inline wrappers of named ops and are not listed): the harness's
// parser (ag/testing/op_table.hpp).
std::set<std::string> declared_ops(const std::string& text) { return ag::testing::declared_ops(text, {"ValuesIndices"}); }

}  // namespace

TEST_CASE("gradcheck table: the parser finds declarations") {
  const std::set<std::string> got = declared_ops(
      "// Tensor commented(const Tensor& x);\n"
      "Tensor exp(const Tensor& x);  // d = g·y\n"
      "inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }\n"
      "std::vector<Tensor> split(const Tensor& x, std::size_t n, int axis = 0);\n"
      "  inline Tensor index_select(const Tensor& x, int axis, std::initializer_list<std::size_t> i) {\n"
      "Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);\n"
      "ValuesIndices sort(const Tensor& x, int axis = -1, bool descending = false);\n");
  CHECK(got == std::set<std::string>{"exp", "split", "index_select", "sort"});
}

TEST_CASE("gradcheck table: every public op has a row or is listed as non-differentiable") {
  const std::filesystem::path dir = ops_dir();
  REQUIRE_MESSAGE(std::filesystem::is_directory(dir), "cannot open " << dir << " (define TAPEGRAD_OPS_DIR)");
  std::set<std::string> declared;
  std::size_t headers = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".hpp") continue;
    std::ifstream f(entry.path());
    REQUIRE_MESSAGE(f.good(), "cannot open " << entry.path());
    std::stringstream text;
    text << f.rdbuf();
    const std::set<std::string> here = declared_ops(text.str());
    CHECK_MESSAGE(!here.empty(), entry.path() << " declares no op");  // the parser read each family
    declared.insert(here.begin(), here.end());
    ++headers;
  }
  INFO("ops headers in " << dir);
  REQUIRE(headers >= 9);
  REQUIRE(declared.size() > 40);  // the parser really read the headers
  // the same list through the harness's folder reader
  CHECK(ag::testing::declared_ops_in(dir.string(), {"ValuesIndices"}) == declared);
  // every declared op has a row or is exempt; rows and exemptions name declared ops
  for (const std::string& problem : ag::testing::completeness_problems(declared, kNonDifferentiable))
    CHECK_MESSAGE(false, problem);
}
