// SPDX-License-Identifier: BSL-1.0
// Authentication of requests: the header lines each request carries, and the OAuth token
// cache with single-flight refresh. Thread-safe.
#pragma once

#include <wix/inbox/auth.hpp>

#include "endpoint.hpp"
#include "single_flight.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

struct OAuthToken {
    std::string accessToken;
    std::chrono::seconds expiresIn{0};
};

/// POST /oauth2/token: an app's access token, an unauthenticated call.
extern const Endpoint<OAuthApp, OAuthToken> requestToken;

class Authenticator {
public:
    /// Fetches a token from the token endpoint (the Client's unauthenticated call).
    using FetchToken = std::function<boost::asio::awaitable<Result<OAuthToken>>(Clock::time_point deadline)>;

    /// Throws Exception(invalidArgument) for credentials that cannot be sent (empty, line breaks).
    Authenticator(Credentials credentials, FetchToken fetch);

    /// Header lines (each ending in CRLF) for the next request.
    boost::asio::awaitable<Result<std::string>> headers(Clock::time_point deadline);
    /// The same when they are at hand (static credentials, a fresh OAuth token): callers
    /// skip a suspension on every request. False if headers() must be awaited. Static
    /// credentials leave `out` as it is: their lines are staticHeaders(), never copied.
    bool readyHeaders(std::string& out);
    /// The header lines of static credentials (an API key, an access token); empty for
    /// those that change (an OAuth app's token, a provider's).
    const std::string& staticHeaders() const noexcept { return fixed_; }

    /// A request sent with `used` got a 401. True if a new attempt can carry other
    /// credentials (a cached OAuth token is dropped; a provider will be asked again).
    bool rejected(const std::string& used);

    std::uint64_t tokenRequests() const;

    /// Replaces every secret of these credentials, and the Authorization value of `used`
    /// (a token fetched or provided for that request), with "[redacted]" in the texts of
    /// `e`: a server that echoes the request back must not put them in an error text.
    void redact(Error& e, std::string_view used) const;

private:
    boost::asio::awaitable<Result<std::string>> oauthHeaders(Clock::time_point deadline);
    /// Fetches a token and keeps it; its header line.
    boost::asio::awaitable<Result<std::string>> refresh(Clock::time_point deadline);
    /// The cached OAuth token's header line while it is fresh.
    std::optional<std::string> freshTokenHeaders() const;

    Credentials credentials_;
    FetchToken fetch_;
    std::string fixed_; // header lines of static credentials
    SingleFlight<std::string> refreshes_{"an access token"};

    mutable std::mutex mutex_; // guards the token
    std::string token_;
    Clock::time_point refreshAt_{};
};

} // namespace wix::inbox::detail
