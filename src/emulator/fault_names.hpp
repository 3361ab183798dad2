// The emulator's one vocabulary for faults: each probability has one name, used as the
// command-line flag (--fault-503), the key of /_emulator/faults (`"fault-503"`) and the
// name in the stats' fault counts. Drawn in this order from one random sequence.
#pragma once

#include <wix/inbox/emulator.hpp>

#include <string_view>

namespace wix::inbox::emulator {

struct FaultKind {
    std::string_view name;
    double Faults::*probability;
    std::string_view what; ///< for --help and the docs
};

inline constexpr FaultKind faultKinds[] = {
    {"fault-429", &Faults::status429, "429 with Retry-After and the error envelope"},
    {"fault-500", &Faults::status500, "500 with an empty body"},
    {"fault-502", &Faults::status502, "502 with an HTML body"},
    {"fault-503", &Faults::status503, "503 with Retry-After and the error envelope"},
    {"fault-504", &Faults::status504, "504 with an empty body"},
    {"fault-stall", &Faults::stall, "read the request, never answer"},
    {"fault-close", &Faults::closeBeforeResponse, "read the request, close the connection"},
    {"fault-reset", &Faults::resetMidBody, "send half the body, then reset the connection"},
    {"fault-truncate", &Faults::truncatedBody, "send half the body, then close cleanly"},
    {"fault-malformed", &Faults::malformedJson, "200 with a body that is not JSON"},
    {"fault-lost-response", &Faults::lostResponse, "serve the request, then reset the connection before answering"},
};

} // namespace wix::inbox::emulator
