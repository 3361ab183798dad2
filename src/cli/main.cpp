// wix-inbox: the command line of wix-inbox-cpp. Single calls and batch jobs, against the
// real service with credentials, or against an emulator when asked (--emulator, --base-url).
#include "batch.hpp"
#include "commands.hpp"
#ifdef WIX_INBOX_METRICS
#include "metrics_endpoint.hpp"
#endif
#include "shard.hpp"
#include "summary.hpp"
#include "terminal.hpp"

#include <wix/inbox/emulator.hpp>
#include <wix/inbox.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <tuple>
#include <variant>

namespace po = boost::program_options;
namespace net = boost::asio;
namespace inbox = wix::inbox;
namespace cli = wix::inbox::cli;

namespace {

std::string usage()
{
    return "usage: wix-inbox [global options] <command> [command options]\n\ncommands:\n" + cli::commandList()
         + "\nCalls need credentials (below), a --base-url, or --emulator: an embedded emulator on loopback.\n"
           "`wix-inbox <command> --help` shows a command's options.\n";
}

int usageError(const std::string& message)
{
    std::cerr << "wix-inbox: " << message << " (see 'wix-inbox --help')\n";
    return 1;
}

// Server text may be in `message`: escaped, on one line. The hint is a line of its own.
int fatal(const std::string& message, const std::string& hint = {})
{
    std::cerr << "wix-inbox: " << cli::printable(message, 4096) << "\n";
    if (!hint.empty())
        std::cerr << "wix-inbox: " << cli::printable(hint, 4096) << "\n";
    return 1;
}

struct Global {
    std::string baseUrl, caFile, timeoutMs = "30000", attemptTimeoutMs = "10000", attempts = "4", connections,
        rate = "adaptive", proxy, noProxy;
    bool emulator = false;
    bool quiet = false;
    int verbosity = 0; // -v 1, -vv 2
};

// Credentials as given by flags or by the environment.
struct Credentials {
    std::string apiKey, siteId, accountId, accessToken, appId, appSecret, instanceId;
};

po::options_description globalOptions(Global& g, Credentials& c)
{
    po::options_description d("Global options");
    // Secrets get no default_value: --help must never print one.
    d.add_options()
        ("help,h", "show this help")
        ("version", "print the version")
        ("base-url", po::value(&g.baseUrl), "service URL (default: WIX_BASE_URL, else https://www.wixapis.com)")
        ("api-key", po::value(&c.apiKey), "API key (sent as Authorization); with --site-id or --account-id, "
                                            "or alone for batch lines that name their siteId")
        ("site-id", po::value(&c.siteId), "wix-site-id for API-key calls")
        ("account-id", po::value(&c.accountId), "wix-account-id for API-key calls")
        ("access-token", po::value(&c.accessToken), "static access token")
        ("app-id", po::value(&c.appId), "OAuth app ID (client credentials), with --app-secret and --instance-id")
        ("app-secret", po::value(&c.appSecret), "OAuth app secret")
        ("instance-id", po::value(&c.instanceId), "app instance ID")
        ("ca-file", po::value(&g.caFile), "extra trusted CA certificates (PEM; default: WIX_CA_FILE)")
        ("proxy", po::value(&g.proxy), "HTTP proxy, http://[user:password@]host[:port] (default: https_proxy or "
                                       "HTTPS_PROXY); empty: none")
        ("noproxy", po::value(&g.noProxy), "hosts reached directly, comma-separated: names (with their subdomains), "
                                           "IP literals or * (default: no_proxy or NO_PROXY)")
        ("verbose,v", "one line per attempt on stderr (method, URL template, status, time, attempt, request ID, "
                      "why it waits); -vv adds each attempt's headers, credentials redacted")
        ("quiet,q", po::bool_switch(&g.quiet), "print nothing but errors: no progress, no summary")
        ("emulator", po::bool_switch(&g.emulator), "call an embedded emulator on loopback; credentials are then "
                                                   "not sent")
        ("timeout-ms", po::value(&g.timeoutMs)->default_value(g.timeoutMs), "deadline of each call, retries "
                                                                             "included: 1-86400000")
        ("attempt-timeout-ms", po::value(&g.attemptTimeoutMs)->default_value(g.attemptTimeoutMs),
         "longest wait for one attempt's response, then it is retried: 0 (none) or 1-86400000")
        ("attempts", po::value(&g.attempts)->default_value(g.attempts), "most requests one call sends, throttled "
                                                                        "answers (429) included (1: no retries): 1-100")
        ("connections", po::value(&g.connections), "connection pool size: 1-65535 (default: batch --concurrency "
                                                    "up to 256, else 16)")
        ("rate", po::value(&g.rate)->default_value(g.rate), "requests per tenant: a fixed rate such as 200/min or "
                                                            "50/s (1/d at least); adaptive finds the server's limit; "
                                                            "off");
    return d;
}

constexpr const char* credentialsHelp =
    "Credentials (one kind): --api-key with --site-id/--account-id, --access-token, or --app-id with\n"
    "--app-secret and --instance-id. Each may come from the environment instead (WIX_API_KEY, WIX_SITE_ID,\n"
    "WIX_ACCOUNT_ID, WIX_ACCESS_TOKEN, WIX_APP_ID, WIX_APP_SECRET, WIX_INSTANCE_ID); flags win over it.\n";

// Sorts `tokens` into options (with their values) and positional arguments. A usage error
// when an option is unknown or lacks its value; it names the option only: what follows it
// may be a secret typed after a typo.
std::optional<std::string> checkOptions(const std::vector<std::string>& tokens, const po::options_description& desc,
                                        const std::string& where, std::vector<std::string>& named,
                                        std::vector<std::string>& positional)
{
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        if (t.size() < 2 || t[0] != '-') {
            positional.push_back(t);
            continue;
        }
        named.push_back(t);
        const bool isLong = t[1] == '-';
        const std::string name = t.substr(isLong ? 2 : 1, t.find('=') == std::string::npos ? std::string::npos
                                                                                             : t.find('=') - (isLong ? 2 : 1));
        const auto* option = isLong ? desc.find_nothrow(name, false, false, false)
                                    : desc.find_nothrow("-" + name, false, false, false); // kept with its dash
        if (!option || (!isLong && name.size() != 1))
            return "unknown " + where + "option '" + (isLong ? "--" : "-") + cli::printable(name, 64) + "'";
        if (option->semantic()->max_tokens() > 0 && t.find('=') == std::string::npos) {
            if (i + 1 >= tokens.size())
                return "option '--" + option->long_name() + "' needs a value";
            named.push_back(tokens[++i]); // its value, whatever it looks like
        }
    }
    return std::nullopt;
}

std::optional<std::string> parseInto(const std::vector<std::string>& tokens, const po::options_description& desc,
                                     po::variables_map& vm)
{
    try {
        po::store(po::command_line_parser(tokens).options(desc).style(po::command_line_style::unix_style).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) { // these texts name options, never their values
        return std::string(e.what());
    }
    return std::nullopt;
}

// A whole number from `text` in [lo, hi]; the message names the flag, not the value.
std::optional<long long> number(const std::string& flag, const std::string& text, long long lo, long long hi,
                                std::string& problem)
{
    long long v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
        if (problem.empty())
            problem = "--" + flag + " takes a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
        return std::nullopt;
    }
    return v;
}

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? v : "";
}

// A duration with its unit: 500ms, 30s, 10m, 2h; in [1 ms, 30 days].
std::optional<std::chrono::milliseconds> parseDuration(const std::string& text)
{
    long long count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    const std::string unit(end, text.data() + text.size());
    const long long ms = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60'000 : unit == "h" ? 3'600'000 : 0;
    if (ec != std::errc() || ms == 0 || count < 1 || count > 30LL * 24 * 3'600'000 / ms)
        return std::nullopt;
    return std::chrono::milliseconds(count * ms);
}

// --rate: "adaptive", "off", or N/s, N/min, N/h, N/d. A rate below one a day is refused: the
// limiter's interval would overflow, and the job would then run with no limit at all.
std::optional<inbox::RateLimitOptions> parseRate(const std::string& text)
{
    if (text == "adaptive")
        return inbox::RateLimitOptions{};
    if (text == "off")
        return inbox::RateLimitOptions::off();
    const auto slash = text.find('/');
    double count = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + std::min(slash, text.size()), count);
    if (slash == std::string::npos || ec != std::errc() || end != text.data() + slash || !(count > 0) || count > 1e6)
        return std::nullopt;
    const std::string unit = text.substr(slash + 1);
    const double seconds = unit == "s" ? 1 : unit == "min" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (seconds == 0 || count / seconds < 1.0 / 86400)
        return std::nullopt;
    return inbox::RateLimitOptions::fixed(count / seconds);
}

// The credentials to send, from the flags or else the environment: one kind, complete.
// A usage error names what conflicts or what is missing. An API key needs no site or
// account where the lines name their sites (`linesNameSites`: the batch's "siteId").
std::variant<inbox::Credentials, std::string> resolveCredentials(const Credentials& flags, bool linesNameSites)
{
    const Credentials environment{env("WIX_API_KEY"),  env("WIX_SITE_ID"),    env("WIX_ACCOUNT_ID"),
                                  env("WIX_ACCESS_TOKEN"), env("WIX_APP_ID"), env("WIX_APP_SECRET"),
                                  env("WIX_INSTANCE_ID")};
    // The kinds a source names, by the names it uses for them.
    auto kinds = [](const Credentials& c, bool fromFlags) {
        std::vector<std::string> named;
        auto name = [&](const char* flag, const char* var) { named.push_back(fromFlags ? flag : var); };
        if (!c.apiKey.empty() || !c.siteId.empty() || !c.accountId.empty())
            name("--api-key", "WIX_API_KEY");
        if (!c.accessToken.empty())
            name("--access-token", "WIX_ACCESS_TOKEN");
        if (!c.appId.empty() || !c.appSecret.empty() || !c.instanceId.empty())
            name("--app-id", "WIX_APP_ID");
        return named;
    };
    auto fromFlags = kinds(flags, true);
    const bool useFlags = !fromFlags.empty();
    const auto named = useFlags ? fromFlags : kinds(environment, false);
    if (named.size() > 1)
        return "conflicting credentials: " + named[0] + " and " + named[1] + " (give one kind)";
    if (named.empty())
        return inbox::Credentials{inbox::NoCredentials{}};
    // Flags of one kind may take the rest of that kind from the environment.
    auto pick = [&](const std::string Credentials::*field) {
        return !(flags.*field).empty() ? flags.*field : environment.*field;
    };
    auto missing = [&](const char* flag, const char* var) {
        return std::string(useFlags ? flag : var);
    };
    const std::string& kind = named.front();
    if (kind == "--api-key" || kind == "WIX_API_KEY") {
        inbox::ApiKey k{pick(&Credentials::apiKey), pick(&Credentials::siteId), pick(&Credentials::accountId)};
        if (k.key.empty())
            return "--site-id and --account-id go with an API key: " + missing("--api-key", "WIX_API_KEY")
                 + " is missing";
        if (k.siteId.empty() && k.accountId.empty() && !linesNameSites)
            return "an API key needs a site or account: " + missing("--site-id", "WIX_SITE_ID") + " or "
                 + missing("--account-id", "WIX_ACCOUNT_ID") + " is missing";
        return inbox::Credentials{std::move(k)};
    }
    if (kind == "--access-token" || kind == "WIX_ACCESS_TOKEN")
        return inbox::Credentials{inbox::AccessToken{pick(&Credentials::accessToken)}};
    inbox::OAuthApp app{pick(&Credentials::appId), pick(&Credentials::appSecret), pick(&Credentials::instanceId)};
    std::string absent;
    for (const auto& [value, flag, var] : {std::tuple{&app.appId, "--app-id", "WIX_APP_ID"},
                                           std::tuple{&app.appSecret, "--app-secret", "WIX_APP_SECRET"},
                                           std::tuple{&app.instanceId, "--instance-id", "WIX_INSTANCE_ID"}})
        if (value->empty())
            absent += (absent.empty() ? "" : ", ") + missing(flag, var);
    if (!absent.empty())
        return "OAuth app credentials need an app ID, its secret and an instance ID: missing " + absent;
    return inbox::Credentials{std::move(app)};
}

// -v and -vv: the client's attempts as lines on standard error.
std::shared_ptr<inbox::Observer> attemptLog(int verbosity)
{
    using Level = inbox::LogObserver::Level;
    return std::make_shared<inbox::LogObserver>(verbosity > 1 ? Level::debug : Level::info,
                                                [](Level, std::string_view line) {
                                                    const auto out = "wix-inbox: " + cli::printable(line, 8192) + "\n";
                                                    std::fwrite(out.data(), 1, out.size(), stderr);
                                                });
}

std::string commandHelp(const cli::Command& command, const po::options_description& options)
{
    std::ostringstream out;
    out << "usage: wix-inbox [global options] " << command.name << " " << command.synopsis << "\n\n"
        << command.summary << "\n\n" << options << "\nexample:\n  " << command.example << "\n";
    return out.str();
}

int run(int argc, char** argv)
{
    Global g;
    Credentials flags;
    const auto global = globalOptions(g, flags);

    // Global options come before the command, the command's own after it.
    std::vector<std::string> globalTokens, commandTokens;
    std::string command;
    for (int i = 1; i < argc; ++i) {
        const std::string t = argv[i];
        if (!command.empty()) {
            commandTokens.push_back(t);
        } else if (t == "-vv") { // a count program_options does not parse
            g.verbosity = 2;
        } else if (t.size() > 1 && t[0] == '-') {
            globalTokens.push_back(t);
            const auto* option = t.starts_with("--") && t.find('=') == std::string::npos
                                   ? global.find_nothrow(t.substr(2), false, false, false)
                                   : nullptr;
            if (option && option->semantic()->max_tokens() > 0 && i + 1 < argc)
                globalTokens.push_back(argv[++i]); // its value
        } else {
            command = t;
        }
    }
    std::vector<std::string> named, positional;
    if (auto problem = checkOptions(globalTokens, global, "", named, positional))
        return usageError(*problem + (command.empty() ? "" : " before the command"));
    po::variables_map vm;
    if (auto problem = parseInto(globalTokens, global, vm))
        return usageError(*problem);
    if (command == "help" && !commandTokens.empty()) { // `help get` is `get --help`
        command = commandTokens.front();
        commandTokens = {"--help"};
    }
    if (vm.count("verbose"))
        g.verbosity = std::max(g.verbosity, 1);
    if (vm.count("version")) {
        std::cout << "wix-inbox " << inbox::version() << "\n";
        return 0;
    }
    if (command.empty() || command == "help") {
        const bool asked = vm.count("help") || command == "help";
        (asked ? std::cout : std::cerr) << usage() << "\n" << global << "\n" << credentialsHelp;
        return asked ? 0 : 1;
    }

    // Command options: the command's row, or the batch's own.
    const cli::Command* operation = cli::findCommand(command);
    if (!operation) {
        const bool plain = command.size() <= 32 && command.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string::npos;
        return usageError(plain ? "unknown command '" + command + "'" : std::string("unknown command"));
    }
    cli::CommandArgs args;
    bool dryRunOnly = false;
    std::string concurrency = "64", lineTimeout = "10m", giveUpAfter = "5m", shard, shardCount, progressInterval = "10s",
                summaryFile, metricsPort, metricsAddress = "127.0.0.1";
    inbox::cli::BatchOptions batch;
    po::options_description commandOptions(command + " options");
    commandOptions.add_options()("help,h", "show this help");
    if (operation->options) {
        operation->options(commandOptions, args);
    } else {
        commandOptions.add_options()
            ("input", po::value(&batch.input)->default_value("-"), "NDJSON input file, - for stdin")
            ("output", po::value(&batch.output)->default_value("-"), "NDJSON output file, - for stdout")
            ("concurrency", po::value(&concurrency)->default_value(concurrency), "calls in flight: 1-100000")
            ("line-timeout", po::value(&lineTimeout)->default_value(lineTimeout), "how long a line is called again "
                                                                                   "after transient failures before "
                                                                                   "it fails (500ms, 30s, 10m, 2h)")
            ("give-up-after", po::value(&giveUpAfter)->default_value(giveUpAfter), "stop, resumable, when no call "
                                                                                   "has been answered for this long")
            ("shard", po::value(&shard), "K/N: only the lines whose tenant (else participant or conversation) "
                                         "hashes to K of N (0 <= K < N), for N workers over one input; auto: K and "
                                         "N from the job runner (Kubernetes Indexed Job, Slurm or AWS Batch array, "
                                         "Cloud Run job)")
            ("shard-count", po::value(&shardCount), "N for --shard auto where the runner does not export it "
                                                    "(Kubernetes: the Job's completions)")
            ("resume", po::bool_switch(&batch.resume), "continue an interrupted run where its output ends")
            ("retry-failed", po::bool_switch(&batch.retryFailed), "call again the failed lines of a finished "
                                                                  "output, keeping its other lines as they are")
            ("progress-interval", po::value(&progressInterval)->default_value(progressInterval),
             "where stderr is not a terminal, a JSON progress line this often (500ms, 10s, 1m); 0: none")
            ("summary-file", po::value(&summaryFile), "write the summary as one JSON object to this file as well "
                                                      "(replaced whole; a symlink is refused)")
            ("overwrite", po::bool_switch(&batch.overwrite), "replace an existing non-empty output")
            ("metrics-port", po::value(&metricsPort), "serve Prometheus metrics at http://ADDRESS:PORT/metrics while "
                                                      "the batch runs; 0 takes a free port (a first line on stderr "
                                                      "names it: {\"metrics\":URL})")
            ("metrics-address", po::value(&metricsAddress)->default_value(metricsAddress),
             "the address --metrics-port listens on")
            ("dry-run", po::bool_switch(&dryRunOnly), "read the input and print what the batch would do (lines, "
                                                      "sends, conversations), calling nothing");
    }
    named.clear();
    if (auto problem = checkOptions(commandTokens, commandOptions, command + " ", named, positional))
        return usageError(*problem);
    po::variables_map cvm;
    if (auto problem = parseInto(named, commandOptions, cvm))
        return usageError(*problem);
    if (cvm.count("help")) {
        std::cout << commandHelp(*operation, commandOptions);
        return 0;
    }
    if (positional.size() != operation->positionals)
        return usageError(operation->positionals == 0 ? command + " takes no arguments besides its options"
                                                      : "usage: wix-inbox " + command + " " + std::string(operation->synopsis));
    args.positional = positional;

    // Numbers, checked here: program_options would wrap "-5" into an unsigned value.
    std::string problem;
    const auto timeoutMs = number("timeout-ms", g.timeoutMs, 1, 86'400'000, problem);
    const auto attemptTimeoutMs = number("attempt-timeout-ms", g.attemptTimeoutMs, 0, 86'400'000, problem);
    const auto attempts = number("attempts", g.attempts, 1, 100, problem);
    const auto inFlight = number("concurrency", concurrency, 1, 100'000, problem);
    // The pool follows the calls in flight: a batch's connections are its concurrency, up
    // to 256 (beyond that calls wait their turn for a connection, as cheap as a coroutine).
    const std::string poolDefault = command == "batch" && inFlight ? std::to_string(std::min(*inFlight, 256LL)) : "16";
    const auto port = metricsPort.empty() ? std::optional<long long>() : number("metrics-port", metricsPort, 0, 65535, problem);
#ifndef WIX_INBOX_METRICS
    if (port && problem.empty())
        problem = "--metrics-port: this wix-inbox was built without Prometheus metrics (prometheus-cpp was not "
                  "found when it was built)";
#endif
    if (cvm.count("metrics-address") && !cvm["metrics-address"].defaulted() && !port && problem.empty())
        problem = "--metrics-address goes with --metrics-port";
    const auto connections = number("connections", g.connections.empty() ? poolDefault : g.connections, 1, 65535, problem);
    const auto rate = parseRate(g.rate);
    if (!rate && problem.empty())
        problem = "--rate takes a rate such as 200/min or 50/s (at least 1/d), adaptive or off";
    for (auto [flag, text, into] : {std::tuple{"--line-timeout", &lineTimeout, &batch.lineTimeout},
                                    std::tuple{"--give-up-after", &giveUpAfter, &batch.giveUpAfter}}) {
        const auto d = parseDuration(*text);
        if (!d && problem.empty())
            problem = std::string(flag) + " takes a duration such as 500ms, 30s, 10m or 2h (at most 30 days)";
        *into = d.value_or(*into);
    }
    if (progressInterval == "0")
        batch.progressInterval = std::chrono::milliseconds(0);
    else if (const auto d = parseDuration(progressInterval))
        batch.progressInterval = *d;
    else if (problem.empty())
        problem = "--progress-interval takes a duration such as 500ms, 10s or 1m, or 0";
    if (g.quiet && g.verbosity > 0 && problem.empty())
        problem = "--quiet and -v go against each other: give one";
    batch.quiet = g.quiet;
    if (cvm.count("shard") || cvm.count("shard-count")) {
        // Given empty (an unset variable in a job template) it is refused, never read as "no shard".
        auto parsed = cli::parseShard(shard, cvm.count("shard-count") ? std::optional(shardCount) : std::nullopt,
                                      cli::processEnvironment);
        if (auto* s = std::get_if<cli::Shard>(&parsed))
            batch.shard = *s;
        else if (problem.empty())
            problem = std::get<std::string>(parsed);
    }
    if (batch.retryFailed && (batch.resume || batch.overwrite || batch.shard))
        problem = "--retry-failed goes alone: not with --resume, --overwrite or --shard (the output's record knows its "
                  "shard)";
    if (problem.empty() && !summaryFile.empty())
        problem = cli::summaryFileClash(summaryFile, batch).value_or("");
    if (!problem.empty())
        return usageError(problem);
    batch.concurrency = static_cast<std::size_t>(*inFlight);
    batch.callTimeout = std::chrono::milliseconds(*timeoutMs);
    if (command == "batch" && !g.connections.empty() && *connections < *inFlight && !g.quiet)
        std::cerr << "wix-inbox: note: --connections " << *connections << " < --concurrency " << *inFlight
                  << ": at most " << *connections << " calls are on the wire at once, the rest wait for a connection\n";

    if (operation->check)
        if (auto problem = operation->check(args))
            return usageError(*problem);
    if (operation->local)
        return operation->local(args);
    if (dryRunOnly) {
        try {
            const auto r = cli::dryRun(batch);
            std::cout << boost::json::serialize(boost::json::object{
                             {"lines", r.lines}, {"malformed", r.malformed}, {"sends", r.sends},
                             {"otherCalls", r.otherCalls}, {"conversations", r.conversations}, {"tenants", r.tenants}})
                      << "\n";
            return 0;
        } catch (const std::exception& e) {
            return fatal(e.what());
        }
    }

    // Where to send calls, and with what. Only --emulator starts an emulator: a job that lost
    // its credentials must fail, not succeed against a throwaway service.
    auto credentials = resolveCredentials(flags, command == "batch");
    const auto* wrong = std::get_if<std::string>(&credentials);
    if (wrong && !g.emulator) // with --emulator they are not sent
        return usageError(*wrong);
    inbox::ClientOptions options;
    if (!wrong)
        options.credentials = std::get<inbox::Credentials>(std::move(credentials));
    const bool hasCredentials = wrong || !std::holds_alternative<inbox::NoCredentials>(options.credentials);
    if (g.baseUrl.empty())
        g.baseUrl = env("WIX_BASE_URL");
    if (g.caFile.empty())
        g.caFile = env("WIX_CA_FILE");
    if (!g.emulator && !hasCredentials && g.baseUrl.empty())
        return usageError("no credentials: give --api-key (with --site-id or --account-id), --access-token, or --app-id "
                          "with --app-secret and --instance-id (or their WIX_ variables); or --emulator to call an "
                          "embedded emulator");
    std::unique_ptr<inbox::emulator::Emulator> emulator;
    if (g.emulator) {
        inbox::emulator::Options eo;
        eo.threads = 1;
        emulator = std::make_unique<inbox::emulator::Emulator>(eo);
        options.baseUrl = emulator->url();
        options.tls.caFile = emulator->caFile();
        options.credentials = inbox::NoCredentials{};
        if (!g.quiet)
            std::cerr << "wix-inbox: --emulator: using the embedded emulator at " << emulator->url()
                      << (hasCredentials ? " (credentials are not sent)" : "") << "\n";
    } else {
        if (!g.baseUrl.empty())
            options.baseUrl = g.baseUrl;
        options.tls.caFile = g.caFile;
        options.proxy = inbox::ProxyOptions::fromEnvironment(); // the embedded emulator is reached directly
    }
    if (vm.count("proxy"))
        options.proxy.url = g.proxy;
    if (vm.count("noproxy"))
        options.proxy.noProxy = inbox::ProxyOptions::parseNoProxy(g.noProxy);
    options.timeout = std::chrono::milliseconds(*timeoutMs);
    options.readTimeout = std::chrono::milliseconds(*attemptTimeoutMs);
    options.retry.maxAttempts = static_cast<int>(*attempts);
    options.pool.maxConnections = static_cast<std::size_t>(*connections);
    options.rateLimit = *rate;
    if (g.verbosity > 0)
        options.observer = attemptLog(g.verbosity);

    net::io_context ioc;
    try {
#ifdef WIX_INBOX_METRICS
        std::unique_ptr<cli::MetricsEndpoint> metrics;
        if (port) {
            metrics = std::make_unique<cli::MetricsEndpoint>(metricsAddress, static_cast<std::uint16_t>(*port), true);
            options.observer = std::make_shared<inbox::FanOutObserver>(
                std::vector<std::shared_ptr<inbox::Observer>>{options.observer, metrics->observer()});
            batch.onTick = [&metrics](const cli::BatchTick& tick) {
                metrics->batchLines(tick.done, tick.failed, tick.inFlight);
                metrics->observer()->sample(tick.stats);
            };
        }
#endif
        inbox::Client client(ioc.get_executor(), options);
        if (operation->run)
            return operation->run(ioc, client, args);
        const auto start = std::chrono::steady_clock::now();
        inbox::cli::Tenants tenants(client, options.credentials);
        const auto summary = inbox::cli::runBatch(ioc, tenants, batch);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto stats = tenants.stats();
        const auto calls = summary.ok + summary.failed;
        if (!summaryFile.empty())
            cli::writeSummaryFile(summaryFile, cli::summaryJson(summary, stats, seconds, tenants.size()));
        if (!g.quiet)
            std::fprintf(stderr,
                         "wix-inbox: batch %s: %llu lines: %llu ok, %llu failed, %llu retries (%llu of lines), %llu throttled, %.2f s, "
                         "%.0f calls/s, up to %zu in flight over %llu connections%s%s\n",
                         summary.interrupted ? "interrupted" : "done", static_cast<unsigned long long>(calls),
                         static_cast<unsigned long long>(summary.ok), static_cast<unsigned long long>(summary.failed),
                         static_cast<unsigned long long>(stats.retries) + summary.lineRetries,
                         static_cast<unsigned long long>(summary.lineRetries), static_cast<unsigned long long>(stats.throttled),
                         seconds, seconds > 0 ? static_cast<double>(calls) / seconds : 0.0, batch.concurrency,
                         static_cast<unsigned long long>(stats.pool.connectionsOpened),
                         tenants.size() ? (", " + std::to_string(tenants.size()) + " tenants, " + std::to_string(
                                               stats.tokenRequests) + " token requests").c_str() : "",
                         summary.skipped ? (" (" + std::to_string(summary.skipped) + " lines done before)").c_str() : "");
        if (summary.reconciliationRequests > 0 && !g.quiet)
            std::fprintf(stderr, "wix-inbox: %llu reconciliation requests found %llu messages already sent (not sent again)\n",
                         static_cast<unsigned long long>(summary.reconciliationRequests),
                         static_cast<unsigned long long>(summary.reconciled));
        if (summary.interrupted) {
            if (batch.output != "-" && !batch.retryFailed && !g.quiet) // standard output cannot be resumed
                std::cerr << "wix-inbox: run the same command with --resume to continue\n";
            return 128 + summary.signal; // as a shell reports a process the signal ended
        }
        return summary.failed ? 2 : 0;
    } catch (const cli::BatchStopped& e) {
        return fatal(e.what(), e.hint);
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
}

} // namespace

int main(int argc, char** argv)
{
    // A file size limit (ulimit -f) must fail a write with a clear error, not kill the job.
    std::signal(SIGXFSZ, SIG_IGN);
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        return fatal(e.what());
    }
}
