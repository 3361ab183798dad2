// SPDX-License-Identifier: BSL-1.0
#include "emulator/output_files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace wix::inbox::emulator {

// Each write is checked: a full disk or /dev/full fails only there, after an open that
// succeeded.
void writeFile(const std::string& path, std::string_view text, std::string_view what)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int error = fd < 0 ? errno : 0;
    for (std::size_t done = 0; !error && done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno != EINTR)
            error = errno;
        done += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (fd >= 0 && ::close(fd) != 0 && !error)
        error = errno;
    if (error)
        throw std::runtime_error("cannot write the " + std::string(what) + " " + path + ": " + std::strerror(error));
}

const std::filesystem::path& TempDir::path()
{
    if (dir_.empty()) {
        const char* tmpdir = std::getenv("TMPDIR");
        const std::filesystem::path base = tmpdir && *tmpdir ? tmpdir : "/tmp";
        std::string pattern = (base / "wix-inbox-emulator-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("cannot create a temporary directory in " + base.string() + ": "
                                     + std::strerror(errno));
        dir_ = pattern;
    }
    return dir_;
}

void TempDir::remove() noexcept
{
    if (!dir_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
}

} // namespace wix::inbox::emulator
