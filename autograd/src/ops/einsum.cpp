// einsum: the spec is parsed and checked once, then evaluated with recorded ag ops only, so its
// gradients (of every order) are those of the ops it is made of:
//   a letter repeated within an operand -> its diagonal (permute, reshape, index_select);
//   a letter found in one operand only and not needed later -> sum;
//   two operands -> permute each to [batch, free, summed] / [batch, summed, free] (or the
//   transposed order when that is already the layout: no copy), reshape to 3-D, one batched
//   matmul_t, reshape to [batch.., free_a.., free_b..];
//   the result -> permute to the output's order.
// Operands are contracted left to right (no search for a cheaper order).
#include <algorithm>
#include <array>
#include <numeric>

#include "ops/kernels.hpp"

namespace ag {

namespace {

// A tensor with one letter per axis.
struct Term {
  Tensor t;
  std::string letters;
};

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
  throw ValueError(fmt::format("einsum: {} in \"{}\"", why, spec));
}

struct Parsed {
  std::vector<std::string> inputs;
  std::string output;
};

Parsed parse(const std::string& spec, std::size_t n_operands) {
  std::string s;
  for (char c : spec)
    if (c != ' ' && c != '\t' && c != '\n') s.push_back(c);
  if (s.find("...") != std::string::npos)
    bad_spec(spec, "'...' (ellipsis) is not supported; name every axis with a letter");
  Parsed p;
  const std::size_t arrow = s.find("->");
  const std::string lhs = s.substr(0, arrow);
  if (arrow != std::string::npos) {
    p.output = s.substr(arrow + 2);
    if (p.output.find("->") != std::string::npos) bad_spec(spec, "more than one \"->\"");
  }
  for (std::size_t start = 0;;) {
    const std::size_t comma = lhs.find(',', start);
    p.inputs.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto check_letters = [&](const std::string& part) {
    for (char c : part)
      if (!is_letter(c))
        bad_spec(spec, fmt::format("'{}' is not a subscript (subscripts are letters a-z, A-Z, ',' separates "
                                   "operands, \"->\" starts the output)",
                                   c));
  };
  for (const std::string& in : p.inputs) check_letters(in);
  check_letters(p.output);
  if (p.inputs.size() != n_operands)
    bad_spec(spec, fmt::format("{} operand subscript(s) for {} tensor(s)", p.inputs.size(), n_operands));
  std::array<int, 128> count{};
  for (const std::string& in : p.inputs)
    for (char c : in) ++count[static_cast<unsigned char>(c)];
  if (arrow == std::string::npos) {  // implicit output: the letters used once, in ASCII order
    for (int c = 0; c < 128; ++c)
      if (count[c] == 1) p.output.push_back(static_cast<char>(c));
  } else {
    std::array<int, 128> seen{};
    for (char c : p.output) {
      if (count[static_cast<unsigned char>(c)] == 0)
        bad_spec(spec, fmt::format("output letter '{}' appears in no operand", c));
      if (seen[static_cast<unsigned char>(c)]++)
        bad_spec(spec, fmt::format("output letter '{}' appears more than once", c));
    }
  }
  return p;
}

// Sizes: every letter must have one size across (and within) the operands.
void check_sizes(const std::string& spec, const std::vector<Tensor>& ops, const Parsed& p) {
  std::array<std::size_t, 128> size{};
  std::array<int, 128> first{};  // 1 + the operand that fixed the letter's size; 0 = none yet
  for (std::size_t n = 0; n < ops.size(); ++n) {
    const Shape s = ops[n].shape();
    const std::string& l = p.inputs[n];
    if (l.size() != s.size())
      throw ShapeError(fmt::format("einsum: operand {} has shape {} ({} axes) but its subscripts \"{}\" name {} in \"{}\"",
                                   n, shape_str(s), s.size(), l, l.size(), spec));
    for (std::size_t d = 0; d < l.size(); ++d) {
      const auto c = static_cast<unsigned char>(l[d]);
      if (!first[c]) {
        first[c] = static_cast<int>(n) + 1;
        size[c] = s[d];
      } else if (size[c] != s[d]) {
        const std::size_t m = static_cast<std::size_t>(first[c] - 1);
        throw ShapeError(fmt::format("einsum: letter '{}' has size {} in operand {} {} but size {} in operand {} {} "
                                     "in \"{}\"",
                                     l[d], size[c], m, shape_str(ops[m].shape()), s[d], n, shape_str(s), spec));
      }
    }
  }
}

Axes positions_of(const std::string& letters, const std::string& order) {
  Axes perm;
  for (char c : order) perm.push_back(static_cast<int>(letters.find(c)));
  return perm;
}

bool is_identity(const Axes& perm) {
  for (std::size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int>(i)) return false;
  return true;
}

std::size_t size_of(const Term& a, char c) { return a.t.shape()[a.letters.find(c)]; }

std::ptrdiff_t product(const Term& a, const std::string& letters) {
  std::size_t p = 1;
  for (char c : letters) p *= size_of(a, c);
  return static_cast<std::ptrdiff_t>(p);
}

// A letter repeated within the term -> its diagonal, until every letter is unique: the two axes
// moved last, merged to n·n, and entries 0, n+1, 2(n+1), .. picked.
Term take_diagonals(Term a) {
  for (;;) {
    std::size_t p = 0, q = std::string::npos;  // the first repeated letter's first two places
    for (std::size_t d = 0; d < a.letters.size() && q == std::string::npos; ++d) {
      p = d;
      q = a.letters.find(a.letters[d], d + 1);
    }
    if (q == std::string::npos) return a;
    const char c = a.letters[p];
    const std::size_t n = size_of(a, c);
    std::string rest;
    Axes perm;
    for (std::size_t d = 0; d < a.letters.size(); ++d)
      if (d != p && d != q) {
        rest.push_back(a.letters[d]);
        perm.push_back(static_cast<int>(d));
      }
    perm.push_back(static_cast<int>(p));
    perm.push_back(static_cast<int>(q));
    std::vector<std::ptrdiff_t> merged;
    for (char r : rest) merged.push_back(static_cast<std::ptrdiff_t>(size_of(a, r)));
    merged.push_back(static_cast<std::ptrdiff_t>(n * n));
    std::vector<std::size_t> diagonal(n);
    for (std::size_t i = 0; i < n; ++i) diagonal[i] = i * (n + 1);
    Tensor t = index_select(reshape(permute(a.t, perm), merged), -1, diagonal);
    a = Term{std::move(t), rest + c};
  }
}

// Sums the axes of the letters for which drop(c) holds.
template <class Drop> Term sum_letters(Term a, Drop drop) {
  Axes axes;
  std::string kept;
  for (std::size_t d = 0; d < a.letters.size(); ++d) {
    if (drop(a.letters[d])) axes.push_back(static_cast<int>(d));
    else kept.push_back(a.letters[d]);
  }
  if (axes.empty()) return a;
  return Term{sum(a.t, axes), kept};
}

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// a·b over their shared letters; `keep` lists the letters needed afterwards (later operands, output).
Term contract(Term a, Term b, const std::string& keep) {
  a = sum_letters(std::move(a), [&](char c) { return !has(b.letters, c) && !has(keep, c); });
  b = sum_letters(std::move(b), [&](char c) { return !has(a.letters, c) && !has(keep, c); });
  std::string batch, summed, free_a, free_b;
  for (char c : a.letters) {
    if (!has(b.letters, c)) free_a.push_back(c);
    else if (has(keep, c)) batch.push_back(c);
    else summed.push_back(c);
  }
  for (char c : b.letters)
    if (!has(a.letters, c)) free_b.push_back(c);
  // A as [batch, free_a, summed] (or [batch, summed, free_a], transposed, when that is its layout)
  const Axes a_plain = positions_of(a.letters, batch + free_a + summed);
  const Axes a_trans = positions_of(a.letters, batch + summed + free_a);
  const bool ta = !is_identity(a_plain) && is_identity(a_trans);
  const Axes b_plain = positions_of(b.letters, batch + summed + free_b);
  const Axes b_trans = positions_of(b.letters, batch + free_b + summed);
  const bool tb = !is_identity(b_plain) && is_identity(b_trans);
  const std::ptrdiff_t nb = product(a, batch), nk = product(a, summed), na = product(a, free_a), nf = product(b, free_b);
  const Tensor a3 = reshape(permute(a.t, ta ? a_trans : a_plain), ta ? std::vector<std::ptrdiff_t>{nb, nk, na}
                                                                     : std::vector<std::ptrdiff_t>{nb, na, nk});
  const Tensor b3 = reshape(permute(b.t, tb ? b_trans : b_plain), tb ? std::vector<std::ptrdiff_t>{nb, nf, nk}
                                                                     : std::vector<std::ptrdiff_t>{nb, nk, nf});
  std::vector<std::ptrdiff_t> out;
  for (char c : batch + free_a) out.push_back(static_cast<std::ptrdiff_t>(size_of(a, c)));
  for (char c : free_b) out.push_back(static_cast<std::ptrdiff_t>(size_of(b, c)));
  return Term{reshape(matmul_t(a3, b3, ta, tb), out), batch + free_a + free_b};
}

}  // namespace

Tensor einsum(const std::string& spec, const std::vector<Tensor>& operands) {
  OpScope mark("einsum");
  if (operands.empty()) throw ValueError(fmt::format("einsum: no operands for \"{}\"", spec));
  for (const Tensor& t : operands) detail::check_same_dtype("einsum", operands[0], t);
  const Parsed p = parse(spec, operands.size());
  check_sizes(spec, operands, p);
  std::vector<Term> terms;
  for (std::size_t n = 0; n < operands.size(); ++n) terms.push_back(take_diagonals(Term{operands[n], p.inputs[n]}));
  Term acc = terms[0];
  for (std::size_t n = 1; n < terms.size(); ++n) {
    std::string keep = p.output;
    for (std::size_t m = n + 1; m < terms.size(); ++m) keep += terms[m].letters;
    acc = contract(std::move(acc), terms[n], keep);
  }
  acc = sum_letters(std::move(acc), [&](char c) { return !has(p.output, c); });
  return permute(acc.t, positions_of(acc.letters, p.output));
}

}  // namespace ag
