// SPDX-License-Identifier: BSL-1.0
// The emulator's fault settings, each defined once: its name (the command-line flag
// --fault-503, the key of /_emulator/faults, the name in the stats' fault counts), its type
// and range, its help, where it lives in Faults (whose initialisers are the defaults) and,
// for a fault, its answer. The flags, POST and GET /_emulator/faults, the stats and --help
// are all made from this table.
#pragma once

#include "emulator/service.hpp"
#include "emulator/tenant_limits.hpp"

#include <wix/inbox/emulator.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace wix::inbox::emulator {

/// A setting's value: a number (probabilities and whole numbers), a switch, or a rate.
using SettingValue = std::variant<double, bool, Rate>;

/// How a faulted request's answer reaches the client.
enum class Delivery {
    answer,       ///< the answer is sent whole (the fault's own, or the service's)
    stall,        ///< read the request, never answer
    close,        ///< read the request, close the connection
    resetMidBody, ///< send half the body, then reset (RST)
    truncate,     ///< send half the body, then close cleanly
    lost,         ///< serve the request, then reset before any byte of the answer
};

struct FaultSetting {
    enum class Type { probability, whole, flag, rate };
    std::string_view name;
    Type type;
    double lo = 0, hi = 0; ///< the range of a number
    std::string_view help;
    SettingValue (*get)(const Faults&);
    void (*set)(Faults&, const SettingValue&);
    /// A probability's fault: the answer in place of the service's (null: the service's),
    /// and how it is delivered.
    ServiceResponse (*respond)(const Faults&) = nullptr;
    Delivery delivery = Delivery::answer;

    bool isFault() const { return type == Type::probability; }
    /// What a value must be: "a number from 0 to 1", "true or false", ...
    std::string range() const;
    /// Its value in `faults` as a flag takes it: "0.5", "86400", "true", "200/min".
    std::string text(const Faults& faults) const;
};

/// How a setting given twice is refused, after its name: "--seed" as a flag, "seed" as a key.
inline constexpr std::string_view givenMoreThanOnce = " is given more than once";

/// Every setting, the faults first, in the order they are drawn from one random sequence.
std::span<const FaultSetting> faultSettings();

/// Sets `setting` on `faults` from a flag's text; otherwise "--NAME must be RANGE".
std::optional<std::string> applyFlag(const FaultSetting& setting, std::string_view text, Faults& faults);
/// The checks across settings, run once all are applied: the fault probabilities add up
/// to at most 1, latency-max-ms is 0 or at least latency-min-ms (and is raised to it).
/// `prefix` is "--" to name flags.
std::optional<FaultsProblem> checkFaults(Faults& faults, std::string_view prefix);

} // namespace wix::inbox::emulator
