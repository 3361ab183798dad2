// SPDX-License-Identifier: BSL-1.0
// Reporting to an Observer (observer.hpp) from inside the library: the calls that keep an
// observer's exception out of the client, and the redacted header lists of -vv logs.
#pragma once

#include <wix/inbox/observer.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace wix::inbox::detail {

/// Calls `method` of `observer`; an exception it throws is dropped (observer.hpp's contract:
/// a broken observer must not break or end the call it watches).
template <class Event>
void notify(Observer& observer, void (Observer::*method)(const Event&), const Event& event) noexcept
{
    try {
        (observer.*method)(event);
    } catch (...) {
    }
}

/// Authorization, Cookie, Set-Cookie, Proxy-Authorization (any case): values never shown.
bool isSensitiveHeader(std::string_view name) noexcept;

/// The header lines of a serialized HTTP head (the request or status line skipped), views
/// into `head`, with sensitive values replaced by "[redacted]".
std::vector<HeaderField> headerFields(std::string_view head);

/// The same for parsed name/value pairs.
std::vector<HeaderField> headerFields(const std::vector<std::pair<std::string, std::string>>& fields);

} // namespace wix::inbox::detail
