// Seeing the tape: Graphviz DOT export and the text dump.
#include <doctest/doctest.h>

#include <string>

#include "ag/ag.hpp"

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
std::size_t count(const std::string& s, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t p = s.find(part); p != std::string::npos; p = s.find(part, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("dot: ops, shapes, dtypes, leaf names, requires_grad and edges") {
  ag::Tensor x = ag::ones({4, 3}, ag::f32);
  x.set_name("x");
  ag::Tensor w = ag::full({3, 2}, 0.5, ag::f32, true);
  w.set_name("w");
  ag::Tensor z = ag::matmul(x, w);
  ag::Tensor loss = ag::sum(ag::relu(z));
  const std::string dot = ag::to_dot(loss);
  CHECK(has(dot, "digraph tapegrad {"));
  CHECK(dot.back() == '\n');
  CHECK(has(dot, "x\\nfloat32 [4, 3]"));                // a constant: no requires_grad
  CHECK(has(dot, "w\\nfloat32 [3, 2]\\nrequires_grad"));
  CHECK(has(dot, "matmul #"));
  CHECK(has(dot, "float32 [4, 2]"));
  CHECK(has(dot, "relu #"));
  CHECK(has(dot, "sum #"));
  CHECK(has(dot, "output 0"));
  CHECK(count(dot, "->") == 4);  // x→matmul, w→matmul, matmul→relu, relu→sum
  CHECK(count(dot, "peripheries=2") == 1);
}

TEST_CASE("dot: a shared input appears once, labels are escaped") {
  ag::Tensor a({1.0, 2.0}, ag::f64, true);
  a.set_name("a \"quoted\"");
  ag::Tensor y = ag::sum(ag::add(ag::mul(a, a), a));
  const std::string dot = ag::to_dot(y);
  CHECK(count(dot, "shape=ellipse") == 1);
  CHECK(has(dot, "a \\\"quoted\\\""));
  CHECK(count(dot, "->") == 5);  // a→mul twice, mul→add, a→add, add→sum
}

TEST_CASE("dot: the text dump lists the graph in recording order") {
  ag::Tensor x({1.0, 2.0, 3.0}, ag::f64, true);
  x.set_name("x");
  ag::Tensor h = ag::exp(x);
  ag::Tensor y = ag::sum(ag::mul(h, x));
  const std::string s = ag::graph_string(y);
  const std::size_t leaf = s.find("x = leaf"), e = s.find("= exp(x)"), m = s.find("= mul(%"),
                    sm = s.find("= sum(%");
  REQUIRE(leaf != std::string::npos);
  REQUIRE(e != std::string::npos);
  REQUIRE(m != std::string::npos);
  REQUIRE(sm != std::string::npos);
  CHECK(leaf < e);
  CHECK(e < m);
  CHECK(m < sm);
  CHECK(has(s, "float64 [3]  requires_grad"));
  CHECK(has(s, "<- output 0"));
  CHECK(count(s, "\n") == 4);
}

TEST_CASE("dot: after backward the freed nodes are marked and the graph ends there") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor y = ag::sum(ag::exp(x));
  y.backward();
  const std::string s = ag::graph_string(y);
  CHECK(has(s, "(freed by backward)"));
  CHECK_FALSE(has(s, "exp"));  // sum's inputs were released
  CHECK(has(ag::to_dot(y), "freed by backward"));
}

TEST_CASE("dot: several outputs and an undefined tensor") {
  ag::Tensor x({1.0, 2.0}, ag::f64, true);
  ag::Tensor a = ag::exp(x), b = ag::sum(a);
  const std::string dot = ag::to_dot({a, b});
  CHECK(has(dot, "output 0"));
  CHECK(has(dot, "output 1"));
  CHECK_THROWS_AS(ag::to_dot(ag::Tensor()), ag::ValueError);
}
