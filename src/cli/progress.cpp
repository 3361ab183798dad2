// SPDX-License-Identifier: BSL-1.0
#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wix::inbox::cli {

std::string formatDuration(double seconds)
{
    const long long s = std::llround(std::max(0.0, seconds));
    char out[32];
    if (s < 60)
        std::snprintf(out, sizeof out, "%llds", s);
    else if (s < 3600)
        std::snprintf(out, sizeof out, "%lldm%02llds", s / 60, s % 60);
    else
        std::snprintf(out, sizeof out, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
    return out;
}

std::string renderProgress(const ProgressView& v, unsigned columns)
{
    const std::size_t width = std::max(columns, 20u) - 1; // the last column would wrap on some terminals
    std::string counts = std::to_string(v.done);
    std::string eta;
    if (v.total && *v.total >= v.done) {
        counts += "/" + std::to_string(*v.total);
        if (v.callsPerSecond > 0 && *v.total > v.done)
            eta = "  ETA " + formatDuration(static_cast<double>(*v.total - v.done) / v.callsPerSecond);
    }
    std::string tail = "  " + std::to_string(static_cast<long long>(v.callsPerSecond)) + " calls/s  "
                     + std::to_string(v.failed) + " failed  " + std::to_string(v.retries) + " retries";
    if (v.throttled > 0)
        tail += "  " + std::to_string(v.throttled) + " throttled";
    std::string line = counts + eta + tail;
    // A bar of 10 to 30 cells where it fits.
    if (v.total && *v.total > 0 && *v.total >= v.done && line.size() + 13 <= width) {
        const std::size_t cells = std::min<std::size_t>(30, width - line.size() - 3);
        const auto filled = static_cast<std::size_t>(static_cast<double>(cells) * static_cast<double>(v.done)
                                                     / static_cast<double>(*v.total));
        line = "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "] " + line;
    }
    if (line.size() > width)
        line.resize(width);
    return line;
}

std::string progressJson(const ProgressView& v)
{
    char out[320];
    std::snprintf(out, sizeof out,
                  R"({"progress":{"done":%llu,"total":%s,"failed":%llu,"retries":%llu,"throttled":%llu,)"
                  R"("callsPerSecond":%.1f,"elapsedSeconds":%.1f}})",
                  static_cast<unsigned long long>(v.done), v.total ? std::to_string(*v.total).c_str() : "null",
                  static_cast<unsigned long long>(v.failed), static_cast<unsigned long long>(v.retries),
                  static_cast<unsigned long long>(v.throttled), v.callsPerSecond, v.elapsedSeconds);
    return out;
}

void drawProgress(const ProgressView& view)
{
    winsize size{};
    const unsigned columns = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
    std::fputs(("\r" + renderProgress(view, columns) + "\x1b[K").c_str(), stderr);
}

void clearProgress()
{
    std::fputs("\r\x1b[K", stderr);
}

ProgressReport::ProgressReport(bool quiet, std::chrono::milliseconds jsonInterval, std::optional<std::uint64_t> total,
                               Clock::time_point start)
    : terminal_(!quiet && ::isatty(STDERR_FILENO) == 1)
    , json_(!quiet && !terminal_ && jsonInterval.count() > 0)
    , jsonInterval_(jsonInterval)
    , total_(terminal_ || json_ ? total : std::nullopt)
    , start_(start)
    , nextJson_(start + jsonInterval)
{
}

std::chrono::milliseconds ProgressReport::tick() const
{
    constexpr std::chrono::milliseconds quarter(250);
    return json_ ? std::min(quarter, jsonInterval_) : quarter;
}

bool ProgressReport::due(Clock::time_point now) const
{
    return terminal_ || (json_ && now >= nextJson_);
}

void ProgressReport::show(ProgressView view, std::uint64_t calls, Clock::time_point now)
{
    const double seconds = std::chrono::duration<double>(now - start_).count();
    view.elapsedSeconds = seconds;
    if (total_ && view.done > *total_)
        total_.reset(); // the input grew during the run
    view.total = total_;
    view.callsPerSecond = seconds > 0 ? static_cast<double>(calls) / seconds : 0;
    if (terminal_)
        drawProgress(view);
    if (json_ && now >= nextJson_) {
        nextJson_ += jsonInterval_;
        std::fprintf(stderr, "%s\n", progressJson(view).c_str());
    }
}

void ProgressReport::finish()
{
    if (terminal_)
        clearProgress();
}

} // namespace wix::inbox::cli
