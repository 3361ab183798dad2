// SPDX-License-Identifier: BSL-1.0
// Message decoding: any body decodes or yields a decodeError, never a crash; what decodes
// round-trips through the encoder. JSON kept as text (RawJson: form, system and unknown
// kinds; a template is typed) is compared by shape only: Boost.JSON 1.81 does not parse every long number
// to the nearest double, so its text need not survive a second parse digit for digit.
#include <wix/inbox/codec.hpp>

#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <variant>

namespace {
wix::inbox::Message withoutRawText(wix::inbox::Message m)
{
    using namespace wix::inbox;
    std::visit(
        [](auto& content) {
            using Kind = std::decay_t<decltype(content)>;
            if constexpr (std::is_same_v<Kind, BasicContent>) {
                for (auto& item : content.items)
                    if (auto* raw = std::get_if<RawJson>(&item))
                        raw->json.clear();
            } else if constexpr (!std::is_same_v<Kind, MinimalContent> && !std::is_same_v<Kind, TemplateContent>) {
                content.value.json.clear();
            }
        },
        m.content);
    return m;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    using namespace wix::inbox;
    const auto decodeErrorOnly = [](const Error& e) {
        if (e.code != make_error_code(Errc::decodeError))
            std::abort();
    };
    if (auto m = decodeMessage(body)) {
        const auto again = decodeMessage(boost::json::serialize(toJson(*m)));
        if (!again || !(withoutRawText(*again) == withoutRawText(*m)))
            std::abort();
    } else {
        decodeErrorOnly(m.error());
    }
    if (auto page = decodeListMessagesResponse(body); !page)
        decodeErrorOnly(page.error());
    if (auto sent = decodeSendMessageResponse(body); !sent)
        decodeErrorOnly(sent.error());
    return 0;
}
