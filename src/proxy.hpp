// SPDX-License-Identifier: BSL-1.0
// The route of a Client's connections through an HTTP proxy (ClientOptions::proxy), as the
// transport needs it: where to connect, and what to ask the proxy for.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/proxy.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox::detail {

struct ProxyRoute {
    std::string host; ///< Without brackets for IPv6.
    std::string port;
    bool hostIsAddress = false;
    std::string name;          ///< host:port, for messages: never the credentials
    std::string authorization; ///< Proxy-Authorization's value (a secret); empty: none
};

/// The route to an origin host: none when no proxy is set or `noProxy` names the host.
/// Errc::invalidArgument for a malformed URL; the message never repeats the URL, which may
/// hold a password.
Result<std::optional<ProxyRoute>> proxyRoute(const ProxyOptions& options, std::string_view originHost,
                                             bool originIsAddress);

/// True if a NO_PROXY list sends `host` (a name, or an address without brackets) directly.
bool bypassesProxy(const std::vector<std::string>& noProxy, std::string_view host, bool hostIsAddress);

} // namespace wix::inbox::detail
