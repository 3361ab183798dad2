// SPDX-License-Identifier: BSL-1.0
// Who is calling: the OAuth tokens the emulator issues, the checks of Auth on API requests,
// and the tenant label a request's data and rate limit belong to. Without I/O; thread-safe.
#pragma once

#include "emulator/service.hpp"

#include <wix/inbox/emulator.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace wix::inbox::emulator {

/// The credentials a request presents, as its header fields.
struct Presented {
    std::string_view authorization;
    std::string_view siteId;    ///< wix-site-id
    std::string_view accountId; ///< wix-account-id
};

class Credentials {
public:
    using Clock = std::chrono::steady_clock;

    explicit Credentials(Auth auth) : auth_(std::move(auth)) {}

    /// POST /oauth2/token: a token for an app's client credentials and an instance.
    ServiceResponse issueToken(std::string_view body);
    /// Nothing when the request may proceed; otherwise the 401/403 to send.
    std::optional<ServiceResponse> authenticate(const Presented& presented);
    /// Whose data and limit a request is, as a label fit for the stats (no secret in it):
    /// "instance:ID", "site:GUID", "account:GUID", "token:HASH" or "anonymous".
    std::string tenantOf(const Presented& presented);
    /// Invalidates every issued token.
    void revoke();
    void resetCounts();

    std::uint64_t tokensIssued() const { return tokensIssued_.load(); }
    std::uint64_t rejected() const { return rejected_.load(); }

private:
    const Auth auth_;
    struct IssuedToken {
        Clock::time_point expiry;
        std::string instanceId;
    };
    std::mutex mutex_; // guards tokens_
    std::unordered_map<std::string, IssuedToken> tokens_;
    std::atomic<std::uint64_t> tokensIssued_{0}, rejected_{0};
};

} // namespace wix::inbox::emulator
