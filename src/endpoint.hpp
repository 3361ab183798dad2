// SPDX-License-Identifier: BSL-1.0
// What the generic call path knows of an endpoint: a descriptor (method, path, idempotency,
// how to write the request, how to read the answer). Every call, the token request included,
// runs through one path (call_path.hpp).
#pragma once

#include <wix/inbox/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox::detail {

/// One request, before credentials and the connection's headers are added.
struct Request {
    std::string_view method;
    std::string_view operation;   ///< the endpoint's, for observers
    std::string_view urlTemplate; ///< the endpoint's, for observers
    std::string target; ///< Path (with the base URL's prefix) and query.
    std::string body;   ///< JSON; empty for none.
    bool idempotent = false;
    bool authenticated = true; ///< false only for the token endpoint itself.
    std::string extraHeaders;  ///< CallOptions::headers' lines, each ending in CRLF
};

/// Decodes a 200's body into the call's Result, which holds a default value until then.
template <class T>
using Decoder = void (*)(std::string_view body, Result<T>& into);

/// An endpoint taking `Input` (a view of the public method's arguments) and giving `Output`.
template <class Input, class Output>
struct Endpoint {
    std::string_view method;
    std::string_view path; ///< Under the base URL's path prefix, e.g. "/inbox/v2/conversations".
    std::string_view operation;   ///< The API's name of it, e.g. "GetConversation".
    /// url.template of OpenTelemetry: the path with its variable parts named, query left out.
    std::string_view urlTemplate;
    /// Safe to send twice: retried after the request may have reached the server.
    bool idempotent;
    /// Checks the input and completes the request (path tail, query, body), copying what it
    /// needs; an error (Errc::invalidArgument) sends nothing.
    std::optional<Error> (*encode)(const Input& input, Request& into);
    Decoder<Output> decode;
    /// Sends the credentials' headers: false only for the token endpoint itself.
    bool authenticated = true;
};

} // namespace wix::inbox::detail
