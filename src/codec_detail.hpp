// SPDX-License-Identifier: BSL-1.0
// The codec's face to the Client's endpoints: decoders that fill the Result a call returns
// (which holds a default value, or an error that is then replaced: no model is moved
// around), and the checks and encoders of requests.
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wix::inbox::detail {

void decodeConversationInto(std::string_view body, Result<Conversation>& out);
void decodeGetOrCreateInto(std::string_view body, Result<GetOrCreateConversationResponse>& out);
void decodeMessagesPageInto(std::string_view body, Result<MessagesPage>& out);
void decodeSentMessageInto(std::string_view body, Result<Message>& out);

/// One of the decoders above, returning its Result (the public decode functions).
template <class T>
Result<T> decodeWith(void (*into)(std::string_view, Result<T>&), std::string_view body)
{
    Result<T> r{boost::system::in_place_value};
    into(body, r);
    return r;
}

/// Errc::invalidArgument naming what is wrong with a message to send (content, lengths,
/// required fields, IDs), before anything is sent.
std::optional<Error> checkMessageToSend(const Message& message);

/// True for well-formed UTF-8 (Unicode's Table 3-7): no overlong form, surrogate, code point
/// above U+10FFFF or truncated sequence.
bool isWellFormedUtf8(std::string_view text) noexcept;

/// `{"conversationId", "message", "sendNotifications"?, "sendAs"?}`; the message's
/// server-made fields (id, sequence, createdDate) are left out.
std::string encodeSendMessageRequest(std::string_view conversationId, const Message& message,
                                     const SendMessageOptions& options);

/// The wire names of the enums, e.g. "BUSINESS_AND_PARTICIPANT".
std::string_view wireName(Visibility v) noexcept;
std::string_view wireName(SortOrder o) noexcept;

} // namespace wix::inbox::detail
