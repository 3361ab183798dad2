// SPDX-License-Identifier: BSL-1.0
// The Wix Inbox emulator: a local HTTPS server that speaks the Conversations wire contract,
// with fault injection. Embedded by the CLI, the tests and the benchmarks; also built as
// the standalone `wix-inbox-emulator`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wix::inbox::emulator {

/// Faults injected into API requests (never into /_emulator/ admin requests). Each
/// probability is per request, in [0, 1]; they are drawn in this order from one random
/// sequence seeded by `seed`, so a sequential run is reproducible.
struct Faults {
    double status429 = 0;         ///< 429 with Retry-After
    double status500 = 0;         ///< 500 with an empty body
    double status502 = 0;         ///< 502 with a non-JSON (HTML) body
    double status503 = 0;         ///< 503 with the error envelope and Retry-After
    double status504 = 0;         ///< 504 with an empty body
    double stall = 0;             ///< read the request, never answer
    double closeBeforeResponse = 0; ///< read the request, close the connection
    double resetMidBody = 0;      ///< send half the body, then reset (RST)
    double truncatedBody = 0;     ///< send half the body, then close cleanly
    double malformedJson = 0;     ///< 200 with a body that is not JSON
    /// The request takes effect, then the connection is reset before any byte of the answer
    /// (a response lost on the way back).
    double lostResponse = 0;
    int retryAfterSeconds = 1;    ///< value of Retry-After on 429/503
    bool retryAfterAsDate = false; ///< send Retry-After as an HTTP-date instead of seconds
    std::chrono::milliseconds latencyMin{0}; ///< added before every answer: uniform in
    std::chrono::milliseconds latencyMax{0}; ///< [min, max]
    /// Close connections idle (between requests) longer than this. 0: 5 minutes.
    std::chrono::milliseconds idleTimeout{0};
    /// With idleTimeout: announce it with `Keep-Alive: timeout=N`.
    bool idleTimeoutHint = false;
    /// Answer the N-th request of each connection with `Connection: close` and close it.
    /// 0: never.
    unsigned closeAfterRequests = 0;
    std::uint64_t seed = 1;
    /// The service's limit per tenant (an OAuth instance, an API key's site or account, a
    /// static token; all anonymous requests are one tenant): at most `rateLimit` API
    /// requests per `rateLimitPeriod`, as a token bucket. Over it: 429 TOO_MANY_REQUESTS with
    /// the envelope. 0: no limit; otherwise at least 1 (a bucket that never holds a whole
    /// request would refuse them all): Emulator and setFaults() throw std::invalid_argument.
    double rateLimit = 0;
    std::chrono::milliseconds rateLimitPeriod{1000};
    /// Send Retry-After (the time until the next request is admitted) with those 429s, which
    /// the real service does not document.
    bool rateLimitRetryAfter = false;
};

/// What the emulator demands of API requests. Off by default: anything is served.
/// `POST /oauth2/token` (client credentials) issues tokens in any mode.
struct Auth {
    bool required = false;
    std::vector<std::string> apiKeys;        ///< accepted with wix-site-id or wix-account-id
    std::vector<std::string> accessTokens;   ///< static tokens
    std::map<std::string, std::string> apps; ///< OAuth app ID → app secret
    std::chrono::seconds tokenLifetime{14400};
};

struct Options {
    std::uint16_t port = 0;       ///< 0: a free port
    std::string address = "127.0.0.1"; ///< An IP literal to listen on, e.g. "::1".
    unsigned threads = 2;
    /// Where to write the CA certificate (PEM). Empty: a fresh temporary directory (in
    /// $TMPDIR, else /tmp), removed when the emulator stops. Not writable: the Emulator throws.
    std::string caFile;
    /// Names the certificate is valid for (IP addresses or DNS names).
    std::vector<std::string> certificateNames{"127.0.0.1", "::1", "localhost"};
    Faults faults;
    Auth auth;
    std::size_t maxHeaderBytes = std::size_t{16} * 1024; ///< larger: 431
    /// Keep the header fields of the last API request (Authorization left out) for
    /// `GET /_emulator/last-request`: {"headers": [[name, value], ...]}. Default off (it
    /// costs a lock per request).
    bool recordRequestHeaders = false;
    /// Larger: 413; so is a request whose bytes on the wire (framing, chunk extensions,
    /// trailers included) exceed maxHeaderBytes + maxBodyBytes. A malformed request gets 400.
    /// All three answers carry the error envelope and close the connection.
    /// The default takes a message of 16,384 characters however they are encoded.
    std::size_t maxBodyBytes = std::size_t{256} * 1024;
    /// Connections served at once; one more is accepted and closed at once (counted in
    /// Stats::connectionsRefused). An idle connection costs about 75 KiB, one held by a
    /// hostile peer at the body limit about 345 KiB (README, bench/hostile_memory.sh).
    std::size_t maxConnections = 4096;
    /// A request must arrive whole within this time of its first byte (slow clients).
    std::chrono::milliseconds requestTimeout{10000};
    /// Where to POST webhooks (http:// or https:// with the system's trusted CAs), as the
    /// service does: `conversations_merged` per merge, `message_sent_to_business` or
    /// `message_sent_to_participant` per stored message (by its direction),
    /// `button_interacted` per press-button admin call. Each body a JWT signed RS256 with a
    /// key the emulator makes at start (webhookPublicKeyFile()), answered 200 within 1,250 ms
    /// or resent after 1 min, 10 min, 1 h, 2 h x3, 4 h x3, 8 h x2 and 12 h. Empty: none.
    /// The Emulator throws for a URL with user info (`user:pass@`), a fragment (`#...`) or a
    /// port outside 1-65535, and for a host that does not resolve.
    std::string webhookUrl;
    /// Multiplies the resend delays: 0.001 turns the 47 hours into 170 s. In [0, 1].
    double webhookResendScale = 1.0;
    /// Where to write the webhook public key (PEM). Empty: beside a temporary CA file, or in a
    /// fresh temporary directory removed when the emulator stops.
    std::string webhookPublicKeyFile;
};

struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t connectionsAccepted = 0;
    std::uint64_t connectionsOpen = 0;    ///< being served now
    std::uint64_t connectionsRefused = 0; ///< accepted over maxConnections and closed
    std::uint64_t acceptFailures = 0;     ///< accept() failed (e.g. out of descriptors): paused
    std::uint64_t internalErrors = 0;     ///< exceptions that ended a connection (on stderr too)
    std::uint64_t tlsHandshakes = 0;
    std::uint64_t tlsResumed = 0;
    /// getConversation, getOrCreateConversation, listMessages, sendMessage, admin, unknown
    std::map<std::string, std::uint64_t> byRoute;
    std::map<int, std::uint64_t> byStatus;
    std::map<std::string, std::uint64_t> faults;    ///< injected faults by name ("fault-503")
    std::uint64_t conversations = 0;
    std::uint64_t messages = 0;      ///< stored (at most 10,000 per conversation, 200,000 in all)
    std::uint64_t tokensIssued = 0;
    std::uint64_t authRejected = 0;  ///< requests answered 401/403
    std::map<std::string, std::uint64_t> throttledByTenant; ///< 429s of the rate limit, by tenant label
    std::uint64_t webhooksDelivered = 0;      ///< webhooks answered 200 in time
    std::uint64_t webhookFailedAttempts = 0;  ///< deliveries not answered 200 in time (each resend counts)
    std::uint64_t webhooksAbandoned = 0;      ///< webhooks whose 13 attempts all failed
    std::uint64_t webhooksPending = 0;        ///< webhooks being delivered or waiting to be resent
};

class Emulator {
public:
    /// Generates the certificate, writes its files, binds, and starts serving on its own
    /// threads. Throws std::runtime_error if it cannot (a file not writable, a port in use, a
    /// bad webhook URL) and std::invalid_argument for a rate limit below 1 per period.
    explicit Emulator(Options options = {});
    ~Emulator(); ///< Stops serving and joins its threads.
    Emulator(const Emulator&) = delete;
    Emulator& operator=(const Emulator&) = delete;

    std::string url() const;         ///< https://127.0.0.1:PORT, https://[::1]:PORT
    std::uint16_t port() const;
    const std::string& caFile() const;
    /// The PEM file of the key webhooks are signed with; empty without Options::webhookUrl.
    const std::string& webhookPublicKeyFile() const;

    Stats stats() const;
    /// Blocks until `reached(stats())` is true, reading the statistics again each time they
    /// change (a request answered, a connection opened or closed, a webhook delivered, failed
    /// or given up, an admin call), or until `timeout` (at most a year): the statistics that
    /// satisfied it, or none. For tests
    /// that wait for what the emulator did rather than for a time. Thread-safe; `reached`
    /// runs on the calling thread, with no lock of the emulator's held.
    std::optional<Stats> waitFor(const std::function<bool(const Stats&)>& reached,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
    /// Throws std::invalid_argument for a rate limit below 1 per period (Faults::rateLimit).
    void setFaults(const Faults& faults);
    Faults faults() const;
    /// Forgets conversations, messages, statistics and restarts the fault sequence from its seed.
    void reset();
    /// Invalidates every issued OAuth token (their next use gets 401).
    void revokeTokens();

    struct AdminAnswer {
        int status = 0;
        std::string body; ///< JSON
    };
    /// Calls an admin endpoint in-process, as `POST /_emulator/promote` and the others do over
    /// HTTPS (see `wix-inbox-emulator --help`): e.g. admin("POST", "/_emulator/promote",
    /// R"({"from": {"anonymousVisitorId": "..."}, "to": {"memberId": "..."}})"), or
    /// "/_emulator/participant-message" and "/_emulator/press-button" to play the participant.
    AdminAnswer admin(std::string_view method, std::string_view path, std::string_view body);
    void stop();

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

/// JSON forms used by the admin endpoints and the standalone executable. Fault settings
/// use the flags' names: {"fault-503": 0.3, "retry-after": 1, "latency-min-ms": 5, ...}.
std::string toJson(const Stats& s);
std::string toJson(const Faults& f);

/// Why a fault setting was refused: the setting's name, and what it must be.
struct FaultsProblem {
    std::string field;
    std::string message;
};
/// Applies the settings present in `json` onto `faults`; the problem (and `faults`
/// untouched) if the JSON is malformed, a setting unknown or a value out of range.
std::optional<FaultsProblem> applyFaultsJson(std::string_view json, Faults& faults);

} // namespace wix::inbox::emulator
