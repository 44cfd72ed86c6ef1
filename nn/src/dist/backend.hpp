#pragma once
// Private seam between the backend-independent communicator code and the MPI backend (mpi.cpp when
// CMake found MPI, no_mpi.cpp otherwise).
#include "ag/nn/dist.hpp"

namespace ag::nn::dist::backend {

bool mpi_built();
// MPI_COMM_WORLD, MPI initialized on first use; only called when mpi_built().
Communicator& mpi_world();

}  // namespace ag::nn::dist::backend
