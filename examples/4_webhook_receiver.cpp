// SPDX-License-Identifier: BSL-1.0
// The fourth step: keep the conversation cache right with Wix's `conversations_merged`
// webhooks. A visitor who becomes a member gets a new conversation, and the old ID is gone;
// Wix tells your app with a webhook. This program is a small Beast HTTP server that receives
// them: it verifies each body with the app's public key, ignores redeliveries, hands the
// event to the Client of its instance (Client::applyMerge) and answers 200 at once (Wix
// waits 1,250 ms, then resends for up to 47 hours).
//
// Here the embedded emulator plays Wix: it sends its webhooks to this server, signed with a
// key of its own. Against Wix, give the server your app's public key (from the app's
// dashboard) and a public HTTPS URL (e.g. behind your TLS-terminating proxy).
//
//   example-webhook-receiver        (exit status 0 when every check holds)
#include <wix/inbox.hpp>
#include <wix/inbox/emulator.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace inbox = wix::inbox;
using tcp = net::ip::tcp;
constexpr auto noThrow = net::as_tuple(net::use_awaitable);

// What the server needs: the verifier, the Clients by app instance, the events seen.
// One thread runs the io_context here; guard RecentEvents if yours has more.
struct Receiver {
    inbox::webhooks::Verifier verifier;
    std::map<std::string, inbox::Client*> clientOfInstance;
    inbox::webhooks::RecentEvents seen;
    // For this demo's steps: merges applied, and a timer cancelled at each.
    int mergesApplied = 0;
    net::steady_timer applied;
};

// One request: verify, apply, answer. Whatever the body, the answer is short and says why in
// general terms only: the sender learns nothing of the key or the cache.
http::status handle(Receiver& r, const http::request<http::string_body>& request)
{
    if (request.method() != http::verb::post)
        return http::status::method_not_allowed;
    auto event = r.verifier.decode(request.body());
    if (!event) {
        std::cerr << "refused a webhook: " << event.error().message << "\n";
        return http::status::bad_request;
    }
    const auto* merged = std::get_if<inbox::webhooks::ConversationsMerged>(&*event);
    if (!merged)
        return http::status::ok; // another event type: not ours to handle, but received
    if (!r.seen.firstTime(merged->eventId))
        return http::status::ok; // a redelivery
    if (auto it = r.clientOfInstance.find(merged->instanceId); it != r.clientOfInstance.end()) {
        const auto dropped = it->second->applyMerge(*merged);
        std::cout << "merge " << merged->eventId << ": " << merged->oldConversationIds.size()
                  << " conversation(s) into " << merged->targetConversationId << ", " << dropped
                  << " cache entries dropped\n";
        ++r.mergesApplied;
        r.applied.cancel();
    }
    return http::status::ok;
}

// Ends a coroutine of the server: an exception (out of memory) is said, never dropped.
void reportFailure(const std::exception_ptr& e)
{
    if (!e)
        return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& what) {
        std::cerr << "the webhook server failed: " << what.what() << "\n";
    }
}

net::awaitable<void> serve(Receiver& r, tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        stream.expires_after(std::chrono::seconds(10)); // a peer that stalls goes away
        http::request_parser<http::string_body> parser;
        parser.body_limit(inbox::webhooks::maxBodyBytes);
        if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, noThrow); ec)
            co_return;
        const auto& request = parser.get();
        http::response<http::string_body> answer{handle(r, request), request.version()};
        answer.keep_alive(request.keep_alive());
        answer.prepare_payload();
        if (auto [ec, n] = co_await http::async_write(stream, answer, noThrow); ec || !answer.keep_alive())
            co_return;
    }
}

net::awaitable<void> listen(Receiver& r, tcp::acceptor& acceptor)
{
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(noThrow);
        if (ec)
            co_return;
        net::co_spawn(acceptor.get_executor(), serve(r, std::move(socket)), reportFailure);
    }
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

int main()
{
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    const auto url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/webhooks";

    inbox::emulator::Options emulated;
    emulated.webhookUrl = url;
    emulated.auth.apps["my-app-id"] = "my-app-secret"; // the emulator issues tokens to this app
    inbox::emulator::Emulator wix(emulated);

    // One tenant, an OAuth app instance, with a conversation cache.
    const std::string instance = "4c3a9f5e-0b1d-4e2f-8a7b-6c5d4e3f2a1b";
    inbox::ClientOptions options;
    options.baseUrl = wix.url();
    options.tls.caFile = wix.caFile();
    options.credentials = inbox::OAuthApp{"my-app-id", "my-app-secret", instance};
    options.conversationCache.capacity = 10'000;
    inbox::Client client(ioc.get_executor(), options);

    auto verifier = inbox::webhooks::Verifier::fromPem(readFile(wix.webhookPublicKeyFile()));
    if (!verifier) {
        std::cerr << verifier.error().describe() << "\n";
        return 1;
    }
    Receiver receiver{*verifier, {{instance, &client}}, inbox::webhooks::RecentEvents{}, 0, net::steady_timer(ioc)};
    net::co_spawn(ioc, listen(receiver, acceptor), reportFailure);

    int failures = 0;
    auto check = [&](bool ok, const std::string& what) {
        std::cout << (ok ? "ok: " : "FAILED: ") << what << "\n";
        failures += ok ? 0 : 1;
    };
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        const auto visitor = inbox::ParticipantId::anonymousVisitor("0b6e1d2c-3f4a-4b5c-9d8e-7f6a5b4c3d2e");
        const auto member = inbox::ParticipantId::member("1c7f2e3d-4a5b-4c6d-8e9f-0a1b2c3d4e5f");
        auto before = co_await client.getOrCreateConversation(visitor);
        check(before.has_value(), "the visitor has a conversation (now cached)");
        if (!before)
            std::cerr << before.error().describe() << "\n";

        // The visitor signs up: Wix merges their conversation into the member's new one.
        receiver.applied.expires_after(std::chrono::seconds(30));
        const auto promoted = wix.admin("POST", "/_emulator/promote",
                                        R"({"tenant": "instance:)" + instance + R"(", "from": {"anonymousVisitorId": ")"
                                            + visitor.id() + R"("}, "to": {"memberId": ")" + member.id() + R"("}})");
        check(promoted.status == 200, "the visitor became a member");
        auto conversationOfMember = co_await client.getOrCreateConversation(member); // the merge happens here
        if (receiver.mergesApplied == 0)
            co_await receiver.applied.async_wait(noThrow);
        check(receiver.mergesApplied == 1, "the webhook arrived, verified, and was applied");

        auto after = co_await client.getOrCreateConversation(visitor);
        check(after && conversationOfMember && after->conversation.id == conversationOfMember->conversation.id,
              "the visitor's conversation is now the member's (asked again, not the stale cached ID)");
        check(before && after && after->conversation.id != before->conversation.id, "the old ID is no longer used");
        const auto stats = client.stats().conversationCache;
        std::cout << "cache: " << stats.hits << " hits, " << stats.misses << " misses, " << stats.invalidated
                  << " dropped by the webhook, " << stats.reresolved << " calls re-sent after a 404\n";
        client.close();
        acceptor.close();
    }, [&](const std::exception_ptr& e) {
        if (e)
            ++failures;
    });
    ioc.run();
    std::cout << (failures == 0 ? "every check holds\n" : "some checks failed\n");
    return failures == 0 ? 0 : 1;
}
