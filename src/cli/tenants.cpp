// SPDX-License-Identifier: BSL-1.0
#include "tenants.hpp"

namespace wix::inbox::cli {

Tenants::Tenants(Client& base, Credentials credentials, bool withheld)
    : base_(base)
    , credentials_(std::move(credentials))
    , withheld_(withheld)
{
}

std::variant<Client*, std::string> Tenants::clientFor(const std::optional<LineTenant>& tenant)
{
    if (!tenant) {
        // An API key alone serves only the lines that name their site; an app alone, those that
        // name their instance.
        const auto* apiKey = std::get_if<ApiKey>(&credentials_);
        if (apiKey && apiKey->siteId.empty() && apiKey->accountId.empty())
            return std::string("the line names no siteId, and no --site-id or --account-id was given for such lines");
        const auto* app = std::get_if<OAuthApp>(&credentials_);
        if (app && app->instanceId.empty())
            return std::string("the line names no instanceId, and no --instance-id was given for such lines");
        return &base_;
    }
    const bool site = tenant->kind == LineTenant::Kind::site;
    const std::string label = tenant->label();
    if (const auto it = clients_.find(label); it != clients_.end())
        return &it->second;
    Credentials credentials;
    if (const auto* apiKey = std::get_if<ApiKey>(&credentials_); apiKey && site)
        credentials = ApiKey{apiKey->key, tenant->id, apiKey->accountId};
    else if (const auto* app = std::get_if<OAuthApp>(&credentials_); app && !site)
        credentials = OAuthApp{app->appId, app->appSecret, tenant->id, app->refreshMargin};
    else if (withheld_)
        return std::string("the line names its ") + (site ? "siteId" : "instanceId")
             + ", but no credentials are sent (--emulator sends none: use --base-url for tenants of their own)";
    else
        return std::string(site ? "siteId goes with API-key credentials (--api-key)"
                                : "instanceId goes with OAuth app credentials (--app-id and --app-secret)");
    if (clients_.size() >= maxTenants)
        return "more than " + std::to_string(maxTenants) + " tenants in one job: split the input";
    return &clients_.emplace(label, base_.forTenant(std::move(credentials))).first->second;
}

ClientStats Tenants::stats() const
{
    ClientStats sum = base_.stats();
    for (const auto& [key, client] : clients_) {
        const auto s = client.stats();
        sum.calls += s.calls;
        sum.attempts += s.attempts;
        sum.retries += s.retries;
        sum.throttled += s.throttled;
        sum.rateLimitWaitSeconds += s.rateLimitWaitSeconds;
        sum.tokenRequests += s.tokenRequests;
    }
    return sum;
}

} // namespace wix::inbox::cli
