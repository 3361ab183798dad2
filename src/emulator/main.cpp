// SPDX-License-Identifier: BSL-1.0
// wix-inbox-emulator: the emulator as a standalone server for scripts and other clients.
#include "emulator/fault_settings.hpp"

#include <wix/inbox/emulator.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/lexical_cast.hpp>
#include <boost/program_options.hpp>

#include <charconv>
#include <csignal>
#include <iostream>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace po = boost::program_options;
using wix::inbox::emulator::Emulator;
using wix::inbox::emulator::applyFlag;
using wix::inbox::emulator::checkFaults;
using wix::inbox::emulator::FaultSetting;
using wix::inbox::emulator::faultSettings;
using wix::inbox::emulator::givenMoreThanOnce;

namespace {

// The numbers of Options are read as text and checked here, as the fault settings are:
// program_options would wrap "-5" into an unsigned option without a word, and take "+5".
struct Range {
    const char* flag;
    double lo, hi;
};

template <class T>
std::optional<std::string> check(const po::variables_map& vm, const Range& r, T& into)
{
    const auto& text = vm[r.flag].as<std::string>();
    double v = 0;
    if (const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        ec != std::errc() || end != text.data() + text.size())
        v = std::numeric_limits<double>::quiet_NaN(); // out of every range
    if (!(v >= r.lo && v <= r.hi) || (std::is_integral_v<T> && v != static_cast<double>(static_cast<long long>(v))))
        return "--" + std::string(r.flag) + " must be " + (std::is_integral_v<T> ? "a whole number " : "a number ")
             + "from " + boost::lexical_cast<std::string>(r.lo) + " to " + boost::lexical_cast<std::string>(r.hi);
    into = static_cast<T>(v);
    return std::nullopt;
}

// An option word as given on the command line, without a value given in the same word:
// `--name=value` keeps `--name`, `-xvalue` keeps `-x`.
std::string withoutValue(const std::string& word)
{
    if (word.starts_with("--"))
        return word.substr(0, word.find('='));
    if (word.starts_with('-'))
        return word.substr(0, 2);
    return word.substr(0, word.find('='));
}

constexpr const char* adminHelp = R"(Admin endpoints (on the same port; never faulted):
  GET  /_emulator/stats          requests by route and status, connections, faults injected by name
  GET  /_emulator/faults         the fault settings, by the names of the flags above
  POST /_emulator/faults         change some: {"fault-503": 0.3, "retry-after": 2, "latency-max-ms": 50}
                                 (a bad value: 400 naming the setting)
  POST /_emulator/reset          forget conversations and stats; restart the fault sequence
  POST /_emulator/seed           {"participants": [{"memberId": GUID}, ...]}: create conversations
  POST /_emulator/promote        {"from": {"anonymousVisitorId": GUID}, "to": {"contactId": GUID}}
  POST /_emulator/inbox          {"installed": false}: the site has no Inbox (Messages calls answer 404)
  POST /_emulator/revoke-tokens  invalidate every issued OAuth token
  POST /_emulator/participant-message
                                 {"participant": {"memberId"|"contactId"|"anonymousVisitorId": GUID},
                                 "text": "..."}: the participant sends a message (their conversation
                                 made if need be); answers {conversationId, message}
  POST /_emulator/press-button   {"conversationId", "messageId", "interactionId"}: the participant
                                 presses that message's template button with postbackProperties
                                 {interactionId}; 404 if the conversation, message or button is not there
  GET  /_emulator/last-request   the last API request's headers but Authorization (with --record-headers)
Each site keeps its own conversations (a tenant: an API key's site or account, an OAuth
instance, a static token; requests without credentials share one); the POST calls but reset
and revoke-tokens act on {"tenant": "site:GUID"} (or "instance:ID", as the stats name
tenants), else on that shared one.
With --webhook-url, the emulator delivers the webhooks of the service: conversations_merged
at a merge, message_sent_to_business for a message sent PARTICIPANT_TO_BUSINESS (through the
API or participant-message), message_sent_to_participant for one sent BUSINESS_TO_PARTICIPANT,
and button_interacted for press-button.
)";

} // namespace

int main(int argc, char** argv)
{
    wix::inbox::emulator::Options options;
    auto& f = options.faults;
    std::vector<std::string> apps;
    po::options_description desc("wix-inbox-emulator: a local HTTPS stand-in for the Wix Inbox v2 API (Conversations and Messages).\n"
                                 "Prints one JSON line {\"url\", \"ca_file\"} (and \"webhook_public_key_file\" with --webhook-url)\n"
                                 "and serves until SIGINT/SIGTERM.\n\n"
                                 "Options");
    auto number = [](const char* fallback) { return po::value<std::string>()->default_value(fallback); };
    desc.add_options()
        ("help,h", "show this help")
        ("listen", po::value(&options.address)->default_value(options.address),
         "address to listen on, e.g. ::1 (the certificate names 127.0.0.1, ::1 and localhost)")
        ("port", number("0"), "port on the --listen address, 0-65535 (0: a free port)")
        ("record-headers", po::bool_switch(&options.recordRequestHeaders),
         "keep the last API request's headers for GET /_emulator/last-request")
        ("threads", number("2"), "worker threads, 1-64")
        ("max-connections", number("4096"), "connections served at once, 1-1000000; more are closed at once")
        ("ca-file", po::value(&options.caFile), "where to write the CA certificate (default: a temporary file)")
        ("require-auth", po::bool_switch(&options.auth.required), "answer 401/403 to API calls without valid credentials")
        ("api-key", po::value(&options.auth.apiKeys)->composing(), "an accepted API key (repeatable)")
        ("access-token", po::value(&options.auth.accessTokens)->composing(), "an accepted static token (repeatable)")
        ("app", po::value(&apps)->composing(), "an OAuth app as APP_ID:APP_SECRET (repeatable)")
        ("token-lifetime", number("14400"), "lifetime of issued tokens, seconds, 1-31536000")
        ("webhook-url", po::value(&options.webhookUrl),
         "POST the signed webhooks here: merges, messages, button presses (see below; http:// or https://; "
         "no user:password@, no #fragment)")
        ("webhook-resend-scale", number("1"), "multiplies the resend delays of failed webhooks (1 min .. 12 h), 0-1")
        ("webhook-public-key-file", po::value(&options.webhookPublicKeyFile),
         "where to write the webhooks' public key (default: a temporary file)");
    // The fault settings are read as text and checked by their table, as POST /_emulator/faults.
    for (const auto& setting : faultSettings()) { // program_options copies the names and descriptions
        const std::string name(setting.name);
        const bool ranged = setting.isFault() || setting.type == FaultSetting::Type::whole;
        const std::string help = (setting.isFault() ? "probability of " : "") + std::string(setting.help)
                               + (ranged ? ": " + setting.range() : "");
        if (setting.type == FaultSetting::Type::flag)
            desc.add_options()(name.c_str(), po::bool_switch(), help.c_str());
        else
            desc.add_options()(name.c_str(), po::value<std::string>()->default_value(setting.text(f)), help.c_str());
    }
    po::variables_map vm;
    try {
        // No positional arguments: a stray word ("--retry-after-date false") is refused, not ignored.
        const po::positional_options_description none;
        po::store(po::command_line_parser(argc, argv).options(desc).positional(none).run(), vm);
        if (vm.count("help")) {
            std::cout << desc << "\n" << adminHelp;
            return 0;
        }
        po::notify(vm);
    } catch (po::error& e) {
        // program_options' own texts name the option (every value is read as text, so none
        // quotes a value, which may be a secret given to the wrong flag). A flag it does not
        // know, or knows more than one of, it quotes as written: "--api-kye=SECRET", "-aSECRET"
        // are named without what follows the name. A flag given twice is named as
        // POST /_emulator/faults names a key given twice.
        if (auto* named = dynamic_cast<po::error_with_option_name*>(&e))
            named->set_original_token(withoutValue(named->get_option_name()));
        const auto* twice = dynamic_cast<const po::multiple_occurrences*>(&e);
        const std::string what = twice ? twice->get_option_name() + std::string(givenMoreThanOnce) : std::string(e.what());
        std::cerr << "wix-inbox-emulator: " << what << " (see --help)\n";
        return 1;
    }
    unsigned tokenLifetime = 0;
    // Every flag is checked, so that one run names all the bad ones (on one line).
    std::string problems;
    const auto refuse = [&](std::optional<std::string> problem) {
        if (problem)
            problems.append(problems.empty() ? "" : "; ").append(*problem);
    };
    const auto take = [&](const Range& r, auto& into) { refuse(check(vm, r, into)); };
    take({"port", 0, 65535}, options.port);
    take({"threads", 1, 64}, options.threads);
    take({"max-connections", 1, 1e6}, options.maxConnections);
    take({"token-lifetime", 1, 31536000}, tokenLifetime);
    take({"webhook-resend-scale", 0, 1}, options.webhookResendScale);
    for (const auto& setting : faultSettings()) {
        const std::string name(setting.name);
        refuse(applyFlag(setting,
                         setting.type == FaultSetting::Type::flag ? (vm[name].as<bool>() ? "true" : "false")
                                                                  : vm[name].as<std::string>(),
                         f));
    }
    if (problems.empty()) // the checks across settings need each in its range
        if (auto across = checkFaults(f, "--"))
            refuse(std::move(across->message));
    bool appRefused = false; // once, however many are bad
    for (const auto& app : apps) {
        const auto colon = app.find(':');
        if (colon == std::string::npos || colon == 0) {
            if (!std::exchange(appRefused, true))
                refuse("--app takes APP_ID:APP_SECRET");
        } else {
            options.auth.apps[app.substr(0, colon)] = app.substr(colon + 1);
        }
    }
    if (!problems.empty()) {
        std::cerr << "wix-inbox-emulator: " << problems << " (see --help)\n";
        return 1;
    }
    options.auth.tokenLifetime = std::chrono::seconds(tokenLifetime);

    // Block the stop signals before any thread starts, then wait for one here.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    for (const int stop : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) // each removes the temporary CA directory
        sigaddset(&stopSignals, stop);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    std::signal(SIGPIPE, SIG_IGN); // a reader of our stdout that went away must not kill us
    try {
        Emulator emulator(options);
        boost::json::object started{{"url", emulator.url()}, {"ca_file", emulator.caFile()}};
        if (!emulator.webhookPublicKeyFile().empty())
            started["webhook_public_key_file"] = emulator.webhookPublicKeyFile();
        std::cout << boost::json::serialize(started) << std::endl;
        int signal = 0;
        sigwait(&stopSignals, &signal);
        emulator.stop();
    } catch (const std::exception& e) {
        std::cerr << "wix-inbox-emulator: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
