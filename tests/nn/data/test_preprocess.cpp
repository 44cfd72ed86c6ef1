// Preprocessing: train_test_split, LabelEncoder, one-hot, class_indices, StandardScaler and
// MinMaxScaler.
#include <algorithm>

#include <doctest/doctest.h>

#include "support/module_util.hpp"

using namespace nn_test;
namespace nn = ag::nn;

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
