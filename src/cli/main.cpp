// SPDX-License-Identifier: BSL-1.0
// wix-inbox: the command line of wix-inbox-cpp. Single calls and batch jobs, against the
// real service with credentials, or against an emulator when asked (--emulator, --base-url).
#include "batch.hpp"
#include "commands.hpp"
#include "option_values.hpp"
#include "terminal.hpp"

#include <wix/inbox/emulator.hpp>
#include <wix/inbox.hpp>

#include <boost/asio/io_context.hpp>
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
    int verbosity = 0; // -v 1, -vv (or -v -v) 2
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
        ("app-id", po::value(&c.appId), "OAuth app ID (client credentials), with --app-secret and --instance-id "
                                          "(a batch's lines may name their instanceId instead)")
        ("app-secret", po::value(&c.appSecret), "OAuth app secret")
        ("instance-id", po::value(&c.instanceId), "app instance ID")
        ("ca-file", po::value(&g.caFile), "extra trusted CA certificates (PEM; default: WIX_CA_FILE)")
        ("proxy", po::value(&g.proxy), "HTTP proxy, http://[user:password@]host[:port] (default: https_proxy or "
                                       "HTTPS_PROXY); empty: none")
        ("noproxy", po::value(&g.noProxy), "hosts reached directly, comma-separated: names (with their subdomains), "
                                           "IP literals, CIDR ranges (10.0.0.0/8) or * (default: no_proxy or NO_PROXY)")
        ("verbose,v", "one line per attempt on stderr (method, URL template, status, time, attempt, request ID, "
                      "why it waits); -vv (or -v twice) adds each attempt's headers, credentials redacted")
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
            return "unknown " + where + "option '" + (isLong ? "--" + cli::printable(name, 64) : "-" + cli::printable(name.substr(0, 1)))
                 + "'"; // -xVALUE: the value may be a secret, as after a long option's =
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

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? v : "";
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
// account, an OAuth app no instance, where the lines name their tenants
// (`linesNameTenants`: the batch's "siteId" and "instanceId").
std::variant<inbox::Credentials, std::string> resolveCredentials(const Credentials& flags, bool linesNameTenants)
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
        if (k.siteId.empty() && k.accountId.empty() && !linesNameTenants)
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
        if (value->empty() && !(value == &app.instanceId && linesNameTenants))
            absent += (absent.empty() ? "" : ", ") + missing(flag, var);
    if (!absent.empty())
        return std::string("OAuth app credentials need an app ID, its secret")
             + (linesNameTenants ? "" : " and an instance ID") + ": missing " + absent;
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

// The command line split at the command: global options before it, the command's own after.
struct Split {
    std::vector<std::string> globalTokens, commandTokens;
    std::string command;
};

Split splitAtCommand(int argc, char** argv, const po::options_description& global, Global& g)
{
    Split split;
    for (int i = 1; i < argc; ++i) {
        const std::string t = argv[i];
        if (!split.command.empty()) {
            split.commandTokens.push_back(t);
        } else if (t == "-v" || t == "--verbose" || t == "-vv") {
            // Counted here: program_options refuses an option given twice. -v -v is -vv, the top level.
            g.verbosity = std::min(2, g.verbosity + (t == "-vv" ? 2 : 1));
        } else if (t.size() > 1 && t[0] == '-') {
            split.globalTokens.push_back(t);
            const auto* option = t.starts_with("--") && t.find('=') == std::string::npos
                                   ? global.find_nothrow(t.substr(2), false, false, false)
                                   : nullptr;
            if (option && option->semantic()->max_tokens() > 0 && i + 1 < argc)
                split.globalTokens.push_back(argv[++i]); // its value
        } else {
            split.command = t;
        }
    }
    // `help get` is `get --help`; `help --help` is the general help, as `help` is.
    if (split.command == "help" && !split.commandTokens.empty() && !split.commandTokens.front().starts_with('-')) {
        split.command = split.commandTokens.front();
        split.commandTokens = {"--help"};
    }
    return split;
}

// The global options, checked: what commands see of them, and the client's own.
struct CheckedGlobal {
    cli::GlobalSettings settings;
    std::chrono::milliseconds attemptTimeout{};
    int attempts = 0;
    inbox::RateLimitOptions rate;
};

// The global options' numbers and their conflicts, or a usage problem.
std::variant<CheckedGlobal, std::string> checkGlobal(const Global& g)
{
    // Checked here: program_options would wrap "-5" into an unsigned value.
    std::string problem;
    const auto timeoutMs = cli::wholeNumber("timeout-ms", g.timeoutMs, 1, 86'400'000, problem);
    const auto attemptTimeoutMs = cli::wholeNumber("attempt-timeout-ms", g.attemptTimeoutMs, 0, 86'400'000, problem);
    const auto attempts = cli::wholeNumber("attempts", g.attempts, 1, 100, problem);
    std::optional<long long> connections;
    if (!g.connections.empty())
        connections = cli::wholeNumber("connections", g.connections, 1, 65535, problem);
    const auto rate = parseRate(g.rate);
    if (!rate && problem.empty())
        problem = "--rate takes a rate such as 200/min or 50/s (at least 1/d), adaptive or off";
    if (g.quiet && g.verbosity > 0 && problem.empty())
        problem = "--quiet and -v go against each other: give one";
    if (g.emulator && !g.baseUrl.empty() && problem.empty())
        problem = "--emulator and --base-url go against each other: --emulator calls an embedded emulator, "
                  "--base-url another service; give one";
    if (!problem.empty())
        return problem;
    CheckedGlobal checked;
    checked.settings.quiet = g.quiet;
    checked.settings.emulator = g.emulator;
    checked.settings.callTimeout = std::chrono::milliseconds(*timeoutMs);
    if (connections)
        checked.settings.connections = static_cast<std::size_t>(*connections);
    checked.attemptTimeout = std::chrono::milliseconds(*attemptTimeoutMs);
    checked.attempts = static_cast<int>(*attempts);
    checked.rate = *rate;
    return checked;
}

// Where to send calls, and with what: the client's options from the global ones (already
// checked), or a usage problem. Only --emulator starts an emulator (into `emulator`): a job
// that lost its credentials must fail, not succeed against a throwaway service.
std::variant<inbox::ClientOptions, std::string> clientOptions(Global& g, const po::variables_map& vm,
                                                              const Credentials& flags, const CheckedGlobal& checked,
                                                              const cli::CommandArgs& args,
                                                              std::unique_ptr<inbox::emulator::Emulator>& emulator)
{
    auto credentials = resolveCredentials(flags, args.linesNameTenants());
    const auto* wrong = std::get_if<std::string>(&credentials);
    if (wrong && !g.emulator) // with --emulator they are not sent
        return *wrong;
    const bool hasCredentials = wrong || !std::holds_alternative<inbox::NoCredentials>(
                                             std::get<inbox::Credentials>(credentials));
    if (g.baseUrl.empty())
        g.baseUrl = env("WIX_BASE_URL");
    if (g.caFile.empty())
        g.caFile = env("WIX_CA_FILE");
    if (!g.emulator && !hasCredentials && g.baseUrl.empty())
        return std::string("no credentials: give --api-key (with --site-id or --account-id), --access-token, or "
                           "--app-id with --app-secret and --instance-id (or their WIX_ variables); or --emulator to "
                           "call an embedded emulator");
    inbox::ClientOptions options;
    if (!wrong)
        options.credentials = std::get<inbox::Credentials>(std::move(credentials));
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
    options.timeout = checked.settings.callTimeout;
    options.readTimeout = checked.attemptTimeout;
    options.retry.maxAttempts = checked.attempts;
    options.pool.maxConnections = checked.settings.connections.value_or(args.defaultConnections());
    options.rateLimit = checked.rate;
    if (g.verbosity > 0)
        options.observer = attemptLog(g.verbosity);
    return options;
}

// The command's arguments from its tokens: a usage problem, its help, or the arguments.
std::variant<std::unique_ptr<cli::CommandArgs>, int> commandArgs(const cli::Command& command,
                                                                  const std::vector<std::string>& tokens)
{
    auto args = command.args();
    po::options_description options(std::string(command.name) + " options");
    options.add_options()("help,h", "show this help");
    args->options(options);
    std::vector<std::string> named;
    if (auto problem = checkOptions(tokens, options, std::string(command.name) + " ", named, args->positional))
        return usageError(*problem);
    po::variables_map vm;
    if (auto problem = parseInto(named, options, vm))
        return usageError(*problem);
    if (vm.count("help")) {
        std::cout << commandHelp(command, options);
        return 0;
    }
    if (args->positional.size() != command.positionals)
        return usageError(command.positionals == 0 ? std::string(command.name) + " takes no arguments besides its options"
                                                   : "usage: wix-inbox " + std::string(command.name) + " "
                                                         + std::string(command.synopsis));
    return args;
}

int run(int argc, char** argv)
{
    Global g;
    Credentials flags;
    const auto global = globalOptions(g, flags);
    auto [globalTokens, commandTokens, command] = splitAtCommand(argc, argv, global, g);
    std::vector<std::string> named, positional;
    if (auto problem = checkOptions(globalTokens, global, "", named, positional))
        return usageError(*problem + (command.empty() ? "" : " before the command"));
    po::variables_map vm;
    if (auto problem = parseInto(globalTokens, global, vm))
        return usageError(*problem);
    if (vm.count("version")) {
        std::cout << "wix-inbox " << inbox::version() << "\n";
        return 0;
    }
    if (vm.count("help") && !command.empty() && command != "help")
        commandTokens = {"--help"}; // `-h send ...` shows send's help: help never calls anything
    if (command.empty() || command == "help") {
        const bool asked = vm.count("help") || command == "help";
        (asked ? std::cout : std::cerr) << usage() << "\n" << global << "\n" << credentialsHelp;
        return asked ? 0 : 1;
    }
    const cli::Command* operation = cli::findCommand(command);
    if (!operation) {
        const bool plain = command.size() <= 32 && command.find_first_not_of("abcdefghijklmnopqrstuvwxyz-") == std::string::npos;
        return usageError(plain ? "unknown command '" + command + "'" : std::string("unknown command"));
    }
    // Before the command's arguments, so it outlives them: they may hold I/O objects of it
    // (the batch's signal set), which must go before their io_context's services do.
    net::io_context ioc;
    auto parsed = commandArgs(*operation, commandTokens);
    if (const int* status = std::get_if<int>(&parsed))
        return *status;
    auto& args = *std::get<std::unique_ptr<cli::CommandArgs>>(parsed);
    auto checked = checkGlobal(g);
    if (const auto* problem = std::get_if<std::string>(&checked))
        return usageError(*problem);
    const auto& settings = std::get<CheckedGlobal>(checked).settings;
    if (auto problem = args.check(settings))
        return usageError(*problem);
    try {
        if (const auto status = args.runLocal())
            return *status;
        args.prepare(ioc);
        std::unique_ptr<inbox::emulator::Emulator> emulator;
        auto connection = clientOptions(g, vm, flags, std::get<CheckedGlobal>(checked), args, emulator);
        if (const auto* problem = std::get_if<std::string>(&connection))
            return usageError(*problem);
        auto& options = std::get<inbox::ClientOptions>(connection);
        options.observer = inbox::alsoTell(options.observer, args.observer());
        // An OAuth app without an instance serves only the lines that name theirs: the client
        // of the lines that name none sends nothing, and is not asked to.
        const inbox::Credentials lineCredentials = options.credentials;
        const auto* app = std::get_if<inbox::OAuthApp>(&options.credentials);
        const bool appAlone = app && app->instanceId.empty();
        if (appAlone)
            options.credentials = inbox::NoCredentials{};
        inbox::Client client(ioc.get_executor(), options);
        if (appAlone) { // its ID and secret are checked now, as the client checks its own, not at the first line
            const auto& a = std::get<inbox::OAuthApp>(lineCredentials);
            (void)client.forTenant(inbox::OAuthApp{a.appId, a.appSecret, "instance", a.refreshMargin});
        }
        return args.run(cli::Session{ioc, client, lineCredentials, settings});
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
