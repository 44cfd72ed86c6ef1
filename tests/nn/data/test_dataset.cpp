// Dataset and DataLoader (batching, shuffle, drop_last), and the permutation the shuffle draws.
#include <algorithm>
#include <set>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// The row ids of every batch of one pass, checking that x and y agree row by row.
std::vector<std::vector<double>> pass(nn::DataLoader& loader) {
  std::vector<std::vector<double>> out;
  for (const auto& [x, y] : loader) {
    const std::vector<double> xv = values(x), yv = values(y);
    REQUIRE(x.shape() == ag::Shape{yv.size(), 2});
    for (std::size_t r = 0; r < yv.size(); ++r) {
      CHECK(xv[2 * r] == yv[r]);
      CHECK(xv[2 * r + 1] == 10.0 * yv[r]);
    }
    out.push_back(yv);
  }
  return out;
}

}  // namespace

TEST_CASE("Dataset: rows along axis 0, mismatches and subsets") {
  nn::Dataset d = numbered(5);
  CHECK(d.size() == 5);
  nn::Dataset s = d.subset({4, 0, 2});
  check_values(s.y(), {3}, {4, 0, 2});
  check_values(s.x(), {3, 2}, {4, 40, 0, 0, 2, 20});
  CHECK(contains(error_of<ag::ShapeError>([] { nn::Dataset(ag::zeros({3, 2}), ag::zeros({4})); }),
                 "[3, 2]"));
  CHECK(!error_of<ag::ShapeError>([] { nn::Dataset(ag::scalar(1.0), ag::scalar(1.0)); }).empty());
  CHECK(!error_of<ag::IndexError>([&] { d.subset({5}); }).empty());
}

TEST_CASE("DataLoader: batches in order without shuffle, last batch smaller") {
  nn::Dataset d = numbered(10);
  nn::DataLoader loader(d, 3);
  CHECK(loader.size() == 4);
  const auto b = pass(loader);
  REQUIRE(b.size() == 4);
  CHECK(b[0] == std::vector<double>{0, 1, 2});
  CHECK(b[1] == std::vector<double>{3, 4, 5});
  CHECK(b[2] == std::vector<double>{6, 7, 8});
  CHECK(b[3] == std::vector<double>{9});
}

TEST_CASE("DataLoader: drop_last drops the incomplete batch") {
  nn::DataLoader loader(numbered(10), 3, /*shuffle=*/false, 0, /*drop_last=*/true);
  CHECK(loader.size() == 3);
  const auto b = pass(loader);
  REQUIRE(b.size() == 3);
  CHECK(b[2] == std::vector<double>{6, 7, 8});
  nn::DataLoader exact(numbered(9), 3, false, 0, true);
  CHECK(exact.size() == 3);
  nn::DataLoader none(numbered(2), 3, false, 0, true);
  CHECK(none.size() == 0);
  CHECK(pass(none).empty());
}

TEST_CASE("DataLoader: batch_size 1 yields every row alone, as a [1, F] batch") {
  nn::DataLoader loader(numbered(4), 1);
  std::size_t k = 0;
  for (const nn::Batch& b : loader) {
    CHECK(b.x.shape() == ag::Shape{1, 2});
    CHECK(b.y.shape() == ag::Shape{1});
    CHECK(values(b.y)[0] == double(k));
    ++k;
  }
  CHECK(k == 4);
  CHECK(!error_of<ag::ValueError>([] { nn::DataLoader(numbered(3), 0); }).empty());
}

TEST_CASE("DataLoader: shuffle is a permutation per pass, new each pass, reproducible by seed") {
  nn::DataLoader a(numbered(20), 6, /*shuffle=*/true, /*seed=*/123);
  nn::DataLoader b(numbered(20), 6, true, 123);
  nn::DataLoader c(numbered(20), 6, true, 124);
  auto flat = [](const std::vector<std::vector<double>>& batches) {
    std::vector<double> all;
    for (const auto& v : batches) all.insert(all.end(), v.begin(), v.end());
    return all;
  };
  const auto a1 = pass(a), a2 = pass(a);
  REQUIRE(a1.size() == 4);
  CHECK(a1[0].size() == 6);
  CHECK(a1[3].size() == 2);
  std::vector<double> sorted = flat(a1);
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < 20; ++i) CHECK(sorted[i] == double(i));  // every row once
  std::vector<double> identity(20);
  for (std::size_t i = 0; i < 20; ++i) identity[i] = double(i);
  CHECK(flat(a1) != identity);   // shuffled
  CHECK(flat(a1) != flat(a2));   // a new order for the second pass
  CHECK(flat(pass(b)) == flat(a1));  // same seed: same sequence of passes
  CHECK(flat(pass(b)) == flat(a2));
  CHECK(flat(pass(c)) != flat(a1));  // another seed
}

TEST_CASE("permutation: Fisher-Yates covers every index once") {
  ag::Generator gen(9);
  const auto p = nn::permutation(50, gen);
  std::set<std::size_t> seen(p.begin(), p.end());
  CHECK(seen.size() == 50);
  CHECK(*seen.rbegin() == 49);
  CHECK(nn::permutation(0, gen).empty());
}
