// SPDX-License-Identifier: BSL-1.0
// How a Client reaches its origin through an HTTP proxy (ClientOptions::proxy).
//
// Each pooled connection asks the proxy once for a tunnel (`CONNECT host:port`), then runs
// TLS with the origin inside it: the proxy sees neither the requests nor the credentials,
// and the origin's certificate is verified for the origin's name as without a proxy. A
// request whose connection failed at the proxy never reached the origin, so it is retried
// like a failed connect.
//
// Failures name the hop: Errc::resolveFailed / connectFailed "... proxy HOST:PORT ..." (the
// proxy is unreachable, or it answered 500/502/503/504: it could not reach the origin),
// Errc::proxyAuthFailed (407 or 401: its credentials are missing or wrong), Errc::proxyFailed (any
// other refusal, or an answer that is not HTTP), Errc::connectionClosed (the proxy closed
// the tunnel). Their messages never hold the proxy's credentials.
//
// Thread-safety: plain values; fromEnvironment() reads the environment, which must not be
// changed (setenv) meanwhile.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wix::inbox {

struct ProxyOptions {
    /// `http://[user:password@]host[:port]` (user and password percent-encoded; port default
    /// 1080, as curl's). A scheme-less `host:port` means http://. With user info, requests
    /// for a tunnel carry `Proxy-Authorization: Basic`. Only http:// proxies are supported
    /// (the tunnel carries TLS to the origin end to end). Default empty: no proxy.
    /// Malformed: the Client's constructor throws Exception(Errc::invalidArgument).
    std::string url;
    /// Origins reached directly, as curl's NO_PROXY: `*` (every host); a host name, which
    /// also covers its subdomains (`example.com` and `.example.com` both match
    /// `api.example.com` and `example.com`); an IP literal (`127.0.0.1`, `::1` or `[::1]`),
    /// matched exactly; a CIDR range (`10.0.0.0/8`, `fd00::/8`), holding the origin when
    /// the base URL names an address in it (names are not resolved for it, as in curl). Unlike
    /// curl, which reads a length of 0 as the one address written, `/0` holds every address of
    /// its family; a range of one family never holds the other's (`127.0.0.0/8` misses
    /// `[::ffff:127.0.0.1]`, as in curl).
    /// Case-insensitive; ports are not supported. Default empty.
    std::vector<std::string> noProxy;

    /// Read nothing from the environment unless asked: this reads `https_proxy` (else
    /// `HTTPS_PROXY`) and `no_proxy` (else `NO_PROXY`), as curl does for https URLs.
    static ProxyOptions fromEnvironment();
    /// Splits a comma-separated NO_PROXY list, dropping blanks around and between entries.
    static std::vector<std::string> parseNoProxy(std::string_view list);
};

} // namespace wix::inbox
