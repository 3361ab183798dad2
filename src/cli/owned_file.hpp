// SPDX-License-Identifier: BSL-1.0
// The files a batch keeps beside its output (state, journal, a --retry-failed pass): made
// without following a link, so a planted symlink cannot redirect a write, and read back only
// when they are regular files of a bounded size, so a FIFO, a device or a link to /dev/zero
// cannot hang or flood the run.
#pragma once

#include <cstdint>
#include <string>

namespace wix::inbox::cli {

/// Opens `path` with `flags` (O_CREAT and the like) plus O_NOFOLLOW | O_CLOEXEC: a symlink
/// is refused. An existing file must be a regular one. Returns the descriptor; throws
/// std::runtime_error naming the file (and `what` it is for) on failure.
int openOwnedFile(const std::string& path, int flags, const std::string& what);

/// Checks that the open `fd` is a regular file of at most `maxBytes`; returns its size.
/// Throws std::runtime_error naming `path` otherwise.
std::uint64_t checkReadable(int fd, const std::string& path, std::uint64_t maxBytes);

/// The whole of a small owned file; empty if it does not exist. Throws if it is a link, not
/// a regular file, larger than `maxBytes`, or unreadable.
std::string readOwnedFile(const std::string& path, std::uint64_t maxBytes);

/// Writes all of `text` at the current offset of `fd` (or `offset` if not negative);
/// throws std::runtime_error naming `path` (a full disk, an I/O error).
void writeAll(int fd, const std::string& path, const std::string& text, std::int64_t offset = -1);

} // namespace wix::inbox::cli
