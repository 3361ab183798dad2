// SPDX-License-Identifier: BSL-1.0
// Credentials: how a Client authenticates to Wix. Headers follow the wire contract:
// the raw key or token in `Authorization` (no "Bearer").
//
// Secrets held here are never written to logs, error texts or exception messages.
#pragma once

#include <wix/inbox/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <variant>

namespace wix::inbox {

/// No Authorization header (the emulator's default mode).
struct NoCredentials {};

/// A site owner's API key. Sends `Authorization: <key>` plus `wix-site-id` and/or
/// `wix-account-id` when set (at least one is required by Wix for most calls).
struct ApiKey {
    std::string key;
    std::string siteId;
    std::string accountId;
};

/// An access token obtained elsewhere, sent as `Authorization: <token>`.
struct AccessToken {
    std::string token;
};

/// An app's OAuth client credentials. The Client gets tokens from `POST /oauth2/token` on
/// its own origin, through its pool and retry policy, and caches them: concurrent calls
/// share one token request, a token is refreshed `refreshMargin` before it expires (at
/// most half its lifetime), and a 401 drops it and retries the call once with a new one.
struct OAuthApp {
    std::string appId;
    std::string appSecret;
    std::string instanceId;
    std::chrono::seconds refreshMargin{300}; ///< Default 5 min.
};

/// Anything else: an awaitable returning the value of `Authorization`, called before
/// each request (cache inside it if fetching is costly). After a 401 it is called once
/// more and the call retried.
struct TokenProvider {
    std::function<boost::asio::awaitable<Result<std::string>>()> token;
};

using Credentials = std::variant<NoCredentials, ApiKey, AccessToken, OAuthApp, TokenProvider>;

} // namespace wix::inbox
