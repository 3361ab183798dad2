// SPDX-License-Identifier: BSL-1.0
// Observer hooks against the emulator over TLS: what an observer is told, and that no
// secret is ever in it.
#define BOOST_TEST_MODULE observer
#include <boost/test/unit_test.hpp>

#include "support.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace wix::inbox;
using namespace std::chrono_literals;
using emulator::Emulator;
using test::guid;
namespace net = boost::asio;

namespace {

const std::string apiKey = "KEY-s3cr3t-api-key";
const std::string staticToken = "TOKEN-s3cr3t-static";
const std::string appSecret = "APP-s3cr3t-secret";

emulator::Options secured()
{
    emulator::Options o;
    o.auth.required = true;
    o.auth.apiKeys = {apiKey};
    o.auth.accessTokens = {staticToken};
    o.auth.apps = {{"app-1", appSecret}};
    return o;
}

struct Attempt {
    bool end = false;
    std::string operation, method, urlTemplate, tenant, errorType, requestId;
    int resendCount = 0, status = 0;
    bool throttled = false;
    std::optional<std::chrono::milliseconds> retryIn;
    std::vector<std::pair<std::string, std::string>> requestHeaders;
};

// Keeps every event, and every text of every event in `text` (for the secret search).
class Recorder : public Observer {
public:
    bool wantsHeaders() const override { return true; }
    void onAttemptStart(const AttemptStart& e) override
    {
        std::lock_guard lock(mutex);
        attempts.push_back(record(e.call, false, e.resendCount, e.requestHeaders));
    }
    void onAttemptEnd(const AttemptEnd& e) override
    {
        std::lock_guard lock(mutex);
        auto a = record(e.call, true, e.resendCount, e.requestHeaders);
        a.status = e.statusCode;
        a.errorType = e.errorType;
        a.requestId = e.requestId;
        a.retryIn = e.retryIn;
        a.throttled = e.throttled;
        note(e.errorType), note(e.requestId), note(e.retryAfter), note(e.responseHeaders);
        attempts.push_back(std::move(a));
        if (afterEnd)
            afterEnd(e);
    }
    void onRetry(const RetryEvent& e) override
    {
        std::lock_guard lock(mutex);
        note(e.call), note(e.reason);
        retries.push_back(e.delay);
    }
    void onThrottle(const ThrottleEvent& e) override
    {
        std::lock_guard lock(mutex);
        note(e.call);
        throttles.push_back(e.statusCode);
    }
    void onTokenRequest(const TokenRequestEvent& e) override
    {
        std::lock_guard lock(mutex);
        note(e.tenant), note(e.errorType);
        tokens.push_back(e.ok);
    }
    void onConnection(const ConnectionEvent& e) override
    {
        std::lock_guard lock(mutex);
        note(e.serverAddress), note(e.tenant);
        ++connections[std::string(toString(e.kind))];
    }
    void onCacheLookup(const CacheLookupEvent& e) override
    {
        std::lock_guard lock(mutex);
        note(e.tenant);
        lookups.push_back(e.hit);
    }

    std::mutex mutex;
    std::vector<Attempt> attempts;
    std::vector<std::chrono::milliseconds> retries;
    std::vector<int> throttles;
    std::vector<bool> tokens;
    std::map<std::string, int> connections;
    std::vector<bool> lookups;
    std::string text;
    std::function<void(const AttemptEnd&)> afterEnd;

private:
    void note(std::string_view s) { text.append(s).append("\n"); }
    void note(std::span<const HeaderField> headers)
    {
        for (const auto& h : headers)
            note(h.name), note(h.value);
    }
    void note(const CallAttributes& c) { note(c.operation), note(c.method), note(c.urlTemplate), note(c.serverAddress), note(c.tenant); }
    Attempt record(const CallAttributes& c, bool end, int resend, std::span<const HeaderField> headers)
    {
        note(c), note(headers);
        Attempt a;
        a.end = end;
        a.operation = c.operation;
        a.method = c.method;
        a.urlTemplate = c.urlTemplate;
        a.tenant = c.tenant;
        a.resendCount = resend;
        for (const auto& h : headers)
            a.requestHeaders.emplace_back(h.name, h.value);
        return a;
    }
};

ClientOptions observed(const Emulator& e, Credentials c, std::shared_ptr<Observer> o)
{
    auto options = test::optionsFor(e);
    options.credentials = std::move(c);
    options.observer = std::move(o);
    return options;
}

void noSecretIn(const std::string& text)
{
    for (const auto& secret : {apiKey, staticToken, appSecret, std::string("s3cr3t")})
        BOOST_TEST(text.find(secret) == std::string::npos, "a secret in the events: " << secret);
}

} // namespace

BOOST_AUTO_TEST_CASE(attempts_retries_throttling_and_connections_are_reported_without_secrets)
{
    auto eo = secured();
    eo.faults.status503 = 1.0; // until the observer has seen two of them
    eo.faults.retryAfterSeconds = 1;
    Emulator emu(eo);
    auto recorder = std::make_shared<Recorder>();
    int served503 = 0;
    recorder->afterEnd = [&](const AttemptEnd& e) {
        if (e.statusCode == 503 && ++served503 == 2)
            emu.setFaults({});
    };
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), observed(emu, ApiKey{apiKey, "site-1", ""}, recorder));
        auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
        BOOST_TEST(r.has_value());
        auto again = co_await client.getConversation(r->conversation.id);
        BOOST_TEST(again.has_value());
        co_return true;
    }());

    const auto& a = recorder->attempts;
    BOOST_REQUIRE_EQUAL(a.size(), 8u); // three attempts of the first call, one of the second, start and end each
    for (std::size_t i = 0; i < 6; ++i) {
        BOOST_TEST(a[i].end == (i % 2 == 1));
        BOOST_TEST(a[i].operation == "GetOrCreateConversation");
        BOOST_TEST(a[i].method == "POST");
        BOOST_TEST(a[i].urlTemplate == "/inbox/v2/conversations");
        BOOST_TEST(a[i].tenant == "site:site-1");
        BOOST_TEST(a[i].resendCount == static_cast<int>(i / 2));
    }
    BOOST_TEST(a[1].status == 503);
    BOOST_TEST(a[1].errorType == "503");
    BOOST_TEST(a[1].retryIn.has_value());
    BOOST_TEST(a[1].throttled); // Retry-After: 1 names a wait
    BOOST_TEST(a[3].status == 503);
    BOOST_TEST(a[5].status == 200);
    BOOST_TEST(a[5].errorType.empty());
    BOOST_TEST(!a[5].throttled);
    BOOST_TEST(!a[5].requestId.empty());
    BOOST_TEST(!a[5].retryIn.has_value());
    BOOST_TEST(a[7].operation == "GetConversation");
    BOOST_TEST(a[7].method == "GET");
    BOOST_TEST(a[7].urlTemplate == "/inbox/v2/conversations/{conversationId}");
    BOOST_TEST(a[7].status == 200);
    BOOST_TEST(a[7].resendCount == 0);

    BOOST_REQUIRE_EQUAL(recorder->retries.size(), 2u);
    for (const auto delay : recorder->retries)
        BOOST_TEST(delay >= 900ms); // Retry-After: 1
    BOOST_TEST(recorder->throttles == std::vector<int>({503, 503}));
    BOOST_TEST(recorder->connections["opened"] >= 1);
    BOOST_TEST(recorder->connections["reused"] >= 1);

    bool authorizationSeen = false;
    for (const auto& [name, value] : a[0].requestHeaders)
        if (name == "Authorization") {
            authorizationSeen = true;
            BOOST_TEST(value == "[redacted]");
        }
    BOOST_TEST(authorizationSeen);
    noSecretIn(recorder->text);
}

BOOST_AUTO_TEST_CASE(token_requests_and_static_tokens_are_reported_without_secrets)
{
    Emulator emu(secured());
    auto recorder = std::make_shared<Recorder>();
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client app(ioc.get_executor(), observed(emu, OAuthApp{"app-1", appSecret, "instance-1"}, recorder));
        BOOST_TEST((co_await app.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        Client token(ioc.get_executor(), observed(emu, AccessToken{staticToken}, recorder));
        BOOST_TEST((co_await token.getOrCreateConversation(ParticipantId::member(guid(2)))).has_value());
        co_return true;
    }());
    BOOST_TEST(recorder->tokens == std::vector<bool>({true}));
    const auto& a = recorder->attempts;
    BOOST_REQUIRE(a.size() >= 2u);
    BOOST_TEST(a[0].operation == "RequestToken");
    BOOST_TEST(a[0].urlTemplate == "/oauth2/token");
    BOOST_TEST(a[1].operation == "RequestToken");
    BOOST_TEST(a[1].status == 200);
    BOOST_TEST(a[2].operation == "GetOrCreateConversation");
    BOOST_TEST(a[2].tenant == "instance:instance-1");
    noSecretIn(recorder->text);
}

BOOST_AUTO_TEST_CASE(conversation_cache_lookups_are_reported)
{
    Emulator emu;
    auto recorder = std::make_shared<Recorder>();
    auto options = observed(emu, NoCredentials{}, recorder);
    options.conversationCache.capacity = 100;
    net::io_context ioc;
    test::run(ioc, [&]() -> net::awaitable<bool> {
        Client client(ioc.get_executor(), options);
        BOOST_TEST((co_await client.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        BOOST_TEST((co_await client.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        co_return true;
    }());
    BOOST_TEST(recorder->lookups == std::vector<bool>({false, true}));
    BOOST_TEST(recorder->attempts.size() == 2u); // the hit sent nothing
}

// An observer that throws from every callback: the calls go on as if it did not.
class Throwing : public Observer {
public:
    void onAttemptStart(const AttemptStart&) override { throw std::runtime_error("observer"); }
    void onAttemptEnd(const AttemptEnd&) override { throw std::runtime_error("observer"); }
    void onConnection(const ConnectionEvent&) override { throw std::runtime_error("observer"); }
};

BOOST_AUTO_TEST_CASE(an_observer_that_throws_changes_nothing)
{
    Emulator emu;
    net::io_context ioc;
    const auto r = test::run(ioc, [&]() -> net::awaitable<test::GetOrCreateResult> {
        Client client(ioc.get_executor(), observed(emu, NoCredentials{}, std::make_shared<Throwing>()));
        co_return co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
    }());
    BOOST_TEST(r.has_value());
}

// A 503 with `Retry-After: 0` names no wait: a failure retried after the backoff, not a
// request to slow down. The events, the log line and the counters say the same; a 429 is a
// throttle whatever its Retry-After.
BOOST_AUTO_TEST_CASE(a_503_naming_no_wait_is_no_throttle_in_events_log_or_counters)
{
    for (const int status : {503, 429}) {
        auto eo = secured();
        (status == 503 ? eo.faults.status503 : eo.faults.status429) = 1.0; // until the first is seen
        eo.faults.retryAfterSeconds = 0;
        Emulator emu(eo);
        auto recorder = std::make_shared<Recorder>();
        recorder->afterEnd = [&](const AttemptEnd& e) {
            if (e.statusCode == status)
                emu.setFaults({});
        };
        std::vector<std::string> lines;
        auto log = std::make_shared<LogObserver>(LogObserver::Level::info,
                                                 [&](LogObserver::Level, std::string_view l) { lines.emplace_back(l); });
        auto both = std::make_shared<FanOutObserver>(std::vector<std::shared_ptr<Observer>>{recorder, log});
        net::io_context ioc;
        const auto throttledCount = test::run(ioc, [&]() -> net::awaitable<std::uint64_t> {
            Client client(ioc.get_executor(), observed(emu, ApiKey{apiKey, "site-1", ""}, both));
            auto r = co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
            BOOST_TEST(r.has_value());
            co_return client.stats().throttled;
        }());
        const bool throttle = status == 429;
        const auto& a = recorder->attempts;
        BOOST_REQUIRE_EQUAL(a.size(), 4u); // the refused attempt and its retry, start and end each
        BOOST_TEST(a[1].status == status);
        BOOST_TEST(a[1].retryIn.has_value());
        BOOST_TEST(a[1].throttled == throttle);
        BOOST_TEST(recorder->throttles.size() == (throttle ? 1u : 0u));
        BOOST_TEST(throttledCount == (throttle ? 1u : 0u));
        BOOST_REQUIRE_EQUAL(lines.size(), 2u);
        BOOST_TEST(lines[0].find("Retry-After 0") != std::string::npos, lines[0]);
        BOOST_TEST((lines[0].find("throttled") != std::string::npos) == throttle, lines[0]);
    }
}

// The service's own 429 (its rate limit) names no wait: the retry's pause is the backoff,
// and the log line still says the server asked to slow down, as the events and counters do.
BOOST_AUTO_TEST_CASE(a_429_naming_no_wait_is_logged_as_a_throttle)
{
    auto eo = secured();
    eo.faults.rateLimit = 1; // one request an hour: the second call is refused
    eo.faults.rateLimitPeriod = std::chrono::hours(1);
    Emulator emu(eo);
    auto recorder = std::make_shared<Recorder>();
    recorder->afterEnd = [&](const AttemptEnd& e) {
        if (e.statusCode == 429)
            emu.setFaults({}); // the retry is admitted
    };
    std::vector<std::string> lines;
    auto log = std::make_shared<LogObserver>(LogObserver::Level::info,
                                             [&](LogObserver::Level, std::string_view l) { lines.emplace_back(l); });
    net::io_context ioc;
    const auto throttledCount = test::run(ioc, [&]() -> net::awaitable<std::uint64_t> {
        auto options = observed(emu, ApiKey{apiKey, "site-1", ""}, alsoTell(recorder, log));
        options.rateLimit = RateLimitOptions::off();
        Client client(ioc.get_executor(), options);
        BOOST_TEST((co_await client.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        BOOST_TEST((co_await client.getOrCreateConversation(ParticipantId::member(guid(1)))).has_value());
        co_return client.stats().throttled;
    }());
    const auto& a = recorder->attempts;
    BOOST_REQUIRE_EQUAL(a.size(), 6u); // the first call, then the refused attempt and its retry
    BOOST_TEST(a[3].status == 429);
    BOOST_TEST(a[3].throttled);
    BOOST_TEST(a[3].retryIn.has_value());
    BOOST_TEST(recorder->throttles.size() == 1u);
    BOOST_TEST(throttledCount == 1u);
    BOOST_REQUIRE_EQUAL(lines.size(), 3u);
    BOOST_TEST(lines[1].find(" 429 ") != std::string::npos, lines[1]);
    BOOST_TEST(lines[1].find("throttled, backoff") != std::string::npos, lines[1]);
    BOOST_TEST(lines[2].find("throttled") == std::string::npos, lines[2]);
}

// Several observers at once: each is told everything, whatever the one before it did.
BOOST_AUTO_TEST_CASE(a_fan_out_tells_every_observer_even_after_one_throws)
{
    Emulator emu;
    auto recorder = std::make_shared<Recorder>();
    auto fanOut = std::make_shared<FanOutObserver>(
        std::vector<std::shared_ptr<Observer>>{std::make_shared<Throwing>(), nullptr, recorder});
    BOOST_TEST(fanOut->wantsHeaders()); // the recorder's wish
    net::io_context ioc;
    const auto r = test::run(ioc, [&]() -> net::awaitable<test::GetOrCreateResult> {
        Client client(ioc.get_executor(), observed(emu, NoCredentials{}, fanOut));
        co_return co_await client.getOrCreateConversation(ParticipantId::member(guid(1)));
    }());
    BOOST_TEST(r.has_value());
    BOOST_REQUIRE(recorder->attempts.size() == 2u); // start and end, past the throwing observer
    BOOST_TEST(recorder->attempts[1].status == 200);
    BOOST_TEST(!recorder->attempts[0].requestHeaders.empty());
    BOOST_TEST(recorder->connections["opened"] == 1);
}

BOOST_AUTO_TEST_CASE(also_tell_adds_a_fan_out_only_for_two_observers)
{
    auto one = std::make_shared<Recorder>();
    auto two = std::make_shared<Recorder>();
    BOOST_TEST(alsoTell(nullptr, one) == one);
    BOOST_TEST(alsoTell(one, nullptr) == one);
    BOOST_TEST(!alsoTell(nullptr, nullptr));
    const auto both = alsoTell(one, two);
    BOOST_REQUIRE(both != one && both != two);
    both->onCacheLookup(CacheLookupEvent{});
    BOOST_TEST(one->lookups.size() == 1u);
    BOOST_TEST(two->lookups.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_observer_of_a_four_thread_io_context_sees_every_attempt)
{
    auto eo = secured();
    eo.faults.status503 = 0.2;
    eo.faults.retryAfterSeconds = 0;
    Emulator emu(eo);
    auto recorder = std::make_shared<Recorder>();
    net::io_context ioc(4);
    std::optional<Client> client;
    client.emplace(ioc.get_executor(), observed(emu, ApiKey{apiKey, "site-1", ""}, recorder));
    auto tenant = client->forTenant(ApiKey{apiKey, "site-2", ""});
    std::atomic<int> ok{0}, done{0};
    constexpr int calls = 200;
    for (int i = 0; i < calls; ++i)
        net::co_spawn(ioc, (i % 2 ? *client : tenant).getOrCreateConversation(ParticipantId::member(guid(i % 50))),
                      [&](std::exception_ptr, test::GetOrCreateResult r) {
                          ok += r.has_value();
                          if (++done == calls) {
                              client->close();
                              tenant.close();
                          }
                      });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] { ioc.run(); });
    for (auto& t : threads)
        t.join();
    BOOST_TEST(ok.load() == calls);
    const auto attempts = client->stats().attempts + tenant.stats().attempts;
    std::size_t starts = 0, ends = 0, secondTenant = 0;
    for (const auto& a : recorder->attempts) {
        (a.end ? ends : starts) += 1;
        secondTenant += a.tenant == "site:site-2";
    }
    BOOST_TEST(starts == attempts);
    BOOST_TEST(ends == attempts);
    BOOST_TEST(secondTenant > 0u);
    noSecretIn(recorder->text);
}
