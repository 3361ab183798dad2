// SPDX-License-Identifier: BSL-1.0
// A self-signed certificate generated at start, so the emulator needs no files shipped.
#pragma once

#include <string>
#include <vector>

namespace wix::inbox::emulator {

struct Certificate {
    std::string certificatePem;
    std::string privateKeyPem;
};

/// An ECDSA P-256 certificate valid for `names` (IP addresses become IP SANs, others DNS
/// SANs) for 30 days, usable as its own CA; `expired`: it expired yesterday (for tests).
/// Throws std::runtime_error on OpenSSL failure.
Certificate makeSelfSignedCertificate(const std::vector<std::string>& names, bool expired = false);

} // namespace wix::inbox::emulator
