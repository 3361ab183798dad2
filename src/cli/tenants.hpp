// SPDX-License-Identifier: BSL-1.0
// The clients of a batch's tenants: one per site or app instance its lines name, each with
// its own credentials, token, rate limiter and retry budget, all over the job's one
// connection pool (Client::forTenant).
#pragma once

#include "ndjson.hpp"

#include <wix/inbox/client.hpp>

#include <cstddef>
#include <string>
#include <unordered_map>
#include <variant>

namespace wix::inbox::cli {

class Tenants {
public:
    /// Tenants remembered at most in one job (each costs a Client); lines beyond it get
    /// error lines that say to split the input.
    static constexpr std::size_t maxTenants = 100000;

    /// `base` serves the lines that name no tenant; `credentials` are its own, from which a
    /// tenant's are made: an API key with the line's site, an OAuth app with its instance.
    /// `withheld`: no credentials are sent, whatever was given (--emulator).
    Tenants(Client& base, Credentials credentials, bool withheld);

    /// The client of a line's tenant, made at its first line; or why the line cannot name
    /// that tenant with these credentials (or, naming none, cannot go without one: an API
    /// key with neither site nor account).
    std::variant<Client*, std::string> clientFor(const std::optional<LineTenant>& tenant);

    /// The clients' statistics summed (the pool's are the one pool's).
    ClientStats stats() const;
    /// Tenants named so far.
    std::size_t size() const { return clients_.size(); }

private:
    Client& base_;
    Credentials credentials_;
    bool withheld_;
    std::unordered_map<std::string, Client> clients_; // by LineTenant::label()
};

} // namespace wix::inbox::cli
