// SPDX-License-Identifier: BSL-1.0
// How a Client trusts the server: TLS options (ClientOptions::tls).
#pragma once

#include <string>

namespace wix::inbox {

struct TlsOptions {
    /// Verify the server's certificate chain and host name. Default true. Turning it off
    /// is for debugging only: it lets anyone on the path read the credentials.
    bool verifyPeer = true;
    /// Trust the system's CA store (Debian: /etc/ssl/certs). Default true.
    bool useSystemRoots = true;
    /// An extra PEM file of trusted CAs (e.g. the emulator's). Default empty: none.
    std::string caFile;
};

} // namespace wix::inbox
