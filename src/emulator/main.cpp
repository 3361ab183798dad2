// wix-inbox-emulator: the emulator as a standalone server for scripts and other clients.
#include "emulator/emulator.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>

namespace po = boost::program_options;
using wix::inbox::emulator::Emulator;

int main(int argc, char** argv)
{
    wix::inbox::emulator::Options options;
    auto& f = options.faults;
    unsigned idleMs = 0, latencyMinMs = 0, latencyMaxMs = 0, tokenLifetime = 14400;
    std::vector<std::string> apps;
    po::options_description desc("wix-inbox-emulator: a local HTTPS stand-in for the Wix Inbox v2 Conversations API.\n"
                                 "Prints one JSON line {\"url\", \"ca_file\"} and serves until SIGINT/SIGTERM.\n\n"
                                 "Options");
    desc.add_options()
        ("help,h", "show this help")
        ("port", po::value(&options.port)->default_value(0), "port on 127.0.0.1 (0: a free port)")
        ("threads", po::value(&options.threads)->default_value(2), "worker threads")
        ("ca-file", po::value(&options.caFile), "where to write the CA certificate (default: a temporary file)")
        ("seed", po::value(&f.seed)->default_value(1), "seed of the fault sequence")
        ("fault-429", po::value(&f.status429)->default_value(0), "probability of 429 with Retry-After")
        ("fault-500", po::value(&f.status500)->default_value(0), "probability of 500 (empty body)")
        ("fault-502", po::value(&f.status502)->default_value(0), "probability of 502 (HTML body)")
        ("fault-503", po::value(&f.status503)->default_value(0), "probability of 503 with Retry-After")
        ("fault-504", po::value(&f.status504)->default_value(0), "probability of 504 (empty body)")
        ("fault-stall", po::value(&f.stall)->default_value(0), "probability of never answering")
        ("fault-close", po::value(&f.closeBeforeResponse)->default_value(0), "probability of closing before answering")
        ("fault-reset", po::value(&f.resetMidBody)->default_value(0), "probability of a reset mid-body")
        ("fault-truncate", po::value(&f.truncatedBody)->default_value(0), "probability of a truncated body")
        ("fault-malformed", po::value(&f.malformedJson)->default_value(0), "probability of a 200 with malformed JSON")
        ("retry-after", po::value(&f.retryAfterSeconds)->default_value(1), "Retry-After seconds on 429/503")
        ("retry-after-date", po::bool_switch(&f.retryAfterAsDate), "send Retry-After as an HTTP-date")
        ("latency-min-ms", po::value(&latencyMinMs)->default_value(0), "added latency, lower bound")
        ("latency-max-ms", po::value(&latencyMaxMs)->default_value(0), "added latency, upper bound")
        ("idle-timeout-ms", po::value(&idleMs)->default_value(0), "close connections idle this long (0: 5 min)")
        ("idle-timeout-hint", po::bool_switch(&f.idleTimeoutHint), "announce the idle timeout in Keep-Alive")
        ("close-after-requests", po::value(&f.closeAfterRequests)->default_value(0),
         "answer the N-th request of a connection with Connection: close (0: never)")
        ("require-auth", po::bool_switch(&options.auth.required), "answer 401/403 to API calls without valid credentials")
        ("api-key", po::value(&options.auth.apiKeys)->composing(), "an accepted API key (repeatable)")
        ("access-token", po::value(&options.auth.accessTokens)->composing(), "an accepted static token (repeatable)")
        ("app", po::value(&apps)->composing(), "an OAuth app as APP_ID:APP_SECRET (repeatable)")
        ("token-lifetime", po::value(&tokenLifetime)->default_value(14400), "lifetime of issued tokens, seconds");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << "wix-inbox-emulator: " << e.what() << "\n";
        return 1;
    }
    for (const auto& app : apps) {
        const auto colon = app.find(':');
        if (colon == std::string::npos || colon == 0) {
            std::cerr << "wix-inbox-emulator: --app takes APP_ID:APP_SECRET\n";
            return 1;
        }
        options.auth.apps[app.substr(0, colon)] = app.substr(colon + 1);
    }
    options.auth.tokenLifetime = std::chrono::seconds(tokenLifetime);
    f.idleTimeout = std::chrono::milliseconds(idleMs);
    f.latencyMin = std::chrono::milliseconds(latencyMinMs);
    f.latencyMax = std::chrono::milliseconds(std::max(latencyMinMs, latencyMaxMs));

    // Block the stop signals before any thread starts, then wait for one here.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGINT);
    sigaddset(&stopSignals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    try {
        Emulator emulator(options);
        std::cout << boost::json::serialize(boost::json::object{{"url", emulator.url()}, {"ca_file", emulator.caFile()}})
                  << std::endl;
        int signal = 0;
        sigwait(&stopSignals, &signal);
        emulator.stop();
    } catch (const std::exception& e) {
        std::cerr << "wix-inbox-emulator: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
