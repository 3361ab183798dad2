// SPDX-License-Identifier: BSL-1.0
// The files the emulator writes for its users (the CA certificate, the webhooks' public
// key): written whole or refused with one clear line, in a temporary directory of its own
// when no option places them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace wix::inbox::emulator {

/// Writes a whole file or throws std::runtime_error naming it (as `what`) and why.
void writeFile(const std::string& path, std::string_view text, std::string_view what);

/// A fresh directory in $TMPDIR (else /tmp), made on first use, removed by remove().
class TempDir {
public:
    /// Throws std::runtime_error if it cannot be made.
    const std::filesystem::path& path();
    void remove() noexcept;

private:
    std::filesystem::path dir_;
};

} // namespace wix::inbox::emulator
