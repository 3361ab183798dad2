// SPDX-License-Identifier: BSL-1.0
// A plain HTTPS client for the emulator's contract tests: raw request bytes in, the parsed
// response out. Deliberately not our library, so a library bug cannot hide an emulator bug.
#pragma once

#include <map>
#include <string>

namespace test {

struct RawResponse {
    int status = 0;             ///< 0: no complete response (closed, reset, truncated...)
    std::string error;          ///< why, when status is 0
    std::map<std::string, std::string> headers; ///< lower-case names
    std::string body;
};

/// Connects to 127.0.0.1:port over TLS (trusting caFile), sends `request` as is, reads one
/// response. Gives up after 5 seconds.
RawResponse rawExchange(unsigned short port, const std::string& caFile, const std::string& request);

/// A request with Host and Content-Length filled in.
std::string rawRequest(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::string& extraHeaders = "");

} // namespace test
