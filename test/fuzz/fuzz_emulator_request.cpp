// SPDX-License-Identifier: BSL-1.0
// The emulator's request handling: method, target and body from the input; every
// request gets an answer with a known status and, for errors, the Wix envelope.
#include "emulator/service.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static wix::inbox::emulator::Service service;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (in.empty())
        return 0;
    static constexpr std::string_view methods[] = {"GET", "POST", "PUT", "DELETE"};
    const std::string_view method = methods[static_cast<unsigned char>(in[0]) % 4];
    in.remove_prefix(1);
    const auto newline = in.find('\n');
    const std::string_view target = in.substr(0, newline);
    const std::string_view body = newline == std::string_view::npos ? std::string_view() : in.substr(newline + 1);

    const auto r = (target == "/promote") ? service.promote(body)
                 : (target == "/seed")    ? service.seed(body)
                                          : service.handle({method, target, body});
    boost::system::error_code ec;
    const auto json = boost::json::parse(r.body, ec);
    if (ec || !json.is_object())
        std::abort();
    if (r.status != 200 && !json.get_object().contains("details"))
        std::abort();
    if (r.status != 200 && r.status != 400 && r.status != 404 && r.status != 405)
        std::abort();
    return 0;
}
