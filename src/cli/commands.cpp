#include "commands.hpp"

#include "listen.hpp"
#include "send_line.hpp"
#include "terminal.hpp"

#include <wix/inbox/codec.hpp>
#include <wix/inbox/webhooks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <array>
#include <charconv>
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

int failed(const Error& e)
{
    std::cerr << "wix-inbox: " << printable(e.describe(), 4096) << "\n";
    if (e.code == Errc::tlsHandshakeFailed)
        std::cerr << "wix-inbox: hint: a server whose certificate is signed by a private CA (such as a standalone "
                     "emulator, whose start-up line names its ca_file) needs --ca-file\n";
    return 2;
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

std::optional<std::string> noCheck(CommandArgs&)
{
    return std::nullopt;
}

void noOptions(po::options_description&, CommandArgs&) {}

// --- get ---------------------------------------------------------------------------------
int runGet(net::io_context& ioc, Client& client, const CommandArgs& a)
{
    return printed(runToCompletion(ioc, client.getConversation(a.positional.front())), "conversation");
}

net::awaitable<LineOutcome> lineGet(std::uint64_t n, Client& client, const BatchRequest& request, const CallOptions& o,
                                    SendContext&)
{
    co_return lineOutcome(n, request, co_await client.getConversation(request.conversationId, o), "conversation");
}

// --- get-or-create -----------------------------------------------------------------------
void getOrCreateOptions(po::options_description& d, CommandArgs& a)
{
    d.add_options()("member-id", po::value(&a.memberId), "member GUID")("contact-id", po::value(&a.contactId),
                                                                       "contact GUID")(
        "anonymous-visitor-id", po::value(&a.visitorId), "anonymous visitor GUID");
}

std::optional<std::string> checkGetOrCreate(CommandArgs& a)
{
    if (!a.memberId.empty() + !a.contactId.empty() + !a.visitorId.empty() != 1)
        return "get-or-create needs exactly one of --member-id, --contact-id, --anonymous-visitor-id";
    a.participant = !a.memberId.empty()    ? ParticipantId::member(a.memberId)
                  : !a.contactId.empty()   ? ParticipantId::contact(a.contactId)
                                           : ParticipantId::anonymousVisitor(a.visitorId);
    return std::nullopt;
}

int runGetOrCreate(net::io_context& ioc, Client& client, const CommandArgs& a)
{
    return printed(runToCompletion(ioc, client.getOrCreateConversation(*a.participant)));
}

net::awaitable<LineOutcome> lineGetOrCreate(std::uint64_t n, Client& client, const BatchRequest& request,
                                            const CallOptions& o, SendContext&)
{
    co_return lineOutcome(n, request, co_await client.getOrCreateConversation(*request.participant, o));
}

// --- messages list -----------------------------------------------------------------------
void listOptions(po::options_description& d, CommandArgs& a)
{
    d.add_options()
        ("visibility", po::value(&a.visibility)->default_value("business"), "business (every message) or "
                                                                           "participant (those the participant sees)")
        ("order", po::value(&a.order)->default_value("desc"), "asc (oldest first) or desc")
        ("limit", po::value(&a.limit), "messages per page: 1-100 (default: the service's, 30)")
        ("cursor", po::value(&a.cursor), "continue a listing from a page's next cursor")
        ("all", po::bool_switch(&a.all), "every page, not only the first");
}

std::optional<std::string> checkList(CommandArgs& a)
{
    if (a.positional.front() != "list")
        return "messages takes 'list' and a conversation ID";
    if (a.visibility != "business" && a.visibility != "participant")
        return "--visibility takes business or participant";
    if (a.order != "asc" && a.order != "desc")
        return "--order takes asc or desc";
    a.listVisibility = a.visibility == "business" ? Visibility::business : Visibility::businessAndParticipant;
    a.listing.order = a.order == "asc" ? SortOrder::asc : SortOrder::desc;
    if (!a.limit.empty()) {
        int limit = 0;
        const auto [end, ec] = std::from_chars(a.limit.data(), a.limit.data() + a.limit.size(), limit);
        if (ec != std::errc() || end != a.limit.data() + a.limit.size() || limit < 1 || limit > 100)
            return "--limit takes a whole number from 1 to 100";
        a.listing.limit = limit;
    }
    if (!a.cursor.empty() && a.all)
        return "--cursor and --all go apart: --all starts at the first page";
    if (!a.cursor.empty())
        a.listing.cursor = a.cursor;
    return std::nullopt;
}

// One page (the next page's cursor to standard error), or every page.
int runList(net::io_context& ioc, Client& client, const CommandArgs& a)
{
    const std::string& id = a.positional.back();
    auto printPage = [](const MessagesPage& page) {
        for (const auto& m : page.messages)
            print(toJson(m));
    };
    if (!a.all) {
        auto page = runToCompletion(ioc, client.listMessages(id, a.listVisibility, a.listing));
        if (!page)
            return failed(page.error());
        printPage(*page);
        if (page->nextCursor)
            std::cerr << "wix-inbox: more messages follow: --cursor " << printable(*page->nextCursor, 16384) << "\n";
        return 0;
    }
    auto pager = client.messages(id, a.listVisibility, a.listing);
    while (!pager.done()) {
        auto page = runToCompletion(ioc, pager.next());
        if (!page)
            return failed(page.error());
        printPage(*page);
    }
    return 0;
}

// --- send --------------------------------------------------------------------------------
void sendOptions(po::options_description& d, CommandArgs& a)
{
    d.add_options()
        ("text", po::value(&a.text), "a basic text message")
        ("message", po::value(&a.messageJson), "the whole message as JSON (content, visibility, direction, ...)")
        ("visibility", po::value(&a.visibility)->default_value("participant"), "with --text: participant (the "
                                                                              "participant sees it) or business")
        ("direction", po::value(&a.direction)->default_value("to-participant"), "with --text: to-participant or "
                                                                               "to-business");
}

std::optional<std::string> checkSend(CommandArgs& a)
{
    if (a.text.empty() == a.messageJson.empty())
        return "send needs exactly one of --text and --message";
    if (!a.messageJson.empty()) {
        auto decoded = decodeMessage(a.messageJson);
        if (!decoded)
            return "--message: " + printable(decoded.error().message, 512);
        a.message = std::move(*decoded);
        return std::nullopt;
    }
    if (a.visibility != "business" && a.visibility != "participant")
        return "--visibility takes business or participant";
    if (a.direction != "to-participant" && a.direction != "to-business")
        return "--direction takes to-participant or to-business";
    a.message = textMessage(a.text, a.visibility == "business" ? Visibility::business : Visibility::businessAndParticipant,
                            a.direction == "to-business" ? Direction::participantToBusiness
                                                         : Direction::businessToParticipant);
    return std::nullopt;
}

int runSend(net::io_context& ioc, Client& client, const CommandArgs& a)
{
    return printed(runToCompletion(ioc, client.sendMessage(a.positional.front(), a.message)));
}

// --- webhook decode ----------------------------------------------------------------------
void webhookOptions(po::options_description& d, CommandArgs& a)
{
    d.add_options()("public-key", po::value(&a.publicKey), "the app's public key (PEM file)")(
        "input", po::value(&a.input)->default_value("-"), "the webhook's body (a JWT), - for standard input");
}

std::optional<std::string> checkWebhook(CommandArgs& a)
{
    if (a.positional.front() != "decode")
        return "webhook takes 'decode'";
    if (a.publicKey.empty())
        return "webhook decode needs --public-key";
    return std::nullopt;
}

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

// Verifies one webhook body: the event as one JSON line, or exit 1 with the reason.
int runWebhookDecode(const CommandArgs& a)
{
    const auto pem = readBounded(a.publicKey, std::size_t{64} * 1024);
    if (!pem) {
        std::cerr << "wix-inbox: cannot read the public key '" << printable(a.publicKey, 256) << "'\n";
        return 1;
    }
    auto verifier = webhooks::Verifier::fromPem(*pem);
    if (!verifier) {
        std::cerr << "wix-inbox: " << printable(verifier.error().message, 512) << "\n";
        return 1;
    }
    const auto body = readBounded(a.input, webhooks::maxBodyBytes);
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

const std::array<Command, 7> table{{
    {"get", "<conversationId>", "GetConversation", "wix-inbox get 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 1, true, false,
     &noOptions, &noCheck, &runGet, nullptr, &lineGet},
    {"get-or-create", "--member-id|--contact-id|--anonymous-visitor-id ID", "GetOrCreateConversation",
     "wix-inbox get-or-create --member-id 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f", 0, true, false, &getOrCreateOptions,
     &checkGetOrCreate, &runGetOrCreate, nullptr, &lineGetOrCreate},
    {"messages", "list <conversationId> [--visibility business|participant] [--order asc|desc]\n"
                 "        [--limit N] [--cursor C | --all]",
     "ListMessages: one message per line (NDJSON)",
     "wix-inbox messages list 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f --order asc --all", 2, true, false, &listOptions,
     &checkList, &runList, nullptr, nullptr},
    {"send", "<conversationId> --text T | --message JSON [--visibility ...] [--direction ...]",
     "SendMessage: prints the message as stored",
     "wix-inbox send 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f --text 'Your order has shipped'", 1, false, true, &sendOptions,
     &checkSend, &runSend, nullptr, &sendLine},
    {"webhook", "decode --public-key FILE [--input FILE|-]",
     "verify a webhook body (RS256 only) and print its event as JSON",
     "wix-inbox webhook decode --public-key app-key.pem --input body.jwt", 1, true, false, &webhookOptions,
     &checkWebhook, nullptr, &runWebhookDecode, nullptr},
    {"listen", "--port PORT --public-key FILE [--forward-to URL] [--listen ADDRESS]",
     "receive webhooks over HTTP: verify, drop redeliveries, print each event (NDJSON)",
     "wix-inbox listen --port 8080 --public-key app-key.pem --forward-to http://127.0.0.1:3000/webhooks", 0, true, false,
     &listenOptions, &checkListen, nullptr, &runListen, nullptr},
    {"batch", "--input FILE|- --output FILE|- [--concurrency N] [--shard K/N|auto]\n"
              "        [--resume | --overwrite | --retry-failed]",
     "resolve (or, with text, send to) an NDJSON file, one call per line",
     "wix-inbox batch --input members.ndjson --output out.ndjson --concurrency 128", 0, true, false, nullptr, nullptr,
     nullptr, nullptr, nullptr},
}};

} // namespace

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
