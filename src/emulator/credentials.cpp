// SPDX-License-Identifier: BSL-1.0
#include "emulator/credentials.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>

namespace wix::inbox::emulator {

ServiceResponse Credentials::issueToken(std::string_view body)
{
    boost::system::error_code ec;
    const auto root = boost::json::parse(body, ec);
    const auto* o = (!ec && root.is_object()) ? &root.get_object() : nullptr;
    auto field = [&](std::string_view key) -> std::string {
        const auto* v = o ? o->if_contains(key) : nullptr;
        return (v && v->is_string()) ? std::string(v->get_string()) : std::string();
    };
    if (!o || field("grant_type") != "client_credentials" || field("client_id").empty())
        return {400, validationErrorBody("grant_type client_credentials with client_id is required", "grant_type",
                                         "REQUIRED_FIELD"),
                {}};
    const auto app = auth_.apps.find(field("client_id"));
    if (app == auth_.apps.end() || app->second != field("client_secret") || field("instance_id").empty()) {
        ++rejected_;
        return {401, applicationErrorBody("invalid client credentials", "UNAUTHENTICATED"), {}};
    }
    thread_local std::mt19937_64 random{std::random_device{}()};
    char token[40];
    std::snprintf(token, sizeof token, "emu-%016llx%016llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random()));
    {
        std::lock_guard lock(mutex_);
        tokens_[token] = {Clock::now() + auth_.tokenLifetime, field("instance_id")};
    }
    ++tokensIssued_;
    return {200,
            boost::json::serialize(boost::json::object{{"access_token", token},
                                                       {"token_type", "Bearer"},
                                                       {"expires_in", auth_.tokenLifetime.count()}}),
            {}};
}

std::optional<ServiceResponse> Credentials::authenticate(const Presented& presented)
{
    if (!auth_.required)
        return std::nullopt;
    auto reject = [&](int status, std::string_view message, std::string_view code) {
        ++rejected_;
        return ServiceResponse{status, applicationErrorBody(message, code), {}};
    };
    if (presented.authorization.empty())
        return reject(401, "missing Authorization header", "UNAUTHENTICATED");
    auto listed = [&](const std::vector<std::string>& v) {
        return std::find(v.begin(), v.end(), presented.authorization) != v.end();
    };
    if (listed(auth_.apiKeys)) {
        if (presented.siteId.empty() && presented.accountId.empty())
            return reject(403, "an API key needs wix-site-id or wix-account-id", "MISSING_SITE_OR_ACCOUNT_ID");
        return std::nullopt;
    }
    if (listed(auth_.accessTokens))
        return std::nullopt;
    {
        std::lock_guard lock(mutex_);
        const auto it = tokens_.find(std::string(presented.authorization));
        if (it != tokens_.end() && Clock::now() < it->second.expiry)
            return std::nullopt;
    }
    return reject(401, "invalid or expired credentials", "UNAUTHENTICATED");
}

std::string Credentials::tenantOf(const Presented& presented)
{
    const std::string authorization(presented.authorization);
    if (authorization.empty())
        return std::string(ServiceRequest::anonymousTenant);
    {
        std::lock_guard lock(mutex_);
        if (const auto it = tokens_.find(authorization); it != tokens_.end())
            return "instance:" + it->second.instanceId;
    }
    if (!presented.siteId.empty())
        return "site:" + std::string(presented.siteId);
    if (!presented.accountId.empty())
        return "account:" + std::string(presented.accountId);
    char label[32]; // a static token: named by a hash, never by itself
    std::snprintf(label, sizeof label, "token:%016zx", std::hash<std::string>{}(authorization));
    return label;
}

void Credentials::revoke()
{
    std::lock_guard lock(mutex_);
    tokens_.clear();
}

void Credentials::resetCounts()
{
    tokensIssued_ = 0;
    rejected_ = 0;
}

} // namespace wix::inbox::emulator
