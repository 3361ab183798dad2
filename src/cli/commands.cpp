// SPDX-License-Identifier: BSL-1.0
#include "commands.hpp"

#include "batch_command.hpp"
#include "listen.hpp"
#include "option_values.hpp"
#include "send_line.hpp"
#include "terminal.hpp"

#include <wix/inbox/codec.hpp>
#include <wix/inbox/webhooks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <array>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>

namespace wix::inbox::cli {
namespace net = boost::asio;
namespace po = boost::program_options;
namespace json = boost::json;
namespace {

// Runs one coroutine on `ioc` to completion, leaving the pool's timers alone.
template <class T>
T runToCompletion(net::io_context& ioc, net::awaitable<T> work)
{
    std::optional<T> out;
    net::co_spawn(ioc, std::move(work), [&](const std::exception_ptr& e, T v) {
        if (e)
            std::rethrow_exception(e);
        out.emplace(std::move(v));
    });
    while (!out && ioc.run_one() > 0)
        ;
    return std::move(*out);
}

// Exit 2 for a call that failed; 1 for input the client refused before sending anything (a
// malformed ID): that is a usage error, as the exit-status table in docs/cli.md has it.
int failed(const Error& e)
{
    std::cerr << "wix-inbox: " << printable(e.describe(), 4096) << "\n";
    if (e.code == Errc::tlsHandshakeFailed)
        std::cerr << "wix-inbox: hint: a server whose certificate is signed by a private CA (such as a standalone "
                     "emulator, whose start-up line names its ca_file) needs --ca-file\n";
    return e.code == Errc::invalidArgument ? 1 : 2;
}

void print(const json::object& o)
{
    std::cout << terminalSafeJson(json::serialize(o)) << "\n";
}

// A call's Result printed as one JSON line (`wrap` names the object's key, if any).
template <class T>
int printed(const Result<T>& r, std::string_view wrap = {})
{
    if (!r)
        return failed(r.error());
    if (wrap.empty())
        print(toJson(*r));
    else
        print(json::object{{wrap, toJson(*r)}});
    return 0;
}

// A batch line's outcome from a call's Result.
template <class T>
LineOutcome lineOutcome(std::uint64_t n, const BatchRequest& request, const Result<T>& r, std::string_view wrap = {})
{
    if (!r)
        return {errorLine(n, request.passthrough, r.error()), r.error()};
    return {okLine(n, request.passthrough, wrap.empty() ? toJson(*r) : json::object{{wrap, toJson(*r)}}), std::nullopt};
}

// Runs `call` on the session's io_context and prints its result, as printed() does.
template <class T>
int printedCall(const Session& session, net::awaitable<Result<T>> call, std::string_view wrap = {})
{
    return printed(runToCompletion(session.ioc, std::move(call)), wrap);
}

// Not in the worker's coroutine: the copy of an error stays off its frame.
template <class T>
void reportDone(BenchLoop& loop, const Result<T>& r)
{
    if (r) {
        loop.done(nullptr);
        return;
    }
    const Error error = r.error(); // Result gives its error by value
    loop.done(&error);
}

// A bench worker of the operation `call` makes (call i of the run).
template <auto call>
net::awaitable<void> benchWorker(Client& client, const BenchInputs& in, BenchLoop& loop)
{
    for (std::uint64_t i = 0; loop.next(i);)
        reportDone(loop, co_await call(client, in, i));
}

// --- get ---------------------------------------------------------------------------------
struct GetArgs : CommandArgs {
    int run(const Session& s) override
    {
        return printedCall(s, s.client.getConversation(positional.front()), "conversation");
    }
};

net::awaitable<LineOutcome> lineGet(std::uint64_t n, Client& client, const BatchRequest& request, const CallOptions& o,
                                    SendContext&)
{
    co_return lineOutcome(n, request, co_await client.getConversation(request.conversationId, o), "conversation");
}

net::awaitable<Result<Conversation>> benchGet(Client& client, const BenchInputs& in, std::uint64_t i)
{
    return client.getConversation(in.conversationIds[i % in.conversationIds.size()]);
}

// --- get-or-create -----------------------------------------------------------------------
struct GetOrCreateArgs : CommandArgs {
    std::string memberId, contactId, visitorId;
    std::optional<ParticipantId> participant; // once checked

    void options(po::options_description& d) override
    {
        d.add_options()("member-id", po::value(&memberId), "member GUID")("contact-id", po::value(&contactId),
                                                                          "contact GUID")(
            "anonymous-visitor-id", po::value(&visitorId), "anonymous visitor GUID");
    }

    std::optional<std::string> check(const GlobalSettings&) override
    {
        if (!memberId.empty() + !contactId.empty() + !visitorId.empty() != 1)
            return "get-or-create needs exactly one of --member-id, --contact-id, --anonymous-visitor-id";
        participant = !memberId.empty()    ? ParticipantId::member(memberId)
                    : !contactId.empty()   ? ParticipantId::contact(contactId)
                                           : ParticipantId::anonymousVisitor(visitorId);
        return std::nullopt;
    }

    int run(const Session& s) override { return printedCall(s, s.client.getOrCreateConversation(*participant)); }
};

net::awaitable<LineOutcome> lineGetOrCreate(std::uint64_t n, Client& client, const BatchRequest& request,
                                            const CallOptions& o, SendContext&)
{
    co_return lineOutcome(n, request, co_await client.getOrCreateConversation(*request.participant, o));
}

net::awaitable<Result<GetOrCreateConversationResponse>> benchGetOrCreate(Client& client, const BenchInputs& in,
                                                                         std::uint64_t i)
{
    return client.getOrCreateConversation(in.participants[i % in.participants.size()]);
}

// --- messages list -----------------------------------------------------------------------
struct ListArgs : CommandArgs {
    std::string visibility, order, limit, cursor;
    bool all = false;
    // Once checked.
    Visibility listVisibility = Visibility::business;
    ListMessagesOptions listing;

    void options(po::options_description& d) override
    {
        d.add_options()
            ("visibility", po::value(&visibility)->default_value("business"), "business (every message) or "
                                                                             "participant (those the participant "
                                                                             "sees)")
            ("order", po::value(&order)->default_value("desc"), "asc (oldest first) or desc")
            ("limit", po::value(&limit), "messages per page: 1-100 (default: the service's, 30)")
            ("cursor", po::value(&cursor), "continue a listing from a page's next cursor")
            ("all", po::bool_switch(&all), "every page, not only the first");
    }

    std::optional<std::string> check(const GlobalSettings&) override
    {
        if (positional.front() != "list")
            return "messages takes 'list' and a conversation ID";
        if (visibility != "business" && visibility != "participant")
            return "--visibility takes business or participant";
        if (order != "asc" && order != "desc")
            return "--order takes asc or desc";
        listVisibility = visibility == "business" ? Visibility::business : Visibility::businessAndParticipant;
        listing.order = order == "asc" ? SortOrder::asc : SortOrder::desc;
        if (!limit.empty()) {
            std::string problem;
            const auto pageSize = wholeNumber("limit", limit, 1, 100, problem);
            if (!pageSize)
                return problem;
            listing.limit = static_cast<int>(*pageSize);
        }
        if (!cursor.empty() && all)
            return "--cursor and --all go apart: --all starts at the first page";
        if (!cursor.empty())
            listing.cursor = cursor;
        return std::nullopt;
    }

    // One page (the next page's cursor to standard error), or every page.
    int run(const Session& s) override
    {
        const std::string& id = positional.back();
        auto printPage = [](const MessagesPage& page) {
            for (const auto& m : page.messages)
                print(toJson(m));
        };
        if (!all) {
            auto page = runToCompletion(s.ioc, s.client.listMessages(id, listVisibility, listing));
            if (!page)
                return failed(page.error());
            printPage(*page);
            if (page->nextCursor)
                std::cerr << "wix-inbox: more messages follow: --cursor " << printable(*page->nextCursor, 16384) << "\n";
            return 0;
        }
        auto pager = s.client.messages(id, listVisibility, listing);
        while (!pager.done()) {
            auto page = runToCompletion(s.ioc, pager.next());
            if (!page)
                return failed(page.error());
            printPage(*page);
        }
        return 0;
    }
};

net::awaitable<Result<MessagesPage>> benchList(Client& client, const BenchInputs& in, std::uint64_t i)
{
    return client.listMessages(in.conversationIds[i % in.conversationIds.size()], Visibility::business);
}

// --- send --------------------------------------------------------------------------------
struct SendArgs : CommandArgs {
    std::string text, messageJson, visibility, direction;
    Message message; // once checked

    void options(po::options_description& d) override
    {
        d.add_options()
            ("text", po::value(&text), "a basic text message")
            ("message", po::value(&messageJson), "the whole message as JSON (content, visibility, direction, ...)")
            ("visibility", po::value(&visibility)->default_value("participant"), "with --text: participant (the "
                                                                                "participant sees it) or business")
            ("direction", po::value(&direction)->default_value("to-participant"), "with --text: to-participant or "
                                                                                 "to-business");
    }

    std::optional<std::string> check(const GlobalSettings&) override
    {
        if (text.empty() == messageJson.empty())
            return "send needs exactly one of --text and --message";
        if (!messageJson.empty()) {
            auto decoded = decodeMessage(messageJson);
            if (!decoded)
                return "--message: " + printable(decoded.error().message, 512);
            message = std::move(*decoded);
            return std::nullopt;
        }
        if (visibility != "business" && visibility != "participant")
            return "--visibility takes business or participant";
        if (direction != "to-participant" && direction != "to-business")
            return "--direction takes to-participant or to-business";
        message = textMessage(text, visibility == "business" ? Visibility::business : Visibility::businessAndParticipant,
                              direction == "to-business" ? Direction::participantToBusiness
                                                         : Direction::businessToParticipant);
        return std::nullopt;
    }

    int run(const Session& s) override { return printedCall(s, s.client.sendMessage(positional.front(), message)); }
};

net::awaitable<Result<Message>> benchSend(Client& client, const BenchInputs& in, std::uint64_t i)
{
    return client.sendMessage(in.conversationIds[i % in.conversationIds.size()], in.message);
}

// --- webhook decode ----------------------------------------------------------------------
// Reads at most `limit` bytes of a file (or standard input); nothing if it cannot, or if
// there is more.
std::optional<std::string> readBounded(const std::string& path, std::size_t limit)
{
    std::ifstream file;
    if (path != "-")
        file.open(path, std::ios::binary);
    std::istream& in = path == "-" ? std::cin : file;
    if (!in)
        return std::nullopt;
    std::string out(limit + 1, '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    out.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad() || out.size() > limit)
        return std::nullopt;
    return out;
}

struct WebhookArgs : CommandArgs {
    std::string publicKey, input;

    void options(po::options_description& d) override
    {
        d.add_options()("public-key", po::value(&publicKey), "the app's public key (PEM file)")(
            "input", po::value(&input)->default_value("-"), "the webhook's body (a JWT), - for standard input");
    }

    std::optional<std::string> check(const GlobalSettings&) override
    {
        if (positional.front() != "decode")
            return "webhook takes 'decode'";
        if (publicKey.empty())
            return "webhook decode needs --public-key";
        return std::nullopt;
    }

    std::optional<int> runLocal() override;
};

// Verifies one webhook body: the event as one JSON line, or exit 1 with the reason.
std::optional<int> WebhookArgs::runLocal()
{
    const auto pem = readBounded(publicKey, std::size_t{64} * 1024);
    if (!pem) {
        std::cerr << "wix-inbox: cannot read the public key '" << printable(publicKey, 256) << "'\n";
        return 1;
    }
    auto verifier = webhooks::Verifier::fromPem(*pem);
    if (!verifier) {
        std::cerr << "wix-inbox: " << printable(verifier.error().message, 512) << "\n";
        return 1;
    }
    const auto body = readBounded(input, webhooks::maxBodyBytes);
    if (!body) {
        std::cerr << "wix-inbox: webhook rejected: cannot read the body, or it is larger than "
                  << webhooks::maxBodyBytes << " bytes\n";
        return 1;
    }
    const auto event = verifier->decode(*body);
    if (!event) {
        std::cerr << "wix-inbox: webhook rejected: " << printable(event.error().message, 512) << "\n";
        return 1;
    }
    std::cout << terminalSafeJson(webhooks::toJson(*event)) << "\n";
    return 0;
}

template <class Args>
std::unique_ptr<CommandArgs> make()
{
    return std::make_unique<Args>();
}

const std::array<Command, 7> table{{
    {"get", "<conversationId>", "GetConversation", "wix-inbox get 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 1, true, false,
     &make<GetArgs>, &lineGet, BenchOperation{"get", "", 0, &benchWorker<&benchGet>}},
    {"get-or-create", "--member-id|--contact-id|--anonymous-visitor-id ID", "GetOrCreateConversation",
     "wix-inbox get-or-create --member-id 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 0, true, false, &make<GetOrCreateArgs>,
     &lineGetOrCreate, BenchOperation{"get-or-create", "", -1, &benchWorker<&benchGetOrCreate>}},
    {"messages", "list <conversationId> [--visibility business|participant] [--order asc|desc]\n"
                 "        [--limit N] [--cursor C | --all]",
     "ListMessages: one message per line (NDJSON)",
     "wix-inbox messages list 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f --order asc --all", 2, true, false, &make<ListArgs>,
     nullptr, BenchOperation{"list", "ListMessages, a page of the 3 messages each conversation is given", 3, &benchWorker<&benchList>}},
    {"send", "<conversationId> --text T | --message JSON [--visibility ...] [--direction ...]",
     "SendMessage: prints the message as stored",
     "wix-inbox send 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f --text 'Your order has shipped'", 1, false, true,
     &make<SendArgs>, &sendLine, BenchOperation{"send", "", 0, &benchWorker<&benchSend>}},
    {"webhook", "decode --public-key FILE [--input FILE|-]",
     "verify a webhook body (RS256 only) and print its event as JSON",
     "wix-inbox webhook decode --public-key app-key.pem --input body.jwt", 1, true, false, &make<WebhookArgs>, nullptr,
     std::nullopt},
    {"listen", "--port PORT --public-key FILE [--forward-to URL] [--listen ADDRESS]",
     "receive webhooks over HTTP: verify, drop redeliveries, print each event (NDJSON)",
     "wix-inbox listen --port 8080 --public-key app-key.pem --forward-to http://127.0.0.1:3000/webhooks", 0, true, false,
     &make<ListenArgs>, nullptr, std::nullopt},
    {"batch", "--input FILE|- --output FILE|- [--concurrency N] [--shard K/N|auto]\n"
              "        [--resume | --overwrite | --retry-failed]",
     "resolve (or, with text, send to) an NDJSON file, one call per line",
     "wix-inbox batch --input members.ndjson --output out.ndjson --concurrency 128", 0, true, false, &make<BatchArgs>,
     nullptr, std::nullopt},
}};

} // namespace

void CommandArgs::options(po::options_description&) {}

std::optional<std::string> CommandArgs::check(const GlobalSettings&)
{
    return std::nullopt;
}

std::optional<int> CommandArgs::runLocal()
{
    return std::nullopt;
}

int CommandArgs::run(const Session&)
{
    throw std::logic_error("a command that calls nothing was given a client"); // runLocal() ran it
}

void CommandArgs::prepare(net::io_context&) {}

std::shared_ptr<Observer> CommandArgs::observer()
{
    return nullptr;
}

std::size_t CommandArgs::defaultConnections() const
{
    return 16;
}

bool CommandArgs::linesNameTenants() const
{
    return false;
}

std::span<const Command> commands()
{
    return table;
}

const Command* findCommand(std::string_view name)
{
    for (const auto& c : table)
        if (c.name == name)
            return &c;
    return nullptr;
}

const Command& commandOf(const BatchRequest& request)
{
    return *findCommand(request.message ? "send" : request.participant ? "get-or-create" : "get");
}

std::string commandList()
{
    std::ostringstream out;
    for (const auto& c : table) {
        std::string head = "  " + std::string(c.name) + " " + std::string(c.synopsis);
        // The summary goes in a column of its own, or on the next line after a long head.
        const auto lastLine = head.substr(head.rfind('\n') + 1);
        out << head;
        if (lastLine.size() < 43)
            out << std::string(43 - lastLine.size(), ' ') << c.summary << "\n";
        else
            out << "\n" << std::string(43, ' ') << c.summary << "\n";
    }
    out << "  help [command]" << std::string(43 - 16, ' ') << "this help, or a command's\n";
    return out.str();
}

} // namespace wix::inbox::cli
