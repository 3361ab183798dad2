// SPDX-License-Identifier: BSL-1.0
// The first program to copy: create a client, resolve a member to their conversation,
// handle the typed error.
//
//   example-get-or-create https://127.0.0.1:PORT /path/to/ca.pem 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f
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

// The client lives as long as the work that uses it: when it is destroyed, its pooled
// connections close and io_context::run() can return.
net::awaitable<int> resolve(inbox::ClientOptions options, std::string memberId)
{
    inbox::Client client(co_await net::this_coro::executor, std::move(options));
    auto r = co_await client.getOrCreateConversation(inbox::ParticipantId::member(memberId));
    if (!r) {
        const inbox::Error& e = r.error();
        // e.httpStatus, e.applicationCode, e.requestId, e.attempts... are there to branch on.
        std::cerr << "failed: " << e.describe() << "\n";
        co_return e.code == inbox::Errc::invalidArgument ? 2 : 1;
    }
    std::cout << "conversation " << r->conversation.id << (r->newConversation ? " (created)" : " (existing)")
              << "\n";
    co_return 0;
}

int main(int argc, char** argv)
{
    if (argc != 4) {
        std::cerr << "usage: " << argv[0] << " BASE_URL CA_FILE MEMBER_ID\n";
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
    net::co_spawn(ioc, resolve(std::move(options), argv[3]), [&](std::exception_ptr failure, int code) {
        exitCode = code;
        if (failure) {
            try {
                std::rethrow_exception(failure);
            } catch (const inbox::Exception& e) { // invalid options
                std::cerr << "invalid options: " << e.what() << "\n";
                exitCode = 2;
            }
        }
    });
    ioc.run();
    return exitCode;
}
