// SPDX-License-Identifier: BSL-1.0
// `wix-inbox listen`: a local receiver of Wix's webhooks, as `stripe listen` is for Stripe. It
// verifies each POSTed body with the app's public key, drops redeliveries, prints each event as
// one NDJSON line, and may re-post it to a local URL. The command's row is in commands.cpp.
#pragma once

#include "commands.hpp"

#include <wix/inbox/webhooks.hpp>

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace wix::inbox::cli {

struct ListenArgs : CommandArgs {
    std::string port, publicKey, forwardTo, listenAddress;

    void options(boost::program_options::options_description& into) override;
    /// A usage problem with the options (exit status 1), or nothing.
    std::optional<std::string> check(const GlobalSettings& global) override;
    /// Serves until SIGINT or SIGTERM (exit status 0); 1 when it cannot start (the key, the
    /// address), 2 when it stops on an error (standard output cannot be written).
    std::optional<int> runLocal() override;
};

/// An event as listen prints and forwards it: {"type", "eventId", "instanceId", "data"}, the
/// event's own fields in data (for an UnknownEvent, its envelope as it came).
boost::json::object eventLine(const webhooks::Event& event);

} // namespace wix::inbox::cli
