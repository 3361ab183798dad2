// SPDX-License-Identifier: BSL-1.0
// Webhook bodies: any input is an event or Errc::webhookRejected, never a crash. The key is
// made once; the fuzzer cannot forge its signatures, so it also runs each input as the
// claims of a token the test signs itself, to reach the nested decoding.
#include "../webhook_signer.hpp"

#include <wix/inbox/webhooks.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace wix::inbox;
    static const test::Key key = test::newKey();
    static const webhooks::Verifier verifier = webhooks::Verifier::fromPem(test::publicPem(key.get())).value();
    const std::string input(reinterpret_cast<const char*>(data), size);
    const auto check = [](const Result<webhooks::Event>& r) {
        if (!r && r.error().code != make_error_code(Errc::webhookRejected))
            std::abort();
        if (r)
            (void)webhooks::toJson(*r);
    };
    check(verifier.decode(input));
    const std::string signedPart = test::base64url(R"({"alg":"RS256"})") + "." + test::base64url(input);
    check(verifier.decode(signedPart + "." + test::base64url(test::rs256(key.get(), signedPart))));
    return 0;
}
