// SPDX-License-Identifier: BSL-1.0
#include "auth.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <vector>

namespace wix::inbox::detail {
namespace net = boost::asio;
namespace json = boost::json;
using namespace std::string_view_literals;

namespace {

// Header values must not smuggle extra headers. The value itself is never echoed: it may
// be a secret.
void requireHeaderSafe(std::string_view value, std::string_view what, bool allowEmpty = false)
{
    if (!allowEmpty && value.empty())
        throw Exception(makeError(Errc::invalidArgument, std::string(what) + " is empty"));
    if (value.find_first_of("\r\n\0"sv) != std::string_view::npos)
        throw Exception(makeError(Errc::invalidArgument, std::string(what) + " contains a line break or NUL"));
}

std::string fixedHeaders(const Credentials& credentials)
{
    if (const auto* k = std::get_if<ApiKey>(&credentials)) {
        requireHeaderSafe(k->key, "API key");
        requireHeaderSafe(k->siteId, "site ID", true);
        requireHeaderSafe(k->accountId, "account ID", true);
        std::string h = "Authorization: " + k->key + "\r\n";
        if (!k->siteId.empty())
            h += "wix-site-id: " + k->siteId + "\r\n";
        if (!k->accountId.empty())
            h += "wix-account-id: " + k->accountId + "\r\n";
        return h;
    }
    if (const auto* t = std::get_if<AccessToken>(&credentials)) {
        requireHeaderSafe(t->token, "access token");
        return "Authorization: " + t->token + "\r\n";
    }
    if (const auto* app = std::get_if<OAuthApp>(&credentials)) {
        requireHeaderSafe(app->appId, "app ID");
        requireHeaderSafe(app->appSecret, "app secret");
        requireHeaderSafe(app->instanceId, "instance ID");
    }
    if (const auto* p = std::get_if<TokenProvider>(&credentials); p && !p->token)
        throw Exception(makeError(Errc::invalidArgument, "token provider is empty"));
    return {};
}

// Secrets shorter than this are not looked for: replacing every "a" would destroy the
// text and hide nothing.
constexpr std::size_t minRedactedLength = 4;

void redactIn(std::string& text, std::string_view secret)
{
    if (secret.size() < minRedactedLength)
        return;
    // ASCII case ignored: a server may echo a header's value upper-cased.
    const auto same = [](char a, char b) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        return lower(a) == lower(b);
    };
    constexpr std::string_view mark = "[redacted]";
    for (std::size_t from = 0;;) {
        const auto at = std::search(text.begin() + static_cast<std::ptrdiff_t>(from), text.end(), secret.begin(),
                                    secret.end(), same);
        if (at == text.end())
            return;
        from = static_cast<std::size_t>(at - text.begin());
        text.replace(from, secret.size(), mark);
        from += mark.size();
    }
}

// The token endpoint's `{"access_token", "token_type", "expires_in"}`.
Result<OAuthToken> decodeTokenResponse(std::string_view body)
{
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 16;
    const json::value root = json::parse(body, ec, {}, options);
    const json::object* o = (!ec && root.is_object()) ? &root.get_object() : nullptr;
    const json::value* token = o ? o->if_contains("access_token") : nullptr;
    if (!token || !token->is_string() || token->get_string().empty())
        return makeError(Errc::decodeError, "token response lacks 'access_token'");
    OAuthToken out;
    out.accessToken = std::string(token->get_string());
    if (out.accessToken.find_first_of("\r\n\0"sv) != std::string::npos)
        return makeError(Errc::decodeError, "token response holds a malformed 'access_token'");
    out.expiresIn = std::chrono::seconds(14400); // the documented lifetime when none is given
    if (const auto* expires = o->if_contains("expires_in"); expires && expires->is_number())
        out.expiresIn = std::chrono::seconds(std::clamp<std::int64_t>(expires->to_number<std::int64_t>(), 0, 86400LL * 365));
    return out;
}

std::optional<Error> encodeTokenRequest(const OAuthApp& app, Request& into)
{
    into.body = json::serialize(json::object{{"grant_type", "client_credentials"},
                                             {"client_id", app.appId},
                                             {"client_secret", app.appSecret},
                                             {"instance_id", app.instanceId}});
    return std::nullopt;
}

void decodeTokenInto(std::string_view body, Result<OAuthToken>& out)
{
    out = decodeTokenResponse(body);
}

} // namespace

const Endpoint<OAuthApp, OAuthToken> requestToken{
    "POST", "/oauth2/token", "RequestToken", "/oauth2/token", true, &encodeTokenRequest, &decodeTokenInto, false};

void Authenticator::redact(Error& e, std::string_view used) const
{
    std::vector<std::string_view> secrets;
    if (const auto* k = std::get_if<ApiKey>(&credentials_))
        secrets.push_back(k->key);
    else if (const auto* t = std::get_if<AccessToken>(&credentials_))
        secrets.push_back(t->token);
    else if (const auto* app = std::get_if<OAuthApp>(&credentials_))
        secrets.push_back(app->appSecret);
    for (std::string_view line = used; !line.empty();) {
        const auto end = std::min(line.find("\r\n"sv), line.size());
        if (line.starts_with("Authorization: "sv))
            secrets.push_back(line.substr(15, end - 15));
        line.remove_prefix(std::min(end + 2, line.size()));
    }
    for (const auto secret : secrets) {
        for (auto* text : {&e.message, &e.applicationCode, &e.requestId, &e.lastTransientFailure})
            redactIn(*text, secret);
        for (auto& v : e.fieldViolations)
            for (auto* text : {&v.field, &v.description, &v.violatedRule, &v.ruleName})
                redactIn(*text, secret);
    }
}

Authenticator::Authenticator(Credentials credentials, FetchToken fetch)
    : credentials_(std::move(credentials))
    , fetch_(std::move(fetch))
    , fixed_(fixedHeaders(credentials_))
{
}

net::awaitable<Result<std::string>> Authenticator::headers(Clock::time_point deadline)
{
    if (std::holds_alternative<OAuthApp>(credentials_))
        co_return co_await oauthHeaders(deadline);
    if (const auto* provider = std::get_if<TokenProvider>(&credentials_)) {
        auto token = co_await provider->token();
        if (!token) {
            Error e = token.error();
            e.cause = e.code;
            e.code = make_error_code(Errc::authFailed);
            co_return e;
        }
        if (token->empty() || token->find_first_of("\r\n\0"sv) != std::string::npos)
            co_return makeError(Errc::authFailed, "token provider returned an empty or malformed token");
        co_return "Authorization: " + *token + "\r\n";
    }
    co_return fixed_;
}

bool Authenticator::readyHeaders(std::string& out)
{
    if (std::holds_alternative<TokenProvider>(credentials_))
        return false;
    if (!std::holds_alternative<OAuthApp>(credentials_))
        return true;
    auto fresh = freshTokenHeaders();
    if (fresh)
        out = std::move(*fresh);
    return fresh.has_value();
}

std::optional<std::string> Authenticator::freshTokenHeaders() const
{
    std::lock_guard lock(mutex_);
    if (!token_.empty() && Clock::now() < refreshAt_)
        return "Authorization: " + token_ + "\r\n";
    return std::nullopt;
}

// The first caller that finds no fresh token fetches one; the others share its outcome.
net::awaitable<Result<std::string>> Authenticator::oauthHeaders(Clock::time_point deadline)
{
    co_return co_await refreshes_.run(
        {}, deadline, [this] { return freshTokenHeaders(); }, [this, deadline] { return refresh(deadline); });
}

net::awaitable<Result<std::string>> Authenticator::refresh(Clock::time_point deadline)
{
    const auto& app = std::get<OAuthApp>(credentials_);
    auto fetched = co_await fetch_(deadline);
    std::lock_guard lock(mutex_);
    if (!fetched) {
        Error e = std::move(fetched).error();
        token_.clear();
        if (e.code == make_error_code(Errc::cancelled) || e.code == make_error_code(Errc::timeout))
            co_return e; // this caller's own ending, not the token endpoint's answer
        e.cause = e.code;
        e.code = make_error_code(Errc::authFailed);
        e.message = "token request failed: " + (e.message.empty() ? e.cause.message() : e.message);
        co_return e;
    }
    const auto margin = std::min<std::chrono::seconds>(app.refreshMargin, fetched->expiresIn / 2);
    token_ = std::move(fetched->accessToken);
    refreshAt_ = Clock::now() + fetched->expiresIn - margin;
    co_return "Authorization: " + token_ + "\r\n";
}

bool Authenticator::rejected(const std::string& used)
{
    if (std::holds_alternative<TokenProvider>(credentials_))
        return true;
    if (!std::holds_alternative<OAuthApp>(credentials_))
        return false;
    std::lock_guard lock(mutex_);
    if (!token_.empty() && used == "Authorization: " + token_ + "\r\n")
        token_.clear(); // others may already have replaced it: then keep theirs
    return true;
}

std::uint64_t Authenticator::tokenRequests() const
{
    return refreshes_.led();
}

} // namespace wix::inbox::detail
