// Data: Dataset, DataLoader (batching, shuffle, drop_last), train_test_split, LabelEncoder,
// one-hot, class_indices, StandardScaler and MinMaxScaler.
#include <algorithm>
#include <set>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

namespace {

// x [n, 2] with row i = (i, 10·i); y [n] with y_i = i: every batch tells which rows it holds.
nn::Dataset numbered(std::size_t n) {
  std::vector<double> xs, ys;
  for (std::size_t i = 0; i < n; ++i) {
    xs.push_back(double(i));
    xs.push_back(10.0 * double(i));
    ys.push_back(double(i));
  }
  ag::Tensor x = ag::zeros({n, 2}, ag::f64), y = ag::zeros({n}, ag::f64);
  set_values(x, xs);
  set_values(y, ys);
  return nn::Dataset(x, y);
}

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

TEST_CASE("train_test_split: sizes, disjoint cover, seeded") {
  nn::Dataset d = numbered(10);
  auto [train, test] = nn::train_test_split(d, 0.3, 5);
  CHECK(train.size() == 7);
  CHECK(test.size() == 3);
  std::vector<double> all = values(train.y());
  const std::vector<double> t = values(test.y());
  all.insert(all.end(), t.begin(), t.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < 10; ++i) CHECK(all[i] == double(i));
  auto [train2, test2] = nn::train_test_split(d, 0.3, 5);
  CHECK(values(test2.y()) == t);
  CHECK(values(train2.x()) == values(train.x()));
  CHECK(!error_of<ag::ValueError>([&] { nn::train_test_split(d, 0.0, 1); }).empty());
  CHECK(!error_of<ag::ValueError>([&] { nn::train_test_split(d, 1.0, 1); }).empty());
  CHECK(!error_of<ag::ValueError>([&] { nn::train_test_split(d, 0.01, 1); }).empty());  // 0 rows
}

TEST_CASE("train_test_split: stratified keeps the class proportions") {
  // 12 rows of class 0, 8 of class 1 (labels = row id < 12 ? 0 : 1)
  nn::Dataset d = numbered(20);
  std::vector<std::size_t> cls(20);
  for (std::size_t i = 0; i < 20; ++i) cls[i] = i < 12 ? 0 : 1;
  auto [train, test] = nn::train_test_split(d, 0.25, 3, cls);
  REQUIRE(test.size() == 5);  // round(0.25·12) + round(0.25·8) = 3 + 2
  CHECK(train.size() == 15);
  std::size_t zeros_in_test = 0;
  for (double v : values(test.y())) zeros_in_test += v < 12;
  CHECK(zeros_in_test == 3);
  CHECK(!error_of<ag::ValueError>([&] { nn::train_test_split(d, 0.25, 3, {0, 1}); }).empty());
}

TEST_CASE("LabelEncoder: sorted classes, transform, inverse, one-hot") {
  nn::LabelEncoder enc;
  const std::vector<std::string> cities = {"San Francisco", "New York", "Boston", "New York"};
  const auto idx = enc.fit_transform(cities);
  CHECK(enc.classes() == std::vector<std::string>{"Boston", "New York", "San Francisco"});
  CHECK(idx == std::vector<std::size_t>{2, 1, 0, 1});
  CHECK(enc.inverse_transform(idx) == cities);
  CHECK(enc.inverse_transform(ag::Tensor({2.0, 0.0})) == std::vector<std::string>{"San Francisco", "Boston"});
  check_values(ag::one_hot(idx, enc.num_classes()), {4, 3}, {0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 0});

  const std::string unknown = error_of<ag::ValueError>([&] { enc.transform({"Chicago"}); });
  CHECK(contains(unknown, "'Chicago'"));
  CHECK(contains(unknown, "'Boston'"));
  CHECK(!error_of<ag::IndexError>([&] { enc.inverse_transform(std::vector<std::size_t>{3}); }).empty());
  CHECK(!error_of<ag::IndexError>([&] { enc.inverse_transform(ag::Tensor({0.5})); }).empty());
  nn::LabelEncoder fresh;
  CHECK(contains(error_of<ag::ValueError>([&] { fresh.transform({"a"}); }), "fit"));
}

TEST_CASE("LabelEncoder: numeric labels sort by value") {
  nn::LabelEncoder enc;
  enc.fit({"10", "2", "1", "2"});
  CHECK(enc.classes() == std::vector<std::string>{"1", "2", "10"});
  CHECK(enc.transform({"10", "1"}) == std::vector<std::size_t>{2, 0});
  enc.fit({"b", "10", "a"});  // not all numbers: lexicographic
  CHECK(enc.classes() == std::vector<std::string>{"10", "a", "b"});
}

TEST_CASE("class_indices: index columns and one-hot rows") {
  CHECK(nn::class_indices(ag::Tensor({2.0, 0.0, 1.0})) == std::vector<std::size_t>{2, 0, 1});
  CHECK(nn::class_indices(ag::tensor({{1.0}, {3.0}})) == std::vector<std::size_t>{1, 3});
  CHECK(nn::class_indices(ag::Tensor({{0.1, 0.7, 0.2}, {0.0, 0.0, 1.0}})) == std::vector<std::size_t>{1, 2});
  CHECK(!error_of<ag::IndexError>([] { nn::class_indices(ag::Tensor({-1.0})); }).empty());
}

TEST_CASE("StandardScaler: population statistics of the training rows only") {
  // train columns: (1, 2, 3) mean 2, std sqrt(2/3); (5, 5, 5) constant; (0, 0, 6) mean 2, std sqrt(8)
  ag::Tensor train({{1, 5, 0}, {2, 5, 0}, {3, 5, 6}}, ag::f64);
  nn::StandardScaler sc;
  const ag::Tensor z = sc.fit_transform(train);
  const double s1 = std::sqrt(2.0 / 3.0), s3 = std::sqrt(8.0);
  CHECK(sc.mean() == std::vector<double>{2, 5, 2});
  CHECK(sc.scale()[0] == doctest::Approx(s1));
  CHECK(sc.scale()[1] == 1.0);  // zero variance: scale 1, so the column maps to 0
  CHECK(sc.scale()[2] == doctest::Approx(s3));
  check_values(z, {3, 3}, {-1 / s1, 0, -2 / s3, 0, 0, -2 / s3, 1 / s1, 0, 4 / s3});
  // test rows use the training statistics
  ag::Tensor test({{4, 7, 2}}, ag::f64);
  check_values(sc.transform(test), {1, 3}, {2 / s1, 2, 0});
  check_values(sc.inverse_transform(sc.transform(test)), {1, 3}, {4, 7, 2});
  // dtype follows the input
  CHECK(sc.transform(train.to(ag::f32)).dtype() == ag::f32);
  CHECK(contains(error_of<ag::ShapeError>([&] { sc.transform(ag::zeros({2, 4}, ag::f64)); }), "[2, 4]"));
  nn::StandardScaler fresh;
  CHECK(!error_of<ag::ValueError>([&] { fresh.transform(train); }).empty());
  CHECK(!error_of<ag::ShapeError>([&] { fresh.fit(ag::zeros({3}, ag::f64)); }).empty());
}

TEST_CASE("MinMaxScaler: [lo, hi] from the training range, constant columns map to lo") {
  ag::Tensor train({{0, 3, 1}, {10, 3, -1}}, ag::f64);
  nn::MinMaxScaler sc(-1.0, 1.0);
  check_values(sc.fit_transform(train), {2, 3}, {-1, -1, 1, 1, -1, -1});
  CHECK(sc.data_min() == std::vector<double>{0, 3, -1});
  CHECK(sc.data_max() == std::vector<double>{10, 3, 1});
  ag::Tensor test({{5, 4, 3}}, ag::f64);  // outside the training range: not clipped
  check_values(sc.transform(test), {1, 3}, {0, 1, 3});
  check_values(sc.inverse_transform(sc.transform(test)), {1, 3}, {5, 4, 3});
  CHECK(!error_of<ag::ValueError>([] { nn::MinMaxScaler(1.0, 1.0); }).empty());
}
