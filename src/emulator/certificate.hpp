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
/// SANs), usable as its own CA. Throws std::runtime_error on OpenSSL failure.
Certificate makeSelfSignedCertificate(const std::vector<std::string>& names);

} // namespace wix::inbox::emulator
