// Built instead of mpi.cpp when CMake did not find MPI (or TAPEGRAD_WITH_MPI=OFF).
#include "backend.hpp"

namespace ag::nn::dist::backend {

bool mpi_built() { return false; }
Communicator& mpi_world() {
  throw ValueError("dist::mpi_world: tapegrad was built without MPI (install an MPI, e.g. libopenmpi-dev, "
                   "and reconfigure with TAPEGRAD_WITH_MPI=ON)");
}

}  // namespace ag::nn::dist::backend
