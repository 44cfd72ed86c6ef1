// ag::nn::dist over MPI: the checks of tests/nn/dist/dist_cases.hpp on every process of an mpirun
// job (registered with -np 2 and -np 3), plus what only a real MPI job shows. Its own main (Debian's
// doctest has no doctest_mpi.h): every rank runs every test case; ranks > 0 write their report to a
// buffer that is printed only when they fail; the exit code is the same on every rank and non-zero
// when any rank failed.
//
// `test_mpi --abort-demo`: rank 1 throws inside dist::run while the others wait in a barrier; the
// job must end (MPI_Abort) with "tapegrad: rank 1 of N failed: ..." rather than hang.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstring>
#include <iostream>
#include <sstream>

#include "nn/dist/dist_cases.hpp"

namespace dist = ag::nn::dist;
using namespace dist_cases;

TEST_CASE("mpi: world() is MPI under mpirun, one process without it") {
  dist::Communicator& w = dist::world();
  CHECK(dist::mpi_available());
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {
    CHECK(w.backend() == "mpi");
    CHECK(w.size() == std::atoi(std::getenv("OMPI_COMM_WORLD_SIZE")));
  } else {
    CHECK(w.backend() == "single");
    CHECK(w.size() == 1);
  }
}

TEST_CASE("mpi: all_reduce matches sums written out") { all_reduce_matches_direct_sums(dist::world()); }

TEST_CASE("mpi: broadcast and all_gather") { broadcast_and_gather(dist::world()); }

TEST_CASE("mpi: DataParallel trains like one process, with bit-identical copies at every step") {
  dist::Communicator& w = dist::world();
  Run c;
  REQUIRE(c.batch % static_cast<std::size_t>(w.size()) == 0);
  bool same = false;
  const std::vector<float> mine = train_data_parallel(w, c, same);
  CHECK(same);
  CHECK(max_abs_diff(mine, train_single_process(c)) < 2e-5);
}

TEST_CASE("mpi: uneven last batches are weighted by their rows") {
  dist::Communicator& w = dist::world();
  Run c;
  c.rows = 100;  // 4 rows left at the end of each epoch: with 3 ranks 2, 1, 1; with 2 ranks 2, 2
  c.uneven = dist::Uneven::none;
  c.steps = 27;
  bool same = false;
  const std::vector<float> mine = train_data_parallel(w, c, same);
  CHECK(same);
  CHECK(max_abs_diff(mine, train_single_process(c)) < 2e-5);
}

TEST_CASE("mpi: ordered mode is bit-identical to one process") {
  dist::Communicator& w = dist::world();
  Run c;
  c.ordered = true;
  c.micro = 2;
  bool same = false;
  const std::vector<float> mine = train_data_parallel(w, c, same);
  CHECK(same);
  bool unused = false;
  CHECK(mine == train_data_parallel(dist::single_world(), c, unused));
}

TEST_CASE("mpi: fit with the communicator trains like one process") { fit_matches_one_process(dist::world()); }

TEST_CASE("mpi: a parameter shape that differs across ranks is named on every rank") {
  if (dist::world().size() > 1) shape_mismatch_is_reported(dist::world());
}

int main(int argc, char** argv) {
  dist::Communicator& w = dist::world();  // initializes MPI under mpirun
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--abort-demo") == 0) {
      dist::run(w, [](dist::Communicator& c) {
        if (c.rank() == 1) throw ag::ValueError("boom on purpose");
        c.barrier();  // the other ranks would wait here forever
      });
      return 0;
    }

  doctest::Context ctx(argc, argv);
  std::ostringstream quiet;
  if (w.rank() > 0) ctx.setCout(&quiet);
  const int failed = ctx.run();
  if (ctx.shouldExit()) return failed;
  // Every rank ran the same cases; report each rank's failures, and fail everywhere if any failed.
  const std::vector<double> all = w.all_gather(static_cast<double>(failed != 0));
  if (w.rank() > 0 && failed != 0) std::cerr << "---- rank " << w.rank() << " failed:\n" << quiet.str() << std::flush;
  int any = 0;
  for (double f : all) any = any || f != 0.0;
  if (w.rank() == 0) std::cout << "test_mpi: " << w.size() << " rank(s), " << (any ? "FAILED" : "all passed") << "\n";
  return any;
}
