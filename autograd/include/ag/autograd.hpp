#pragma once
// The autograd engine and its extension API: ag/backward.hpp (grad mode, anomaly mode,
// backward(), grad()) and ag/extend.hpp (record(), op(), VjpContext and the kernel helpers).
#include "ag/backward.hpp"
#include "ag/extend.hpp"
