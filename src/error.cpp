// SPDX-License-Identifier: BSL-1.0
#include <wix/inbox/error.hpp>

#include <boost/throw_exception.hpp>

#include <ostream>
#include <utility>

namespace wix::inbox {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "wix.inbox"; }

    std::string message(int ev) const override
    {
        switch (static_cast<Errc>(ev)) {
        case Errc::httpStatus: return "the server answered with an error status";
        case Errc::invalidArgument: return "invalid argument";
        case Errc::resolveFailed: return "host name resolution failed";
        case Errc::connectFailed: return "connection failed";
        case Errc::tlsHandshakeFailed: return "TLS handshake failed";
        case Errc::connectionClosed: return "connection closed before a full response";
        case Errc::protocolError: return "malformed HTTP response";
        case Errc::responseTooLarge: return "response exceeds the configured size limit";
        case Errc::decodeError: return "malformed response body";
        case Errc::timeout: return "deadline exceeded";
        case Errc::poolAcquireTimeout: return "timed out waiting for a pooled connection";
        case Errc::cancelled: return "call cancelled";
        case Errc::clientShutdown: return "client closed or destroyed while the call was in flight";
        case Errc::authFailed: return "could not obtain credentials";
        case Errc::outcomeUnknown: return "outcome unknown: the request may have taken effect";
        case Errc::webhookRejected: return "webhook rejected";
        case Errc::proxyAuthFailed: return "the proxy rejected its credentials";
        case Errc::proxyFailed: return "the proxy refused the tunnel";
        }
        return "unknown wix.inbox error";
    }
};

} // namespace

const boost::system::error_category& category() noexcept
{
    static const Category instance;
    return instance;
}

boost::system::error_code make_error_code(Errc e) noexcept
{
    return {static_cast<int>(e), category()};
}

std::string_view toString(Errc e) noexcept
{
    switch (e) {
    case Errc::httpStatus: return "httpStatus";
    case Errc::invalidArgument: return "invalidArgument";
    case Errc::resolveFailed: return "resolveFailed";
    case Errc::connectFailed: return "connectFailed";
    case Errc::tlsHandshakeFailed: return "tlsHandshakeFailed";
    case Errc::connectionClosed: return "connectionClosed";
    case Errc::protocolError: return "protocolError";
    case Errc::responseTooLarge: return "responseTooLarge";
    case Errc::decodeError: return "decodeError";
    case Errc::timeout: return "timeout";
    case Errc::poolAcquireTimeout: return "poolAcquireTimeout";
    case Errc::cancelled: return "cancelled";
    case Errc::clientShutdown: return "clientShutdown";
    case Errc::authFailed: return "authFailed";
    case Errc::outcomeUnknown: return "outcomeUnknown";
    case Errc::webhookRejected: return "webhookRejected";
    case Errc::proxyAuthFailed: return "proxyAuthFailed";
    case Errc::proxyFailed: return "proxyFailed";
    }
    return "unknown";
}

namespace {

struct RetryStopNames {
    std::string_view name; ///< toName: an identifier, for JSON
    std::string_view text; ///< toString: for a sentence
};

// Both names of each reason in one row, so that they cannot drift apart.
constexpr RetryStopNames namesOf(RetryStop s) noexcept
{
    switch (s) {
    case RetryStop::none: return {"none", "none"};
    case RetryStop::notRetryable: return {"notRetryable", "not retryable"};
    case RetryStop::notIdempotent: return {"notIdempotent", "not idempotent"};
    case RetryStop::attemptsExhausted: return {"attemptsExhausted", "attempts exhausted"};
    case RetryStop::timeLimit: return {"timeLimit", "retry time limit reached"};
    case RetryStop::deadline: return {"deadline", "deadline"};
    case RetryStop::retryAfterTooLong: return {"retryAfterTooLong", "Retry-After beyond the deadline"};
    case RetryStop::budgetExhausted: return {"budgetExhausted", "retry budget exhausted"};
    case RetryStop::cancelled: return {"cancelled", "cancelled"};
    }
    return {"unknown", "unknown"};
}

} // namespace

std::string_view toString(RetryStop s) noexcept
{
    return namesOf(s).text;
}

std::string_view toName(RetryStop s) noexcept
{
    return namesOf(s).name;
}

std::ostream& operator<<(std::ostream& os, RetryStop s)
{
    return os << toString(s);
}

std::string Error::describe() const
{
    std::string out;
    if (httpStatus != 0 && code == make_error_code(Errc::httpStatus)) {
        out = "HTTP " + std::to_string(httpStatus);
        if (!applicationCode.empty())
            out += " " + applicationCode;
    } else {
        out = code.message();
    }
    if (!message.empty())
        out += ": " + message;
    for (const auto& v : fieldViolations)
        out += " [" + v.field + ": " + v.description + "]";
    if (cause && cause != code)
        out += " (" + cause.message() + ")";
    std::string tail;
    if (!requestId.empty())
        tail += "request-id " + requestId;
    if (attempts > 0) {
        if (!tail.empty())
            tail += ", ";
        tail += std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
    }
    if (stopReason != RetryStop::none && stopReason != RetryStop::notRetryable) {
        tail += ", stopped: ";
        tail += toString(stopReason);
    }
    if (!tail.empty())
        out += " (" + tail + ")";
    return out;
}

Error makeError(Errc code, std::string message, boost::system::error_code cause)
{
    Error e;
    e.code = make_error_code(code);
    e.cause = cause;
    e.message = std::move(message);
    return e;
}

ApplicationError Error::application() const noexcept
{
    static constexpr std::pair<std::string_view, ApplicationError> codes[] = {
        {"CONVERSATION_NOT_FOUND", ApplicationError::conversationNotFound},
        {"NOT_OWNED_BY_BUSINESS", ApplicationError::notOwnedByBusiness},
        {"NO_INBOX_INSTANCE", ApplicationError::noInboxInstance},
        {"NOT_JOINED_CHATROOM", ApplicationError::notJoinedChatroom},
        {"INBOX_INSTANCE_NOT_FOUND", ApplicationError::inboxInstanceNotFound},
        {"IDENTITY_DOES_NOT_MATCH", ApplicationError::identityDoesNotMatch},
        {"INVALID_MEDIA_URL", ApplicationError::invalidMediaUrl},
    };
    if (applicationCode.empty())
        return ApplicationError::none;
    for (const auto& [code, value] : codes)
        if (code == applicationCode)
            return value;
    return ApplicationError::other;
}

bool isTransient(const Error& e) noexcept
{
    if (e.code == make_error_code(Errc::httpStatus)) {
        switch (e.httpStatus) {
        case 429: case 500: case 502: case 503: case 504: return true;
        default: return false;
        }
    }
    return e.code == make_error_code(Errc::connectFailed) || e.code == make_error_code(Errc::resolveFailed)
        || e.code == make_error_code(Errc::connectionClosed) || e.code == make_error_code(Errc::timeout);
}

Exception::Exception(Error e) : std::runtime_error(e.describe()), error_(std::move(e)) {}

void throw_exception_from_error(const Error& e, const boost::source_location& loc)
{
    boost::throw_exception(Exception(e), loc);
}

} // namespace wix::inbox
