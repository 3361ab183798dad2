// SPDX-License-Identifier: BSL-1.0
// A purpose-built TLS server for the error paths the emulator does not produce: it answers
// every request with one fixed raw HTTP response. Real sockets, real TLS, on loopback.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace test {

/// A complete HTTP/1.1 response with a correct Content-Length.
inline std::string rawResponse(const std::string& statusLine, const std::string& body, const std::string& headers = "")
{
    return "HTTP/1.1 " + statusLine + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + headers + "\r\n"
         + body;
}

/// How the scripted server misbehaves besides its fixed answer.
struct Script {
    std::chrono::milliseconds trickle{0}; ///< write the answer one byte per interval
    bool closeWithoutNotify = false;      ///< drop TCP after answering, no TLS close_notify
    bool closeWithNotify = false;         ///< close TLS properly after answering
    bool answerBeforeRequest = false;     ///< write the answer right after the handshake
    bool expiredCertificate = false;
    /// After the answer, write this again and again until the client goes away (a peer
    /// that never ends a chunk extension, a trailer, a flood of interim responses...).
    std::string endless{};
};

class ScriptedServer {
public:
    explicit ScriptedServer(std::string rawResponse, Script script = {});
    ~ScriptedServer();
    std::string url() const;
    const std::string& caFile() const;
    int requests() const;
    std::string lastRequest() const; ///< Head and body of the last request received.
    /// When each request had been read whole, in order: the server's view of the pauses.
    std::vector<std::chrono::steady_clock::time_point> arrivals() const;

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace test
