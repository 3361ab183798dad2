// wix-inbox: the command line of wix-inbox-cpp. Single calls and batch jobs, against the
// real service or, with no base URL and no credentials, against the embedded emulator.
#include "cli/batch.hpp"
#include "emulator/emulator.hpp"

#include <wix/inbox.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>

namespace po = boost::program_options;
namespace net = boost::asio;
namespace inbox = wix::inbox;

namespace {

constexpr const char* usage = R"(usage: wix-inbox [global options] <command> [command options]

commands:
  get <conversationId>                     GetConversation
  get-or-create --member-id|--contact-id|--anonymous-visitor-id ID
                                           GetOrCreateConversation
  batch --input FILE|- --output FILE|- [--concurrency N] [--resume]
                                           resolve an NDJSON file, one call per line

With no --base-url and no credentials, calls go to an embedded emulator on loopback.
`wix-inbox <command> --help` shows a command's options.
)";

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? v : "";
}

struct Global {
    std::string baseUrl, apiKey, siteId, accountId, accessToken, appId, appSecret, instanceId, caFile;
    bool emulator = false;
    unsigned timeoutMs = 30000;
    int attempts = 4;
    std::size_t connections = 16;
};

po::options_description globalOptions(Global& g)
{
    po::options_description d("Global options (credentials also from WIX_API_KEY, WIX_SITE_ID, WIX_ACCOUNT_ID, "
                              "WIX_ACCESS_TOKEN, WIX_APP_ID, WIX_APP_SECRET, WIX_INSTANCE_ID)");
    // Secrets get no default_value: --help must never print one.
    d.add_options()
        ("help,h", "show this help")
        ("base-url", po::value(&g.baseUrl), "service URL (default: https://www.wixapis.com with credentials, "
                                            "else the embedded emulator)")
        ("api-key", po::value(&g.apiKey), "API key (sent as Authorization)")
        ("site-id", po::value(&g.siteId), "wix-site-id for API-key calls")
        ("account-id", po::value(&g.accountId), "wix-account-id for API-key calls")
        ("access-token", po::value(&g.accessToken), "static access token")
        ("app-id", po::value(&g.appId), "OAuth app ID (client credentials)")
        ("app-secret", po::value(&g.appSecret), "OAuth app secret")
        ("instance-id", po::value(&g.instanceId), "app instance ID")
        ("ca-file", po::value(&g.caFile), "extra trusted CA certificates (PEM)")
        ("emulator", po::bool_switch(&g.emulator), "use the embedded emulator even if a URL or credentials are set")
        ("timeout-ms", po::value(&g.timeoutMs)->default_value(30000), "deadline of each call, retries included")
        ("attempts", po::value(&g.attempts)->default_value(4), "attempts per call (1: no retries)")
        ("connections", po::value(&g.connections)->default_value(16), "connection pool size");
    return d;
}

int fatal(const std::string& message)
{
    std::cerr << "wix-inbox: " << message << "\n";
    return 1;
}

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

void printError(const inbox::Error& e)
{
    std::cerr << "wix-inbox: " << e.describe() << "\n";
}

int run(int argc, char** argv)
{
    Global g;
    g.apiKey = env("WIX_API_KEY");
    g.siteId = env("WIX_SITE_ID");
    g.accountId = env("WIX_ACCOUNT_ID");
    g.accessToken = env("WIX_ACCESS_TOKEN");
    g.appId = env("WIX_APP_ID");
    g.appSecret = env("WIX_APP_SECRET");
    g.instanceId = env("WIX_INSTANCE_ID");

    auto global = globalOptions(g);
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::string>())("args", po::value<std::vector<std::string>>());
    po::options_description all;
    all.add(global).add(hidden);
    po::positional_options_description positional;
    positional.add("command", 1).add("args", -1);

    po::variables_map vm;
    std::vector<std::string> rest;
    std::string command;
    try {
        auto parsed = po::command_line_parser(argc, argv).options(all).positional(positional).allow_unregistered().run();
        po::store(parsed, vm);
        po::notify(vm);
        rest = po::collect_unrecognized(parsed.options, po::include_positional);
        if (vm.count("command")) {
            command = vm["command"].as<std::string>();
            rest.erase(rest.begin());
        }
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
    if (command.empty()) {
        std::cout << usage << "\n" << global << "\n";
        return vm.count("help") ? 0 : 1;
    }

    // Command options.
    std::string memberId, contactId, visitorId, conversationId;
    inbox::cli::BatchOptions batch;
    po::options_description commandOptions(command + " options");
    po::positional_options_description commandPositional;
    commandOptions.add_options()("help,h", "show this help");
    if (command == "get") {
        commandOptions.add_options()("conversation-id", po::value(&conversationId)->required(), "conversation GUID");
        commandPositional.add("conversation-id", 1);
    } else if (command == "get-or-create") {
        commandOptions.add_options()
            ("member-id", po::value(&memberId), "member GUID")
            ("contact-id", po::value(&contactId), "contact GUID")
            ("anonymous-visitor-id", po::value(&visitorId), "anonymous visitor GUID");
    } else if (command == "batch") {
        commandOptions.add_options()
            ("input", po::value(&batch.input)->default_value("-"), "NDJSON input file, - for stdin")
            ("output", po::value(&batch.output)->default_value("-"), "NDJSON output file, - for stdout")
            ("concurrency", po::value(&batch.concurrency)->default_value(64), "calls in flight")
            ("resume", po::bool_switch(&batch.resume), "continue an interrupted run where its output ends");
    } else {
        return fatal("unknown command '" + command + "'\n" + usage);
    }
    try {
        po::variables_map cvm;
        po::store(po::command_line_parser(rest).options(commandOptions).positional(commandPositional).run(), cvm);
        if (cvm.count("help")) {
            std::cout << commandOptions << "\n";
            return 0;
        }
        po::notify(cvm);
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
    std::optional<inbox::ParticipantId> participant;
    if (command == "get-or-create") {
        const int given = !memberId.empty() + !contactId.empty() + !visitorId.empty();
        if (given != 1)
            return fatal("get-or-create needs exactly one of --member-id, --contact-id, --anonymous-visitor-id");
        participant = !memberId.empty()    ? inbox::ParticipantId::member(memberId)
                    : !contactId.empty()   ? inbox::ParticipantId::contact(contactId)
                                           : inbox::ParticipantId::anonymousVisitor(visitorId);
    }

    // Where to send calls.
    inbox::ClientOptions options;
    const bool hasCredentials = !g.apiKey.empty() || !g.accessToken.empty() || !g.appId.empty();
    std::unique_ptr<inbox::emulator::Emulator> emulator;
    if (g.emulator || (g.baseUrl.empty() && !hasCredentials)) {
        inbox::emulator::Options eo;
        eo.threads = 1;
        emulator = std::make_unique<inbox::emulator::Emulator>(eo);
        options.baseUrl = emulator->url();
        options.tls.caFile = emulator->caFile();
        std::cerr << "wix-inbox: no base URL or credentials given: using the embedded emulator at " << emulator->url()
                  << "\n";
    } else {
        if (!g.baseUrl.empty())
            options.baseUrl = g.baseUrl;
        options.tls.caFile = g.caFile;
        if (!g.appId.empty())
            options.credentials = inbox::OAuthApp{g.appId, g.appSecret, g.instanceId};
        else if (!g.accessToken.empty())
            options.credentials = inbox::AccessToken{g.accessToken};
        else if (!g.apiKey.empty())
            options.credentials = inbox::ApiKey{g.apiKey, g.siteId, g.accountId};
    }
    options.timeout = std::chrono::milliseconds(g.timeoutMs);
    options.retry.maxAttempts = g.attempts;
    options.pool.maxConnections = g.connections;

    net::io_context ioc;
    try {
        inbox::Client client(ioc.get_executor(), options);
        if (command == "get") {
            auto r = runToCompletion(ioc, client.getConversation(conversationId));
            if (!r)
                return printError(r.error()), 2;
            std::cout << boost::json::serialize(boost::json::object{{"conversation", inbox::toJson(*r)}}) << "\n";
            return 0;
        }
        if (command == "get-or-create") {
            auto r = runToCompletion(ioc, client.getOrCreateConversation(*participant));
            if (!r)
                return printError(r.error()), 2;
            std::cout << boost::json::serialize(inbox::toJson(*r)) << "\n";
            return 0;
        }
        const auto start = std::chrono::steady_clock::now();
        const auto summary = inbox::cli::runBatch(ioc, client, batch);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto stats = client.stats();
        const auto calls = summary.ok + summary.failed;
        std::fprintf(stderr,
                     "wix-inbox: batch %s: %llu lines: %llu ok, %llu failed, %llu retries, %.2f s, %.0f calls/s%s\n",
                     summary.interrupted ? "interrupted" : "done", static_cast<unsigned long long>(calls),
                     static_cast<unsigned long long>(summary.ok), static_cast<unsigned long long>(summary.failed),
                     static_cast<unsigned long long>(stats.retries), seconds,
                     seconds > 0 ? static_cast<double>(calls) / seconds : 0.0,
                     summary.skipped ? (" (" + std::to_string(summary.skipped) + " lines done before)").c_str() : "");
        if (summary.interrupted)
            return 130;
        return summary.failed ? 2 : 0;
    } catch (const inbox::Exception& e) {
        return fatal(e.what());
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
}

} // namespace

int main(int argc, char** argv)
{
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
}
