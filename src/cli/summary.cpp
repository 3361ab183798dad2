// SPDX-License-Identifier: BSL-1.0
#include "summary.hpp"

#include "job_state.hpp"
#include "owned_file.hpp"
#include "send_journal.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>
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

std::optional<std::string> summaryFileClash(const std::string& path, const BatchOptions& batch)
{
    namespace fs = std::filesystem;
    std::vector<std::pair<std::string, std::string>> taken;
    if (batch.input != "-")
        taken.emplace_back(batch.input, "the input");
    if (batch.output != "-") {
        taken.emplace_back(batch.output, "the output");
        for (const auto& kept : {jobStatePath(batch.output), sendJournalPath(batch.output), batch.output + ".wix-inbox-retry"})
            taken.emplace_back(kept, "a file kept beside the output");
    }
    std::error_code ec;
    const auto summary = fs::weakly_canonical(path, ec);
    for (const auto& [other, what] : taken) {
        std::error_code otherEc;
        if ((!ec && summary == fs::weakly_canonical(other, otherEc) && !otherEc)
            || fs::equivalent(path, other, otherEc)) // a hard link
            return "--summary-file names " + what + ": it would be replaced by the summary";
    }
    return std::nullopt;
}

} // namespace wix::inbox::cli
