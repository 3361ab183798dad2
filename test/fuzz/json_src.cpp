// SPDX-License-Identifier: BSL-1.0
// Boost.JSON compiled from source, so the fuzzers see its code too.
#include <boost/json/src.hpp>
