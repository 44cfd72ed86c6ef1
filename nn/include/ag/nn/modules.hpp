#pragma once
// Every layer: ag/nn/modules/*.hpp.
#include "ag/nn/modules/activation.hpp"
#include "ag/nn/modules/attention.hpp"
#include "ag/nn/modules/container.hpp"
#include "ag/nn/modules/conv.hpp"
#include "ag/nn/modules/dropout.hpp"
#include "ag/nn/modules/embedding.hpp"
#include "ag/nn/modules/linear.hpp"
#include "ag/nn/modules/normalization.hpp"
#include "ag/nn/modules/pooling.hpp"
#include "ag/nn/modules/rnn.hpp"
#include "ag/nn/modules/transformer.hpp"
