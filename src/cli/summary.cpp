#include "summary.hpp"

#include "owned_file.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wix::inbox::cli {
namespace {

boost::json::value signalName(const BatchSummary& summary)
{
    if (!summary.interrupted)
        return nullptr;
    switch (summary.signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return summary.signal;
    }
}

} // namespace

std::string summaryJson(const BatchSummary& s, const ClientStats& stats, double seconds, std::size_t tenants)
{
    const auto calls = s.ok + s.failed;
    return boost::json::serialize(boost::json::object{
        {"lines", {{"ok", s.ok}, {"failed", s.failed}, {"skipped", s.skipped}}},
        {"retries", stats.retries + s.lineRetries},
        {"lineRetries", s.lineRetries},
        {"throttled", stats.throttled},
        {"tokenRequests", stats.tokenRequests},
        {"reconciliation", {{"requests", s.reconciliationRequests}, {"reconciled", s.reconciled}}},
        {"durationSeconds", seconds},
        {"callsPerSecond", seconds > 0 ? static_cast<double>(calls) / seconds : 0.0},
        {"tenants", tenants},
        {"interrupted", s.interrupted},
        {"signal", signalName(s)},
    });
}

void writeSummaryFile(const std::string& path, const std::string& text)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw std::runtime_error("--summary-file '" + path + "' exists and is not a regular file (a link?): not written");
    const std::string temporary = path + ".tmp." + std::to_string(::getpid());
    const int fd = openOwnedFile(temporary, O_WRONLY | O_CREAT | O_EXCL, "the summary");
    try {
        writeAll(fd, temporary, text + "\n");
        if (::fsync(fd) != 0)
            throw std::runtime_error("cannot write '" + temporary + "': " + std::strerror(errno));
    } catch (...) {
        ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw std::runtime_error("cannot write '" + path + "': " + std::strerror(error));
    }
}

} // namespace wix::inbox::cli
