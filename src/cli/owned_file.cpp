// SPDX-License-Identifier: BSL-1.0
#include "owned_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wix::inbox::cli {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why)
{
    throw std::runtime_error("'" + path + "' " + why);
}

} // namespace

int openOwnedFile(const std::string& path, int flags, const std::string& what)
{
    // O_NONBLOCK: opening a FIFO planted in the file's place must not wait for a writer.
    const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    if (fd < 0)
        refuse(path, errno == ELOOP ? "is a symbolic link: the " + what + " is never followed through a link"
                                    : "cannot be opened (the " + what + "): " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        refuse(path, "is not a regular file: the " + what + " must be one");
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

std::uint64_t checkReadable(int fd, const std::string& path, std::uint64_t maxBytes)
{
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        refuse(path, "is not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > maxBytes)
        refuse(path, "is larger than " + std::to_string(maxBytes) + " bytes: not a file of wix-inbox's");
    return static_cast<std::uint64_t>(st.st_size);
}

std::string readOwnedFile(const std::string& path, std::uint64_t maxBytes)
{
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT)
        return {};
    const int fd = openOwnedFile(path, O_RDONLY, "file wix-inbox keeps");
    std::string text;
    try {
        text.resize(checkReadable(fd, path, maxBytes));
        std::size_t done = 0;
        while (done < text.size()) {
            const auto n = ::read(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                refuse(path, std::string("cannot be read: ") + std::strerror(errno));
            if (n == 0)
                break; // it shrank meanwhile
            done += static_cast<std::size_t>(n);
        }
        text.resize(done);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return text;
}

void writeAll(int fd, const std::string& path, const std::string& text, std::int64_t offset)
{
    for (std::size_t done = 0; done < text.size();) {
        const auto n = offset < 0 ? ::write(fd, text.data() + done, text.size() - done)
                                  : ::pwrite(fd, text.data() + done, text.size() - done,
                                             static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            refuse(path, std::string("cannot be written: ") + (n < 0 ? std::strerror(errno) : "no space written"));
        done += static_cast<std::size_t>(n);
    }
}

} // namespace wix::inbox::cli
