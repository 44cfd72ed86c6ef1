#pragma once
// Every user mistake raises an ag::Error subclass whose message names the op and the shapes/dtypes.
#include <stdexcept>
#include <string>

namespace ag {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ShapeError : Error { using Error::Error; };   // incompatible shapes, bad axes, bad reshape
struct DtypeError : Error { using Error::Error; };   // mixed or unsupported dtypes
struct GradError : Error { using Error::Error; };    // misuse of autograd (freed graph, no grad, ...)
struct IndexError : Error { using Error::Error; };   // out-of-range index
struct ValueError : Error { using Error::Error; };   // a bad argument value (empty tensor for item(), ...)
struct IOError : Error { using Error::Error; };      // files: missing, corrupt, mismatched
struct AnomalyError : Error { using Error::Error; }; // NaN/Inf seen under anomaly mode (ag/autograd.hpp)

}  // namespace ag
