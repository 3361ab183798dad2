// SPDX-License-Identifier: BSL-1.0
// Typed errors of wix::inbox: one Error value for every way a call can fail.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace wix::inbox {

/// Error codes of the `wix.inbox` category. Transport, TLS and parsing failures are
/// mapped to these so callers can branch on them without knowing Asio or OpenSSL;
/// the original low-level code is kept in `Error::cause`.
enum class Errc {
    httpStatus = 1,       ///< The server answered with a non-200 status (see Error::httpStatus).
    invalidArgument,      ///< Bad input from the caller (e.g. a malformed GUID); nothing was sent.
    resolveFailed,        ///< DNS resolution of the host failed.
    connectFailed,        ///< TCP connect failed (refused, unreachable).
    tlsHandshakeFailed,   ///< TLS handshake failed, including certificate verification.
    connectionClosed,     ///< The server closed or reset the connection before a full response.
    protocolError,        ///< The response was not valid HTTP/1.1.
    responseTooLarge,     ///< Response headers or body exceeded the configured limits.
    decodeError,          ///< Status 200 but the JSON body was malformed or lacked a field.
    timeout,              ///< The call's deadline (or a step's timeout) expired.
    poolAcquireTimeout,   ///< No pooled connection became free within the acquire timeout.
    cancelled,            ///< The call was cancelled by the caller.
    clientShutdown,       ///< The Client was closed (Client::close) or destroyed.
    authFailed,           ///< Credentials could not be obtained (e.g. the token endpoint failed).
    /// A call that is not idempotent (SendMessage) failed after its request may have reached
    /// the server: a timeout or a reset after it was written, or HTTP 500/502/503/504. It may
    /// have taken effect, so it was not re-sent. Error::cause holds the failure (httpStatus
    /// the status, if any); reconcile before sending again (docs/api.md).
    outcomeUnknown,
    /// A webhook body failed verification or decoding (webhooks.hpp): the message says why.
    webhookRejected,
    /// The proxy (ClientOptions::proxy) answered 407 (or 401) to CONNECT: its credentials
    /// are missing or wrong. Nothing reached the origin; not retried.
    proxyAuthFailed,
    /// The proxy refused the tunnel (an answer to CONNECT other than 2xx, 401/407 and the
    /// 500/502/503/504 of an unreachable origin, which are connectFailed), or its answer was
    /// not HTTP. Nothing reached the origin; not retried.
    proxyFailed,
};

/// The enumerator's name, e.g. "timeout": stable, for machine-readable output.
std::string_view toString(Errc e) noexcept;

const boost::system::error_category& category() noexcept;
boost::system::error_code make_error_code(Errc e) noexcept;

/// One violated rule of a `validationError` (HTTP 400).
struct FieldViolation {
    std::string field;        ///< e.g. "participantId.memberId"
    std::string description;
    std::string violatedRule; ///< e.g. "FORMAT"
    std::string ruleName;
};

/// Why the retry loop gave up; `none` when the first attempt's error was final.
enum class RetryStop {
    none,              ///< Not a retry decision (e.g. invalid argument, success).
    notRetryable,      ///< The failure is permanent (400, 401, 403, 404, 409, decode error...).
    notIdempotent,     ///< Transient, but the request may have reached the server.
    attemptsExhausted, ///< The retry policy's attempt limit was reached.
    timeLimit,         ///< The retry policy's total-time limit was reached.
    deadline,          ///< The next attempt could not finish before the call's deadline.
    retryAfterTooLong, ///< The server asked to wait beyond the deadline or maximum delay.
    budgetExhausted,   ///< The client's shared retry budget is below half.
    cancelled,         ///< The caller cancelled the call.
};

/// A human reading, e.g. "attempts exhausted".
std::string_view toString(RetryStop) noexcept;
/// The enumerator's name, e.g. "attemptsExhausted": stable, for machine-readable output.
std::string_view toName(RetryStop) noexcept;
std::ostream& operator<<(std::ostream& os, RetryStop s);

/// The application errors the API's calls declare (Error::applicationCode, typed).
enum class ApplicationError {
    none,                  ///< no application error in the answer
    other,                 ///< a code not listed here: see Error::applicationCode
    conversationNotFound,  ///< CONVERSATION_NOT_FOUND (GetConversation, ListMessages)
    notOwnedByBusiness,    ///< NOT_OWNED_BY_BUSINESS (GetConversation: another site's)
    noInboxInstance,       ///< NO_INBOX_INSTANCE (ListMessages)
    notJoinedChatroom,     ///< NOT_JOINED_CHATROOM (ListMessages)
    inboxInstanceNotFound, ///< INBOX_INSTANCE_NOT_FOUND (ListMessages, SendMessage)
    identityDoesNotMatch,  ///< IDENTITY_DOES_NOT_MATCH (SendMessage)
    invalidMediaUrl,       ///< INVALID_MEDIA_URL (SendMessage)
};

/// The error of a failed call. Plain data: inspect the fields, or use describe().
struct Error {
    /// `Errc::httpStatus` when the server answered; otherwise the transport/decode failure.
    boost::system::error_code code;
    /// The low-level cause (Asio, OpenSSL, Beast, JSON) for diagnostics; may be empty.
    boost::system::error_code cause;
    int httpStatus = 0;                       ///< 0 when no HTTP response was received.
    std::string applicationCode;              ///< e.g. "CONVERSATION_NOT_FOUND"; empty if none.
    std::vector<FieldViolation> fieldViolations; ///< From a `validationError`.
    std::string message;                      ///< The server's message, or our description.
    std::string requestId;                    ///< `X-Wix-Request-Id` of the last response.
    int attempts = 0;                         ///< Attempts made (0: rejected before sending).
    RetryStop stopReason = RetryStop::none;
    /// When retries were made: describe() of the failure that preceded the final attempt.
    std::string lastTransientFailure;

    /// One line for logs and CLI output, e.g.
    /// `HTTP 404 CONVERSATION_NOT_FOUND: Conversation not found (request-id 1f2e..., 1 attempt)`.
    /// Never contains credentials.
    std::string describe() const;

    /// applicationCode as a value, e.g. ApplicationError::conversationNotFound.
    ApplicationError application() const noexcept;
};

/// True for failures that may not happen again: no response (resolve, connect, reset, a
/// timeout) and HTTP 429, 500, 502, 503, 504. The Client retries these itself; a job that
/// retries its own units of work (as the CLI's batch does per line) asks the same question.
bool isTransient(const Error& e) noexcept;

/// An Error with a code and a message (e.g. for a TokenProvider's failure).
Error makeError(Errc code, std::string message, boost::system::error_code cause = {});

/// Thrown by `Result<T>::value()` when the call failed.
class Exception : public std::runtime_error {
public:
    explicit Exception(Error e);
    const Error& error() const noexcept { return error_; }

private:
    Error error_;
};

/// The outcome of every call: a value, or an Error. `.value()` throws `Exception`.
template <class T>
using Result = boost::system::result<T, Error>;

/// Makes `Result<T>::value()` throw `wix::inbox::Exception` (found by ADL).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

} // namespace wix::inbox

template <>
struct boost::system::is_error_code_enum<wix::inbox::Errc> : std::true_type {};
