// Credentials: how a Client authenticates to Wix. Headers follow the wire contract:
// the raw key or token in `Authorization` (no "Bearer").
//
// Secrets held here are never written to logs, error texts or exception messages.
#pragma once

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

using Credentials = std::variant<NoCredentials, ApiKey, AccessToken>;

} // namespace wix::inbox
