// SPDX-License-Identifier: BSL-1.0
// Runs the project's executables as users do: a child process with its output in files,
// optionally under resource limits (few file descriptors, a file size limit that stands
// in for a full disk).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace test {

struct TempDir {
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path path;
};

struct ChildOptions {
    std::optional<unsigned long> maxOpenFiles{}; ///< RLIMIT_NOFILE
    std::optional<unsigned long> maxFileBytes{}; ///< RLIMIT_FSIZE; SIGXFSZ is ignored, so writes fail with EFBIG
    std::string stdinFile{};                     ///< empty: /dev/null
    std::vector<std::string> environment{};      ///< NAME=VALUE added to (or replacing) the test's own
};

/// Starts `exe args...` with stdout and stderr to `dir`/stdout and `dir`/stderr.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const std::filesystem::path& dir,
            const ChildOptions& options = {});
/// Starts `exe args...` on a pseudo-terminal of `columns` columns and returns everything it
/// wrote there (stdout and stderr) once it has ended; `status` gets its exit status.
std::string runInTerminal(const std::string& exe, const std::vector<std::string>& args, unsigned short columns,
                          int& status);
/// The exit status, or 128 + the signal that ended it.
int waitExit(pid_t pid);
/// The same, but kills the child (and reports -1) if it has not ended within `limit`.
int waitExitWithin(pid_t pid, std::chrono::milliseconds limit);

std::string slurp(const std::filesystem::path& p);

} // namespace test
