// SPDX-License-Identifier: BSL-1.0
// Authentication against the emulator with credentials required, over real TLS.
#define BOOST_TEST_MODULE auth
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>

#include <algorithm>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

const std::string apiKey = "KEY-s3cr3t-api-key";
const std::string staticToken = "TOKEN-s3cr3t-static";
const std::string appSecret = "APP-s3cr3t-secret";

emulator::Options secured(std::chrono::seconds tokenLifetime = 14400s)
{
    emulator::Options o;
    o.auth.required = true;
    o.auth.apiKeys = {apiKey};
    o.auth.accessTokens = {staticToken};
    o.auth.apps = {{"app-1", appSecret}};
    o.auth.tokenLifetime = tokenLifetime;
    return o;
}

ClientOptions with(const Emulator& e, Credentials c)
{
    auto o = test::optionsFor(e);
    o.credentials = std::move(c);
    return o;
}

// Calls getOrCreate once; returns the result.
Result<GetOrCreateConversationResponse> callOnce(const Emulator& e, Credentials c, ClientStats* stats = nullptr)
{
    net::io_context ioc;
    return test::run(ioc, [&]() -> net::awaitable<Result<GetOrCreateConversationResponse>> {
        Client client(ioc.get_executor(), with(e, std::move(c)));
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        if (stats)
            *stats = client.stats();
        co_return r;
    }());
}

bool mentionsSecret(const std::string& text)
{
    return text.find("s3cr3t") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(each_credential_kind_succeeds)
{
    Emulator emu(secured());
    BOOST_TEST(callOnce(emu, ApiKey{apiKey, "site-1", ""}).has_value());
    BOOST_TEST(callOnce(emu, ApiKey{apiKey, "", "account-1"}).has_value());
    BOOST_TEST(callOnce(emu, AccessToken{staticToken}).has_value());
    ClientStats stats;
    BOOST_TEST(callOnce(emu, OAuthApp{"app-1", appSecret, "instance-1"}, &stats).has_value());
    BOOST_TEST(stats.tokenRequests == 1u);
    BOOST_TEST(callOnce(emu, TokenProvider{[]() -> net::awaitable<Result<std::string>> { co_return staticToken; }})
                   .has_value());
    BOOST_TEST(emu.stats().tokensIssued == 1u);
}

// The service keeps each site's data apart: one conversation per participant per site, and a
// site reading another's conversation gets 403 NOT_OWNED_BY_BUSINESS. An OAuth instance is
// a site of its own.
BOOST_AUTO_TEST_CASE(each_site_has_its_own_conversations)
{
    Emulator emu(secured());
    const std::vector<Credentials> tenants{ApiKey{apiKey, guid(101), ""}, ApiKey{apiKey, guid(102), ""},
                                           OAuthApp{"app-1", appSecret, guid(103)}};
    net::io_context ioc;
    const bool done = test::run(ioc, [&]() -> net::awaitable<bool> {
        std::vector<std::string> ids;
        for (const auto& tenant : tenants) {
            Client client(ioc.get_executor(), with(emu, tenant));
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
            BOOST_REQUIRE(r.has_value());
            BOOST_TEST(r->newConversation); // new in each site
            BOOST_TEST((co_await client.getOrCreateConversation(ParticipantId::member(guid(1))))->conversation.id
                       == r->conversation.id); // and one per participant within it
            ids.push_back(r->conversation.id);
        }
        BOOST_TEST(ids[0] != ids[1]);
        BOOST_TEST(ids[1] != ids[2]);
        Client second(ioc.get_executor(), with(emu, tenants[1]));
        BOOST_TEST((co_await second.getConversation(ids[1])).has_value());
        for (const auto& other : {ids[0], ids[2]}) {
            auto refused = co_await second.getConversation(other);
            BOOST_REQUIRE(!refused.has_value());
            BOOST_TEST(refused.error().httpStatus == 403);
            BOOST_TEST(refused.error().applicationCode == "NOT_OWNED_BY_BUSINESS");
            BOOST_TEST(refused.error().attempts == 1); // not retried
        }
        co_return true;
    }());
    BOOST_TEST(done);
}

// A multi-tenant app: one Client per tenant over one pool. Each tenant asks for its token
// once however many calls it makes, and the pool outlives the Client it came from.
BOOST_AUTO_TEST_CASE(tenants_share_one_pool_and_fetch_one_token_each)
{
    Emulator emu(secured());
    net::io_context ioc;
    auto options = with(emu, ApiKey{apiKey, guid(200), ""});
    options.pool.maxConnections = 4;
    std::optional<Client> root(std::in_place, ioc.get_executor(), options);
    std::vector<Client> tenants;
    for (int t = 1; t <= 5; ++t)
        tenants.push_back(root->forTenant(OAuthApp{"app-1", appSecret, guid(200 + t)}));
    root.reset(); // the tenants keep the pool
    const int calls = 40;
    int ok = 0, completed = 0;
    for (auto& tenant : tenants)
        for (int i = 0; i < calls; ++i)
            net::co_spawn(ioc, tenant.getOrCreateConversation(ParticipantId::member(guid(i))),
                          [&](std::exception_ptr e, Result<GetOrCreateConversationResponse> r) {
                              BOOST_TEST(!e);
                              ok += r.has_value() ? 1 : 0;
                              if (++completed == calls * static_cast<int>(tenants.size()))
                                  ioc.stop(); // the pool's idle timer would keep run() going
                          });
    ioc.run_for(60s);
    BOOST_TEST(ok == calls * static_cast<int>(tenants.size()));
    const auto stats = emu.stats();
    BOOST_TEST(stats.tokensIssued == tenants.size()); // one token request per tenant
    BOOST_TEST(stats.conversations == static_cast<std::uint64_t>(calls) * tenants.size()); // each site its own
    for (auto& tenant : tenants) {
        BOOST_TEST(tenant.stats().calls == static_cast<std::uint64_t>(calls + 1)); // its token request too
        BOOST_TEST(tenant.stats().tokenRequests == 1u);
        BOOST_TEST(tenant.stats().pool.connectionsOpened <= 4u); // the one pool, whoever asks
    }
    tenants.clear(); // the last Client over the pool closes it: run() has nothing left to do
    ioc.restart();
    BOOST_TEST(ioc.run_for(10s) >= 0u);
    BOOST_TEST(ioc.stopped());
}

// Static credentials are not copied into each call: every call reads its own Client's. A
// tenant of a Client with an API key sends the tenant's lines, never the parent's, and the
// parent keeps sending its own.
BOOST_AUTO_TEST_CASE(a_tenant_with_static_credentials_sends_its_own)
{
    Emulator emu(secured());
    net::io_context ioc;
    const bool done = test::run(ioc, [&]() -> net::awaitable<bool> {
        Client root(ioc.get_executor(), with(emu, ApiKey{apiKey, guid(301), ""}));
        Client otherSite = root.forTenant(ApiKey{apiKey, guid(302), ""});
        Client wrongKey = root.forTenant(ApiKey{"KEY-s3cr3t-wrong", guid(301), ""});
        Client byToken = root.forTenant(AccessToken{staticToken});
        auto mine = co_await root.getOrCreateConversation(ParticipantId::member(guid(1)));
        auto theirs = co_await otherSite.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(mine.has_value());
        BOOST_REQUIRE(theirs.has_value());
        BOOST_TEST(theirs->newConversation); // in its own site, not the parent's
        BOOST_TEST(theirs->conversation.id != mine->conversation.id);
        auto refused = co_await otherSite.getConversation(mine->conversation.id);
        BOOST_REQUIRE(refused.has_error());
        BOOST_TEST(refused.error().httpStatus == 403);
        auto unauthenticated = co_await wrongKey.getConversation(mine->conversation.id);
        BOOST_REQUIRE(unauthenticated.has_error());
        BOOST_TEST(unauthenticated.error().httpStatus == 401);
        BOOST_TEST(!mentionsSecret(unauthenticated.error().describe()));
        BOOST_TEST((co_await byToken.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        // ...and the parent still sends its own, after its tenants'.
        auto again = co_await root.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE(again.has_value());
        BOOST_TEST(!again->newConversation);
        BOOST_TEST(again->conversation.id == mine->conversation.id);
        co_return true;
    }());
    BOOST_TEST(done);
}

BOOST_AUTO_TEST_CASE(wrong_credentials_are_typed_errors_and_not_retried)
{
    Emulator emu(secured());
    for (const Credentials& c : std::vector<Credentials>{NoCredentials{}, ApiKey{"KEY-s3cr3t-wrong", "site-1", ""},
                                                         AccessToken{"TOKEN-s3cr3t-wrong"}}) {
        auto r = callOnce(emu, c);
        BOOST_REQUIRE(r.has_error());
        BOOST_TEST(r.error().httpStatus == 401);
        BOOST_TEST(r.error().applicationCode == "UNAUTHENTICATED");
        BOOST_TEST(r.error().attempts == 1);
        BOOST_TEST(!mentionsSecret(r.error().describe()));
    }
    auto noSite = callOnce(emu, ApiKey{apiKey, "", ""});
    BOOST_REQUIRE(noSite.has_error());
    BOOST_TEST(noSite.error().httpStatus == 403);
    BOOST_TEST(noSite.error().attempts == 1);

    auto badApp = callOnce(emu, OAuthApp{"app-1", "APP-s3cr3t-wrong", "instance-1"});
    BOOST_REQUIRE(badApp.has_error());
    BOOST_TEST(badApp.error().code == make_error_code(Errc::authFailed));
    BOOST_TEST(badApp.error().httpStatus == 401);
    BOOST_TEST(!mentionsSecret(badApp.error().describe()));
    BOOST_TEST(emu.stats().byRoute.at("getOrCreateConversation") == 4u); // 4 API requests, each once
    BOOST_TEST(emu.stats().tokensIssued == 0u);
}

BOOST_AUTO_TEST_CASE(a_thousand_cold_calls_share_one_token_request)
{
    Emulator emu(secured());
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), with(emu, OAuthApp{"app-1", appSecret, "instance-1"}));
        const auto results = co_await test::getOrCreateAll(client, 1000, [](int i) { return i; });
        BOOST_TEST(std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); }));
        BOOST_TEST(client.stats().tokenRequests == 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().tokensIssued == 1u); // the emulator's own count proves it
}

BOOST_AUTO_TEST_CASE(tokens_are_refreshed_before_they_expire)
{
    Emulator emu(secured(2s)); // refreshed after half its life: 1 s
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), with(emu, OAuthApp{"app-1", appSecret, "instance-1"}));
        BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(1))));
        BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(2))));
        BOOST_TEST(emu.stats().tokensIssued == 1u);
        net::steady_timer later(ioc, 1200ms); // past the refresh point, before the expiry
        co_await later.async_wait(net::use_awaitable);
        BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(3))));
        BOOST_TEST(emu.stats().tokensIssued == 2u);
        BOOST_TEST(emu.stats().authRejected == 0u); // never sent an expired token
        co_return true;
    }());
}

BOOST_AUTO_TEST_CASE(a_401_refreshes_the_token_exactly_once)
{
    Emulator emu(secured());
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), with(emu, OAuthApp{"app-1", appSecret, "instance-1"}));
        BOOST_REQUIRE(co_await client.getOrCreateConversation(ParticipantId::member(guid(1))));
        emu.revokeTokens(); // the cached token is now refused
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
        BOOST_TEST(client.stats().tokenRequests == 2u);
        BOOST_TEST(emu.stats().authRejected == 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().tokensIssued == 2u);
}

BOOST_AUTO_TEST_CASE(a_provider_that_keeps_failing_auth_is_asked_once_more_only)
{
    Emulator emu(secured());
    int asked = 0;
    auto r = callOnce(emu, TokenProvider{[&]() -> net::awaitable<Result<std::string>> {
                          ++asked;
                          co_return std::string("TOKEN-s3cr3t-stale");
                      }});
    BOOST_REQUIRE(r.has_error());
    BOOST_TEST(r.error().httpStatus == 401);
    BOOST_TEST(asked == 2);
    BOOST_TEST(emu.stats().authRejected == 2u);
}

BOOST_AUTO_TEST_CASE(a_transiently_failing_token_endpoint_is_retried)
{
    auto o = secured();
    o.faults.status503 = 0.5;
    o.faults.retryAfterSeconds = 0;
    o.faults.seed = 7;
    Emulator emu(o);
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        auto options = with(emu, OAuthApp{"app-1", appSecret, "instance-1"});
        options.retry.maxAttempts = 30;
        options.retryBudget.maxTokens = 0;
        Client client(ioc.get_executor(), options);
        for (int i = 0; i < 10; ++i) {
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(i)));
            BOOST_REQUIRE_MESSAGE(r.has_value(), r.error().describe());
        }
        BOOST_TEST(client.stats().retries > 0u);
        BOOST_TEST(client.stats().tokenRequests == 1u);
        co_return true;
    }());
    BOOST_TEST(emu.stats().tokensIssued == 1u);
}
