// SPDX-License-Identifier: BSL-1.0
// Messages: send a text to a member's conversation, then read the conversation from its
// first message to its last with the pager; a send whose outcome is unknown is checked, not
// repeated.
//
//   example-messages https://127.0.0.1:PORT /path/to/ca.pem 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f "Hello"
//
// With WIX_API_KEY and WIX_SITE_ID set, pass https://www.wixapis.com and "" as the CA file.
#include <wix/inbox.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdlib>
#include <iostream>

namespace net = boost::asio;
namespace inbox = wix::inbox;

std::string describe(const inbox::Message& m)
{
    const auto* basic = std::get_if<inbox::BasicContent>(&m.content);
    const auto* text = basic && !basic->items.empty() ? std::get_if<inbox::TextItem>(&basic->items.front()) : nullptr;
    return "#" + std::to_string(m.sequence.value_or(0)) + " " + (text ? text->text : "(not a text)");
}

net::awaitable<int> converse(inbox::ClientOptions options, std::string memberId, std::string text)
{
    inbox::Client client(co_await net::this_coro::executor, std::move(options));
    auto conversation = co_await client.getOrCreateConversation(inbox::ParticipantId::member(memberId));
    if (!conversation) {
        std::cerr << "failed: " << conversation.error().describe() << "\n";
        co_return 1;
    }
    const std::string& id = conversation->conversation.id;

    auto sent = co_await client.sendMessage(id, inbox::textMessage(text));
    if (!sent && sent.error().code == inbox::Errc::outcomeUnknown) {
        // The request may have arrived: the newest message tells, before any second send.
        auto newest = co_await client.listMessages(id, inbox::Visibility::business, {.limit = 1, .cursor = {}});
        const bool arrived = newest && !newest->messages.empty() && describe(newest->messages[0]).ends_with(" " + text);
        std::cerr << "the send's outcome was unknown; the conversation says it " << (arrived ? "arrived" : "did not arrive")
                  << "\n";
    } else if (!sent) {
        std::cerr << "failed: " << sent.error().describe() << "\n"; // e.g. invalidArgument for an empty text
        co_return 1;
    }

    auto pager = client.messages(id, inbox::Visibility::business, {.limit = 100, .cursor = {}, .order = inbox::SortOrder::asc});
    while (!pager.done()) {
        auto page = co_await pager.next();
        if (!page) {
            std::cerr << "failed: " << page.error().describe() << "\n";
            co_return 1;
        }
        for (const auto& m : page->messages)
            std::cout << describe(m) << "\n";
    }
    co_return 0;
}

int main(int argc, char** argv)
{
    if (argc != 5) {
        std::cerr << "usage: " << argv[0] << " BASE_URL CA_FILE MEMBER_ID TEXT\n";
        return 2;
    }
    inbox::ClientOptions options;
    options.baseUrl = argv[1];
    options.tls.caFile = argv[2];
    if (const char* key = std::getenv("WIX_API_KEY")) {
        const char* site = std::getenv("WIX_SITE_ID");
        options.credentials = inbox::ApiKey{key, site ? site : "", ""};
    }
    net::io_context ioc;
    int exitCode = 1;
    net::co_spawn(ioc, converse(std::move(options), argv[3], argv[4]), [&](std::exception_ptr failure, int code) {
        exitCode = failure ? 2 : code; // invalid options (inbox::Exception)
    });
    ioc.run();
    return exitCode;
}
