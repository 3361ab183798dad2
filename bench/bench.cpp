// SPDX-License-Identifier: BSL-1.0
// wix-inbox-bench: drives the client at a fixed concurrency against any base URL or the
// embedded emulator and reports throughput, a latency histogram of every call, pool and
// TLS counters, the client threads' CPU time and memory. Last line: one JSON object.

#include "cli/commands.hpp"
#include "cli/option_values.hpp"
#include "cli/terminal.hpp"

#include <wix/inbox/emulator.hpp>
#include <wix/inbox.hpp>
#ifdef WIX_INBOX_METRICS
#include "cli/metrics_endpoint.hpp"
#endif

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/lexical_cast.hpp>
#include <boost/program_options.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <type_traits>

namespace po = boost::program_options;
namespace net = boost::asio;
namespace inbox = wix::inbox;
namespace cli = wix::inbox::cli;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Latencies in microseconds, 64 buckets per power of two (< 1.6% error), lock-free.
class Histogram {
public:
    void record(std::uint64_t us)
    {
        buckets_[index(us)].fetch_add(1, std::memory_order_relaxed);
        std::uint64_t seen = max_.load(std::memory_order_relaxed);
        while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed))
            ;
    }
    std::uint64_t count() const
    {
        std::uint64_t n = 0;
        for (const auto& b : buckets_)
            n += b.load(std::memory_order_relaxed);
        return n;
    }
    std::uint64_t percentile(double p) const
    {
        const auto total = count();
        if (total == 0)
            return 0;
        const auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i].load(std::memory_order_relaxed);
            if (seen >= rank)
                return std::min(upper(i), max());
        }
        return max();
    }
    std::uint64_t max() const { return max_.load(); }

private:
    static constexpr unsigned subBits = 6;
    static std::size_t index(std::uint64_t v)
    {
        if (v < (2u << subBits))
            return static_cast<std::size_t>(v);
        const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - subBits - 1;
        return (static_cast<std::size_t>(shift) << subBits) + static_cast<std::size_t>(v >> shift);
    }
    static std::uint64_t upper(std::size_t i)
    {
        if (i < (2u << subBits))
            return i;
        const std::size_t shift = (i >> subBits) - 1;
        const std::uint64_t mantissa = (i & ((1u << subBits) - 1)) | (1u << subBits);
        return ((mantissa + 1) << shift) - 1;
    }
    std::array<std::atomic<std::uint64_t>, 64 * 64> buckets_{};
    std::atomic<std::uint64_t> max_{0};
};

std::string guid(std::uint64_t n)
{
    char out[37];
    std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n & 0xffffffffffffull));
    return out;
}

long currentRssKib()
{
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

struct Config {
    std::string op = "get-or-create";
    const cli::BenchOperation* operation = nullptr; // the row --op names
    std::string observer = "none";
    std::string baseUrl, caFile;
    std::uint64_t requests = 100000;
    double duration = 0;
    std::size_t concurrency = 64;
    std::size_t connections = 16;
    unsigned threads = 1;
    unsigned emulatorThreads = 1;
    std::uint64_t distinct = 10000;
    std::size_t cache = 0;
    std::uint64_t warmup = 1000;
    double holdSeconds = 0;
    std::optional<std::uint16_t> metricsPort;
    std::string metricsAddress = "127.0.0.1";
};

struct Run {
    Histogram latency;
    std::atomic<std::uint64_t> issued{0}, ok{0}, errors{0};
    std::atomic<long> rssAtTenPercent{0};
    std::mutex errorMutex;
    std::string firstError;
};

// One worker's share of a run: it takes call numbers until `limit` calls or `stopAt`, and
// records each call's latency and outcome when `record`.
class Worker final : public cli::BenchLoop {
public:
    Worker(Run& run, std::uint64_t limit, Clock::time_point stopAt, bool record)
        : run_(run), limit_(limit), stopAt_(stopAt), record_(record)
    {
    }

    bool next(std::uint64_t& i) override
    {
        i = run_.issued.fetch_add(1, std::memory_order_relaxed);
        start_ = Clock::now();
        if (i >= limit_ || start_ >= stopAt_)
            return false;
        if (record_ && i == limit_ / 10 && limit_ != UINT64_MAX) {
            run_.rssAtTenPercent = currentRssKib();
            start_ = Clock::now();
        }
        return true;
    }

    void done(const inbox::Error* error) override
    {
        if (!record_)
            return;
        run_.latency.record(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start_).count()));
        ++(error ? run_.errors : run_.ok);
        if (error) {
            std::lock_guard lock(run_.errorMutex);
            if (run_.firstError.empty())
                run_.firstError = error->describe();
        }
    }

private:
    Run& run_;
    std::uint64_t limit_;
    Clock::time_point stopAt_;
    bool record_;
    Clock::time_point start_{};
};

// Runs `workers` coroutines on `threads` threads until the last one finishes (the pool's
// timers would keep run() going); returns the client threads' CPU time (user, system) and
// the wall time until the last worker finished.
struct Drive {
    double user = 0, sys = 0, seconds = 0;
};

Drive drive(net::io_context& ioc, unsigned threads, std::size_t workers,
            const std::function<net::awaitable<void>()>& makeWorker)
{
    std::atomic<std::size_t> remaining{workers};
    std::mutex m;
    std::condition_variable finished;
    Drive result;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < workers; ++i)
        net::co_spawn(ioc, makeWorker(), [&](std::exception_ptr) {
            if (--remaining == 0) {
                std::lock_guard lock(m);
                result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
                finished.notify_all();
            }
        });
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            ioc.run();
            rusage u{};
            getrusage(RUSAGE_THREAD, &u);
            std::lock_guard lock(m);
            result.user += static_cast<double>(u.ru_utime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec) / 1e6;
            result.sys += static_cast<double>(u.ru_stime.tv_sec) + static_cast<double>(u.ru_stime.tv_usec) / 1e6;
        });
    {
        std::unique_lock lock(m);
        finished.wait(lock, [&] { return remaining == 0; });
    }
    ioc.stop();
    for (auto& t : pool)
        t.join();
    ioc.restart();
    return result;
}

// The numeric options and their ranges. They are read as doubles and checked here:
// program_options would wrap "-5" into an unsigned value without a word.
struct Numeric {
    const char* name;
    double lo, hi;
    const char* help;
    bool whole;
    double (*get)(const Config&);
    void (*set)(Config&, double);
};

template <auto Field>
Numeric numeric(const char* name, double lo, double hi, const char* help)
{
    using T = std::remove_cvref_t<decltype(std::declval<Config&>().*Field)>;
    return {name, lo, hi, help, std::is_integral_v<T>, [](const Config& c) { return static_cast<double>(c.*Field); },
            [](Config& c, double v) { c.*Field = static_cast<T>(v); }};
}

const Numeric numerics[] = {
    numeric<&Config::requests>("requests", 1, 1e12, "calls to measure"),
    numeric<&Config::duration>("duration", 0, 86400, "seconds to measure instead of --requests (0: --requests)"),
    numeric<&Config::concurrency>("concurrency", 1, 100000, "coroutines in flight"),
    numeric<&Config::connections>("connections", 1, 65535, "pool size"),
    numeric<&Config::threads>("threads", 1, 256, "threads running the client's io_context"),
    numeric<&Config::emulatorThreads>("emulator-threads", 1, 64, "threads of the embedded emulator"),
    numeric<&Config::distinct>("distinct", 1, 1e7, "distinct participants"),
    numeric<&Config::cache>("cache", 0, 1e7,
                            "conversation cache entries (0: none): get-or-create answered from it, 1 request per "
                            "participant"),
    numeric<&Config::warmup>("warmup", 0, 1e12, "calls before measuring"),
    numeric<&Config::holdSeconds>("hold-seconds", 0, 86400,
                                  "after the run, keep the pool's idle connections open this long (for memory "
                                  "measurements)"),
};

std::string text(double v)
{
    return boost::lexical_cast<std::string>(v);
}

// The operations --op takes, from the CLI's command registry: the default first, then the
// others in the registry's order ("a, b or c"), each with what it measures if `explained`.
std::string operationNames(const std::string& first, bool explained)
{
    std::vector<const cli::BenchOperation*> operations;
    for (const auto& command : cli::commands())
        if (command.bench)
            operations.insert(command.bench->name == first ? operations.begin() : operations.end(), &*command.bench);
    std::string names;
    for (std::size_t i = 0; i < operations.size(); ++i) {
        names += i == 0 ? "" : i + 1 == operations.size() ? " or " : ", ";
        names += operations[i]->name;
        if (explained && !operations[i]->help.empty())
            names += " (" + std::string(operations[i]->help) + ")";
    }
    return names;
}

const cli::BenchOperation* findOperation(const std::string& name)
{
    for (const auto& command : cli::commands())
        if (command.bench && command.bench->name == name)
            return &*command.bench;
    return nullptr;
}

std::string usage(const std::string& what)
{
    return "wix-inbox-bench: " + what + " (see --help)";
}

// Reads the command line into `cfg`. Returns nothing to go on, "" once the help is printed,
// or one usage line that names the option and never repeats a value (it may be a secret
// typed after a typo).
std::optional<std::string> parseArguments(int argc, char** argv, Config& cfg)
{
    po::options_description desc("wix-inbox-bench: load the Conversations API through wix-inbox-cpp.\n"
                                 "Without --base-url it runs against the embedded emulator.\n\nOptions");
    desc.add_options()
        ("help,h", "show this help")
        ("op", po::value(&cfg.op)->default_value(cfg.op), operationNames(cfg.op, true).c_str())
        ("base-url", po::value(&cfg.baseUrl), "service URL (default: embedded emulator)")
        ("ca-file", po::value(&cfg.caFile), "extra trusted CA (PEM)")
        ("observer", po::value(&cfg.observer)->default_value(cfg.observer), "none, noop (an Observer that does "
                                                                            "nothing: the cost of the hooks) or log "
                                                                            "(LogObserver at info, lines discarded: "
                                                                            "the cost of formatting them)")
        ("metrics-port", po::value<std::string>(), "serve Prometheus metrics at http://ADDRESS:PORT/metrics while "
                                                   "it runs; 0 takes a free port (a first line on stderr names it)")
        ("metrics-address", po::value(&cfg.metricsAddress)->default_value(cfg.metricsAddress),
         "the address --metrics-port listens on");
    for (const auto& n : numerics) // program_options copies the names and descriptions
        desc.add_options()(n.name, po::value<std::string>()->default_value(text(n.get(cfg))),
                           (n.help + (" (" + text(n.lo) + "-" + text(n.hi) + ")")).c_str());
    const po::positional_options_description none; // a stray word is an error, not ignored
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).positional(none).run(), vm);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return std::string();
        }
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        const std::string name = e.get_option_name();
        return usage("unknown option '" + name.substr(0, name.find('=')) + "'");
    } catch (const po::too_many_positional_options_error&) {
        return usage("unexpected argument (options start with --)");
    } catch (const po::error& e) { // the other texts name options, never values
        return usage(e.what());
    }
    for (const auto& n : numerics) {
        const auto& given = vm[n.name].as<std::string>();
        double v = 0;
        if (!boost::conversion::try_lexical_convert(given, v))
            return usage("--" + std::string(n.name) + " takes a number");
        // A count is digits alone: lexical_cast takes a sign and an exponent ("+5", "-0", "5e0").
        const bool digits = given.find_first_not_of("0123456789") == std::string::npos;
        if (!(v >= n.lo && v <= n.hi) || (n.whole && (v != std::floor(v) || !digits)))
            return usage("--" + std::string(n.name) + " must be " + (n.whole ? "a whole number" : "a number") + " from "
                         + text(n.lo) + " to " + text(n.hi));
        n.set(cfg, v);
    }
    cfg.operation = findOperation(cfg.op);
    if (!cfg.operation)
        return usage("--op must be " + operationNames(Config().op, false));
    if (cfg.observer != "none" && cfg.observer != "noop" && cfg.observer != "log")
        return usage("--observer must be none, noop or log");
    if (vm.count("metrics-port")) {
#ifndef WIX_INBOX_METRICS
        return usage("--metrics-port: this bench was built without Prometheus metrics (prometheus-cpp was not found)");
#endif
        std::string problem;
        const auto port = inbox::cli::wholeNumber("metrics-port", vm["metrics-port"].as<std::string>(), 0, 65535, problem);
        if (!port)
            return usage(problem);
        cfg.metricsPort = static_cast<std::uint16_t>(*port);
#ifdef WIX_INBOX_METRICS
        if (const auto problem = inbox::cli::MetricsEndpoint::addressProblem(cfg.metricsAddress))
            return usage(*problem);
#endif
    } else if (!vm["metrics-address"].defaulted()) {
        return usage("--metrics-address goes with --metrics-port");
    }
    return std::nullopt;
}

// A directory for the embedded emulator's CA file, removed on every way out: a return, an
// exception, and a stop signal, which a thread of its own waits for (the threads started
// later inherit the blocked mask, so the signal cannot end the process past this cleanup).
class Scratch {
public:
    Scratch()
    {
        sigset_t stops;
        sigemptyset(&stops);
        for (const int stop : {SIGINT, SIGTERM, SIGHUP})
            sigaddset(&stops, stop);
        pthread_sigmask(SIG_BLOCK, &stops, nullptr);
        const char* tmpdir = std::getenv("TMPDIR");
        std::string pattern = (fs::path(tmpdir && *tmpdir ? tmpdir : "/tmp") / "wix-inbox-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("cannot create a temporary directory: " + std::string(std::strerror(errno)));
        path_ = pattern;
        std::thread([stops, path = path_] {
            int signal = 0;
            sigwait(&stops, &signal);
            std::error_code ignored;
            fs::remove_all(path, ignored);
            std::cerr << "wix-inbox-bench: stopped by a signal\n";
            std::_Exit(128 + signal);
        }).detach();
    }
    ~Scratch()
    {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

int bench(const Config& cfg)
{
    std::optional<Scratch> scratch; // destroyed last: after the emulator has stopped
    std::unique_ptr<inbox::emulator::Emulator> emulator;
    inbox::ClientOptions options;
    if (cfg.baseUrl.empty()) {
        inbox::emulator::Options eo;
        eo.threads = cfg.emulatorThreads;
        eo.caFile = (scratch.emplace().path() / "ca.pem").string();
        emulator = std::make_unique<inbox::emulator::Emulator>(eo);
        options.baseUrl = emulator->url();
        options.tls.caFile = emulator->caFile();
    } else {
        options.baseUrl = cfg.baseUrl;
        options.tls.caFile = cfg.caFile;
    }
    options.pool.maxConnections = cfg.connections;
    options.conversationCache.capacity = cfg.cache;
    if (cfg.observer == "noop")
        options.observer = std::make_shared<inbox::Observer>();
    else if (cfg.observer == "log")
        options.observer = std::make_shared<inbox::LogObserver>(inbox::LogObserver::Level::info,
                                                                [](inbox::LogObserver::Level, std::string_view) {});

#ifdef WIX_INBOX_METRICS
    std::unique_ptr<inbox::cli::MetricsEndpoint> metrics;
    if (cfg.metricsPort) {
        metrics = std::make_unique<inbox::cli::MetricsEndpoint>(cfg.metricsAddress, *cfg.metricsPort, false);
        options.observer = inbox::alsoTell(options.observer, metrics->observer());
    }
#endif

    net::io_context ioc(static_cast<int>(cfg.threads));
    auto client = std::make_unique<inbox::Client>(ioc.get_executor(), options);
#ifdef WIX_INBOX_METRICS
    // The pool's and the rate limiter's gauges, which no event tells: sampled four times a second.
    std::jthread sampler;
    if (metrics)
        sampler = std::jthread([&](std::stop_token stop) {
            std::mutex m;
            std::condition_variable_any wake;
            std::unique_lock lock(m);
            while (!wake.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; })
                   && !stop.stop_requested())
                metrics->observer()->sample(client->stats());
        });
#endif

    // Warm-up (and, for operations on a conversation, the conversations they use, each given
    // the messages the operation reads).
    cli::BenchInputs inputs;
    inputs.participants.reserve(cfg.distinct);
    for (std::uint64_t i = 0; i < cfg.distinct; ++i)
        inputs.participants.push_back(inbox::ParticipantId::member(guid(i)));
    auto& ids = inputs.conversationIds;
    const int messagesEach = cfg.operation->messagesEach;
    if (messagesEach >= 0) {
        Run setup;
        std::mutex m;
        drive(ioc, cfg.threads, std::min<std::size_t>(cfg.concurrency, 256), [&]() -> net::awaitable<void> {
            for (;;) {
                const auto i = setup.issued.fetch_add(1);
                if (i >= cfg.distinct)
                    co_return;
                auto r = co_await client->getOrCreateConversation(inputs.participants[i]);
                for (int k = 0; r && k < messagesEach; ++k)
                    if (!co_await client->sendMessage(r->conversation.id, inputs.message))
                        co_return;
                if (r) {
                    std::lock_guard lock(m);
                    ids.push_back(r->conversation.id);
                }
            }
        });
        if (ids.empty()) {
            std::cerr << "wix-inbox-bench: could not create conversations to read\n";
            return 1;
        }
    }
    Run warm;
    std::deque<Worker> workers;
    drive(ioc, cfg.threads, cfg.concurrency, [&] {
        return cfg.operation->worker(*client, inputs,
                                     workers.emplace_back(warm, cfg.warmup, Clock::time_point::max(), false));
    });

    Run run;
    const auto before = client->stats().pool;
    const std::uint64_t limit = cfg.duration > 0 ? UINT64_MAX : cfg.requests;
    const auto stopAt = cfg.duration > 0
        ? Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(cfg.duration))
        : Clock::time_point::max();
    workers.clear();
    const auto [user, sys, seconds] = drive(ioc, cfg.threads, cfg.concurrency, [&] {
        return cfg.operation->worker(*client, inputs, workers.emplace_back(run, limit, stopAt, true));
    });
    const auto stats = client->stats();
    const long rssEnd = currentRssKib();
    if (cfg.holdSeconds > 0) {
        std::printf("holding %llu idle connections, RSS %ld KiB\n", static_cast<unsigned long long>(stats.pool.idle),
                    rssEnd);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::duration<double>(cfg.holdSeconds));
    }
#ifdef WIX_INBOX_METRICS
    sampler = {}; // stopped and joined before the client goes
#endif
    client.reset();

    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    // Linux updates the high-water mark getrusage() reads lazily: it can lag the RSS read
    // from /proc a moment before, so the peak is the largest of all three.
    const long peakRss = std::max({static_cast<long>(self.ru_maxrss), rssEnd, run.rssAtTenPercent.load()});
    const std::uint64_t requests = run.ok + run.errors;
    const double rps = seconds > 0 ? static_cast<double>(requests) / seconds : 0;
    const double cpuPer10k = requests ? (user + sys) / static_cast<double>(requests) * 10000 : 0;
    std::printf("%s: %llu calls (%llu ok, %llu errors) in %.2f s = %.0f calls/s, concurrency %zu, %zu connections, "
                "%u client thread(s)\n",
                cfg.op.c_str(), static_cast<unsigned long long>(requests), static_cast<unsigned long long>(run.ok.load()),
                static_cast<unsigned long long>(run.errors.load()), seconds, rps, cfg.concurrency, cfg.connections,
                cfg.threads);
    std::printf("latency us: p50 %llu  p90 %llu  p99 %llu  max %llu\n",
                static_cast<unsigned long long>(run.latency.percentile(50)),
                static_cast<unsigned long long>(run.latency.percentile(90)),
                static_cast<unsigned long long>(run.latency.percentile(99)),
                static_cast<unsigned long long>(run.latency.max()));
    std::printf("client CPU: %.3f s user + %.3f s sys = %.3f s per 10,000 calls\n", user, sys, cpuPer10k);
    std::printf("pool: %llu connections opened (%llu full TLS handshakes, %llu resumed) during the run\n",
                static_cast<unsigned long long>(stats.pool.connectionsOpened - before.connectionsOpened),
                static_cast<unsigned long long>(stats.pool.tlsFullHandshakes - before.tlsFullHandshakes),
                static_cast<unsigned long long>(stats.pool.tlsResumed - before.tlsResumed));
    // A --duration run has no 10% mark to measure at: that figure is left out, not printed as 0.
    if (const long atTenPercent = run.rssAtTenPercent.load(); atTenPercent > 0)
        std::printf("memory: RSS %ld KiB at 10%% of calls, %ld KiB at the end, peak %ld KiB\n", atTenPercent, rssEnd,
                    peakRss);
    else
        std::printf("memory: RSS %ld KiB at the end, peak %ld KiB\n", rssEnd, peakRss);
    if (cfg.cache > 0)
        std::printf("conversation cache: %llu hits, %llu misses, %llu coalesced, %zu entries\n",
                    static_cast<unsigned long long>(stats.conversationCache.hits),
                    static_cast<unsigned long long>(stats.conversationCache.misses),
                    static_cast<unsigned long long>(stats.conversationCache.coalesced), stats.conversationCache.entries);
    if (!run.firstError.empty())
        std::printf("first error: %s\n", cli::printable(run.firstError).c_str()); // a server's text

    std::cout << boost::json::serialize(boost::json::object{
                     {"op", cfg.op},
                     {"requests", requests},
                     {"ok", run.ok.load()},
                     {"errors", run.errors.load()},
                     {"seconds", seconds},
                     {"rps", rps},
                     {"p50_us", run.latency.percentile(50)},
                     {"p90_us", run.latency.percentile(90)},
                     {"p99_us", run.latency.percentile(99)},
                     {"max_us", run.latency.max()},
                     {"connections_opened", stats.pool.connectionsOpened - before.connectionsOpened},
                     {"tls_full_handshakes", stats.pool.tlsFullHandshakes - before.tlsFullHandshakes},
                     {"tls_resumed", stats.pool.tlsResumed - before.tlsResumed},
                     {"cpu_user_s", user},
                     {"cpu_sys_s", sys},
                     {"peak_rss_kib", peakRss},
                     {"concurrency", cfg.concurrency},
                     {"connections", cfg.connections},
                     {"cpu_per_10k_calls_s", cpuPer10k},
                     {"rss_at_10pct_kib", run.rssAtTenPercent.load()},
                     {"rss_end_kib", rssEnd}})
              << std::endl;
    return run.errors ? 2 : 0;
}

} // namespace

int main(int argc, char** argv)
{
    Config cfg;
    if (const auto said = parseArguments(argc, argv, cfg)) {
        if (said->empty()) // the help
            return 0;
        std::cerr << *said << "\n";
        return 1;
    }
    try {
        return bench(cfg);
    } catch (const std::exception& e) { // the emulator could not start, a bad --base-url, ...
        std::cerr << "wix-inbox-bench: " << e.what() << "\n";
        return 1;
    }
}
