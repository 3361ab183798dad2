// SPDX-License-Identifier: BSL-1.0
// wix::inbox::LogObserver: an Observer (observer.hpp) that writes what a Client does as log
// lines, one per attempt, to a sink of your choice (a logger, std::clog, syslog...).
//
//     options.observer = std::make_shared<wix::inbox::LogObserver>(
//         wix::inbox::LogObserver::Level::info,
//         [](wix::inbox::LogObserver::Level, std::string_view line) { std::clog << line << '\n'; });
//
// A line at `info`:
//     GetOrCreateConversation POST /inbox/v2/conversations 503 2.1 ms attempt 1 request-id 5f1c... retry in 1000 ms: throttled, Retry-After 1
// (`backoff` when the pause is the retry policy's own; `throttled, backoff` after a 429 that
// names no wait, as the service's own 429s). Lines hold no secret (observer.hpp says why) and
// no control character: bytes below 0x20 and DEL from the server are written as \xNN.
#pragma once

#include <wix/inbox/observer.hpp>

#include <functional>
#include <mutex>
#include <string_view>

namespace wix::inbox {

class LogObserver : public Observer {
public:
    enum class Level {
        warning, ///< attempts that failed (and why, and whether they are retried), tokens that failed
        info,    ///< one line per attempt
        debug,   ///< and each attempt's headers (credentials "[redacted]"), connections, cache lookups,
                 ///< rate-limit waits, token requests
    };
    /// Called with each line (no newline), one call at a time: the observer serializes them,
    /// so the lines of one attempt stay together. It should not block for long (see observer.hpp).
    using Sink = std::function<void(Level level, std::string_view line)>;

    LogObserver(Level level, Sink sink);

    bool wantsHeaders() const override;
    void onAttemptEnd(const AttemptEnd& event) override;
    void onRateLimitWait(const RateLimitWaitEvent& event) override;
    void onTokenRequest(const TokenRequestEvent& event) override;
    void onConnection(const ConnectionEvent& event) override;
    void onCacheLookup(const CacheLookupEvent& event) override;

private:
    void write(Level level, std::string_view line);

    Level level_;
    Sink sink_;
    std::mutex mutex_; // one line at a time to the sink
};

} // namespace wix::inbox
