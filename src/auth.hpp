// Authentication of requests: the header lines each request carries, and the OAuth token
// cache with single-flight refresh. Thread-safe.
#pragma once

#include <wix/inbox/auth.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace wix::inbox::detail {

using Clock = std::chrono::steady_clock;

struct OAuthToken {
    std::string accessToken;
    std::chrono::seconds expiresIn{0};
};

/// Decodes the token endpoint's `{"access_token", "token_type", "expires_in"}`.
Result<OAuthToken> decodeTokenResponse(std::string_view body);
/// The token endpoint's request body for an app.
std::string encodeTokenRequest(const OAuthApp& app);

class Authenticator {
public:
    /// Fetches a token from the token endpoint (the Client's unauthenticated call).
    using FetchToken = std::function<boost::asio::awaitable<Result<OAuthToken>>(Clock::time_point deadline)>;

    /// Throws Exception(invalidArgument) for credentials that cannot be sent (empty, line breaks).
    Authenticator(boost::asio::any_io_executor executor, Credentials credentials, FetchToken fetch);

    /// Header lines (each ending in CRLF) for the next request.
    boost::asio::awaitable<Result<std::string>> headers(Clock::time_point deadline);
    /// The same when they are at hand (static credentials, a fresh OAuth token): callers
    /// skip a suspension on every request. False if headers() must be awaited.
    bool readyHeaders(std::string& out);

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
    /// The cached OAuth token's header line while it is fresh; mutex_ held.
    std::optional<std::string> freshTokenHeaders() const;
    template <class Token>
    auto waitForRefresh(boost::asio::steady_timer& timer, std::uint64_t generation, Token&& token);

    boost::asio::any_io_executor executor_;
    Credentials credentials_;
    FetchToken fetch_;
    std::string fixed_; // header lines of static credentials

    mutable std::mutex mutex_;
    std::string token_;
    Clock::time_point refreshAt_{};
    bool refreshing_ = false;
    std::uint64_t generation_ = 0;           // bumped when a refresh ends
    std::optional<Error> lastRefreshError_;
    std::set<boost::asio::steady_timer*> waiting_;
    std::uint64_t tokenRequests_ = 0;
};

} // namespace wix::inbox::detail
