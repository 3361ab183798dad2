// The two ways codec.cpp decodes a response, apart, so that tests can hold them to the
// same answers: a SAX fast path for the regular case, and the document decoder that names
// what is wrong with any other body.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/model.hpp>

#include <string_view>

namespace wix::inbox::detail {

/// True and `out` filled if `body` is valid JSON with every field the contract guarantees
/// (`newConversation` only if asked), each once and of its type; false otherwise.
bool decodeRegular(std::string_view body, bool newConversationRequired, GetOrCreateConversationResponse& out);

/// Decodes any body through a JSON document; errors name the field at fault.
Result<GetOrCreateConversationResponse> decodeByDocument(std::string_view body, bool newConversationRequired);

/// decodeGetOrCreateConversationResponse() into a Result the caller holds, which holds a
/// default value (or an error, then replaced): the client's calls decode into the Result
/// they return, which spares moving a Conversation around.
void decodeInto(std::string_view body, Result<GetOrCreateConversationResponse>& out);

} // namespace wix::inbox::detail
