// Boost.JSON compiled from source, so the fuzzers see its code too.
#include <boost/json/src.hpp>
