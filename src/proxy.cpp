// SPDX-License-Identifier: BSL-1.0
#include "proxy.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <optional>

namespace wix::inbox::detail {
namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b)
{
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) {
        return lower(x) == lower(y);
    });
}

std::string_view trimmed(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

std::string basicAuthorization(std::string_view user, std::string_view password)
{
    const std::string plain = std::string(user) + ":" + std::string(password);
    std::string out(4 * ((plain.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
    out.resize(static_cast<std::size_t>(n));
    return "Basic " + out;
}

Error invalid(std::string_view why)
{
    return makeError(Errc::invalidArgument, "invalid proxy URL: " + std::string(why));
}

// An IP literal (`127.0.0.1`, `::1`, `[::1]`) or a CIDR range (`10.0.0.0/8`, `fd00::/8`)
// that holds the address `host`. A range's length must fit its family (0-32, 0-128).
bool coversAddress(std::string_view entry, std::string_view host)
{
    std::optional<unsigned> prefixBits;
    if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
        unsigned bits = 0;
        const auto digits = entry.substr(slash + 1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
        if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
            return false;
        prefixBits = bits;
        entry = entry.substr(0, slash);
    }
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']')
        entry = entry.substr(1, entry.size() - 2);
    boost::system::error_code ec, hostEc;
    const auto range = boost::asio::ip::make_address(entry, ec);
    const auto address = boost::asio::ip::make_address(host, hostEc);
    if (ec || hostEc || range.is_v4() != address.is_v4())
        return false;
    if (!prefixBits)
        return range == address;
    const auto bytesOf = [](const boost::asio::ip::address& a) {
        if (a.is_v4()) {
            const auto b = a.to_v4().to_bytes();
            return std::vector<unsigned char>(b.begin(), b.end());
        }
        const auto b = a.to_v6().to_bytes();
        return std::vector<unsigned char>(b.begin(), b.end());
    };
    const auto r = bytesOf(range), h = bytesOf(address);
    if (*prefixBits > 8 * r.size())
        return false;
    const unsigned whole = *prefixBits / 8, rest = *prefixBits % 8;
    if (!std::equal(r.begin(), r.begin() + whole, h.begin()))
        return false;
    const auto mask = static_cast<unsigned char>(0xFF00u >> rest);
    return rest == 0 || (r[whole] & mask) == (h[whole] & mask);
}

} // namespace

bool bypassesProxy(const std::vector<std::string>& noProxy, std::string_view host, bool hostIsAddress)
{
    for (std::string_view entry : noProxy) {
        entry = trimmed(entry);
        if (entry == "*")
            return true;
        if (hostIsAddress) {
            if (coversAddress(entry, host))
                return true;
            continue;
        }
        if (entry.starts_with('.'))
            entry.remove_prefix(1);
        if (entry.ends_with('.'))
            entry.remove_suffix(1);
        if (entry.empty())
            continue;
        if (equalsIgnoringCase(host, entry)
            || (host.size() > entry.size() && host[host.size() - entry.size() - 1] == '.'
                && equalsIgnoringCase(host.substr(host.size() - entry.size()), entry)))
            return true;
    }
    return false;
}

Result<std::optional<ProxyRoute>> proxyRoute(const ProxyOptions& options, std::string_view originHost,
                                             bool originIsAddress)
{
    if (options.url.empty() || bypassesProxy(options.noProxy, originHost, originIsAddress))
        return std::optional<ProxyRoute>();
    // curl takes a bare host:port for http://host:port.
    const std::string url = options.url.find("://") == std::string::npos ? "http://" + options.url : options.url;
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed)
        return invalid("expected http://[user:password@]host[:port]");
    const auto& u = *parsed;
    if (u.scheme() != "http")
        return invalid("only http:// proxies are supported");
    if (u.has_query() || u.has_fragment() || (!u.encoded_path().empty() && u.encoded_path() != "/"))
        return invalid("a path, query or fragment is not allowed");
    ProxyRoute route;
    switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
        route.host = u.host_address();
        route.hostIsAddress = true;
        break;
    case boost::urls::host_type::name:
        route.host = u.host_name();
        break;
    default:
        return invalid("unsupported host");
    }
    if (route.host.empty())
        return invalid("no host");
    route.port = u.has_port() ? std::string(u.port()) : "1080";
    if (u.has_port() && (u.port_number() == 0))
        return invalid("the port must be in 1..65535");
    route.name = std::string(u.encoded_host()) + ":" + route.port;
    if (u.has_userinfo())
        route.authorization = basicAuthorization(u.user(), u.password());
    return std::optional<ProxyRoute>(std::move(route));
}

} // namespace wix::inbox::detail

namespace wix::inbox {

std::vector<std::string> ProxyOptions::parseNoProxy(std::string_view list)
{
    std::vector<std::string> out;
    while (!list.empty()) {
        const auto comma = std::min(list.find(','), list.size());
        if (const auto entry = detail::trimmed(list.substr(0, comma)); !entry.empty())
            out.emplace_back(entry);
        list.remove_prefix(std::min(comma + 1, list.size()));
    }
    return out;
}

ProxyOptions ProxyOptions::fromEnvironment()
{
    auto variable = [](const char* lower, const char* upper) -> std::string {
        const char* v = std::getenv(lower);
        if (!v || !*v)
            v = std::getenv(upper);
        return v ? v : "";
    };
    ProxyOptions o;
    o.url = variable("https_proxy", "HTTPS_PROXY");
    o.noProxy = parseNoProxy(variable("no_proxy", "NO_PROXY"));
    return o;
}

} // namespace wix::inbox
