// SPDX-License-Identifier: BSL-1.0
#include <wix/inbox/log_observer.hpp>

#include <cstdio>
#include <string>

namespace wix::inbox {
namespace {

using Level = LogObserver::Level;

// Server text (request ids, reasons, header values) on a log line: no control character.
void appendSafe(std::string& out, std::string_view text)
{
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
}

std::string milliseconds(std::chrono::nanoseconds d)
{
    char out[32];
    std::snprintf(out, sizeof out, "%.1f ms", std::chrono::duration<double, std::milli>(d).count());
    return out;
}

std::string forTenant(std::string_view tenant)
{
    return tenant.empty() ? std::string() : " [" + std::string(tenant) + "]";
}

} // namespace

LogObserver::LogObserver(Level level, Sink sink) : level_(level), sink_(std::move(sink)) {}

bool LogObserver::wantsHeaders() const
{
    return level_ >= Level::debug;
}

void LogObserver::write(Level level, std::string_view line)
{
    std::lock_guard lock(mutex_);
    sink_(level, line);
}

void LogObserver::onAttemptEnd(const AttemptEnd& e)
{
    const bool failed = e.statusCode < 200 || e.statusCode >= 300;
    const Level level = failed ? Level::warning : Level::info;
    if (level > level_)
        return;
    std::string line(e.call.operation);
    line.append(" ").append(e.call.method).append(" ").append(e.call.urlTemplate).append(" ");
    line.append(e.statusCode ? std::to_string(e.statusCode) : "-");
    if (!e.errorType.empty() && e.statusCode == 0)
        line.append(" ").append(e.errorType);
    line.append(" ").append(milliseconds(e.duration));
    line.append(" attempt ").append(std::to_string(e.resendCount + 1));
    if (!e.requestId.empty())
        appendSafe(line.append(" request-id "), e.requestId);
    line.append(forTenant(e.call.tenant));
    if (e.retryIn) {
        // Why this pause: the server named it, or the backoff policy chose it.
        // A throttle is named whether or not it named a wait: Wix's 429s send no Retry-After.
        line.append(" retry in ").append(std::to_string(e.retryIn->count())).append(" ms: ");
        line.append(e.throttled ? "throttled, " : "");
        if (e.retryAfter.empty())
            line.append("backoff");
        else
            appendSafe(line.append("Retry-After "), e.retryAfter);
    }
    std::lock_guard lock(mutex_);
    sink_(level, line);
    if (level_ < Level::debug)
        return;
    for (const auto& h : e.requestHeaders) {
        std::string header = "  > ";
        appendSafe(header, h.name);
        appendSafe(header.append(": "), h.value);
        sink_(Level::debug, header);
    }
    for (const auto& h : e.responseHeaders) {
        std::string header = "  < ";
        appendSafe(header, h.name);
        appendSafe(header.append(": "), h.value);
        sink_(Level::debug, header);
    }
}

void LogObserver::onRateLimitWait(const RateLimitWaitEvent& e)
{
    if (level_ < Level::debug)
        return;
    write(Level::debug, std::string(e.call.operation) + " waited " + milliseconds(e.waited) + " for the rate limit"
                            + (e.gotTurn ? "" : " and ended") + forTenant(e.call.tenant));
}

void LogObserver::onTokenRequest(const TokenRequestEvent& e)
{
    const Level level = e.ok ? Level::debug : Level::warning;
    if (level > level_)
        return;
    write(level, std::string("token request ") + (e.ok ? "ok" : "failed: " + std::string(e.errorType)) + " in "
                     + milliseconds(e.duration) + forTenant(e.tenant));
}

void LogObserver::onConnection(const ConnectionEvent& e)
{
    if (level_ < Level::debug)
        return;
    std::string line = "connection " + std::string(toString(e.kind)) + " " + std::string(e.serverAddress) + ":"
                     + std::to_string(e.serverPort);
    if (e.kind == ConnectionEvent::Kind::opened)
        line += " in " + milliseconds(e.connectDuration) + (e.tlsResumed ? " (TLS resumed)" : "");
    if (e.kind == ConnectionEvent::Kind::closed)
        line += std::string(" (") + std::string(toString(e.reason)) + ")";
    write(Level::debug, line + forTenant(e.tenant));
}

void LogObserver::onCacheLookup(const CacheLookupEvent& e)
{
    if (level_ < Level::debug)
        return;
    write(Level::debug, std::string("conversation cache ") + (e.hit ? "hit" : e.joined ? "miss (joined)" : "miss")
                            + forTenant(e.tenant));
}

} // namespace wix::inbox
