// SPDX-License-Identifier: BSL-1.0
// Webhook verification: the JWT's signature with OpenSSL (RS256 only), then the nested JSON,
// read into the event's type by its schema (webhook_schema.hpp).
#include <wix/inbox/webhooks.hpp>

#include "base64url.hpp"
#include "webhook_schema.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <charconv>

namespace wix::inbox::webhooks {
namespace json = boost::json;
using detail::decodeBase64url;

class Verifier::Key {
public:
    explicit Key(EVP_PKEY* key) : key_(key) {}
    ~Key() { EVP_PKEY_free(key_); }
    Key(const Key&) = delete;
    Key& operator=(const Key&) = delete;
    EVP_PKEY* get() const { return key_; }

private:
    EVP_PKEY* key_;
};

namespace {

Error rejected(std::string why)
{
    return makeError(Errc::webhookRejected, std::move(why));
}

std::optional<json::object> parseObject(std::string_view text)
{
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = 32;
    auto v = json::parse(text, ec, {}, options);
    if (ec || !v.is_object())
        return std::nullopt;
    // cppcheck-suppress returnStdMoveLocal ; get_object() is a reference into v, not a local
    return std::move(v.get_object());
}

// A member that is a string; nothing when absent or of another type.
std::optional<std::string> stringAt(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::optional<std::string>(std::string(v->get_string())) : std::nullopt;
}

bool verifies(EVP_PKEY* key, std::string_view signedPart, const std::string& signature)
{
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1
        && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(signedPart.data()), signedPart.size())
               == 1;
}

// Seconds as few digits as say them exactly ("125", "0.5", "1e+300").
std::string secondsText(double seconds)
{
    char out[32];
    const auto [end, ec] = std::to_chars(out, out + sizeof out, seconds);
    return std::string(out, ec == std::errc() ? end : out);
}

// The token's validity window as jose's jwtVerify (the official SDK's verifier) checks it:
// `now` in whole seconds, `exp` exclusive, `nbf` inclusive, each widened by the tolerance.
std::optional<Error> checkTimes(const json::object& claims, Verifier::Clock::time_point now,
                                std::chrono::seconds tolerance)
{
    const auto* nbf = claims.if_contains("nbf");
    const auto* exp = claims.if_contains("exp");
    if ((nbf && !nbf->is_number()) || (exp && !exp->is_number()))
        return rejected("the JWT's exp or nbf claim is not a number");
    const auto nowSeconds = static_cast<double>(std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count());
    const auto leeway = static_cast<double>(tolerance.count());
    const std::string beyond = " (beyond the " + std::to_string(tolerance.count()) + " s leeway; is this machine's clock right?)";
    if (nbf && nbf->to_number<double>() > nowSeconds + leeway)
        return rejected("the token is not valid yet: its nbf is " + secondsText(nbf->to_number<double>() - nowSeconds)
                        + " s ahead" + beyond);
    if (exp && exp->to_number<double>() <= nowSeconds - leeway)
        return rejected("the token has expired: its exp is " + secondsText(nowSeconds - exp->to_number<double>())
                        + " s past" + beyond);
    return std::nullopt;
}

namespace schema = detail::json_schema;

template <class T>
std::optional<Error> readInto(const json::value& root, T& out)
{
    schema::Reader reader;
    if (schema::read(root, out, schema::Path{}, reader))
        return std::nullopt;
    return rejected(std::move(reader.failure->message));
}

// Reads the envelope as event type E. The domain event names its type again (entityFqdn and
// slug, joined by '_'): one that names another type is refused as such before its body is read.
template <class E>
Result<Event> decodeAs(const json::value& root)
{
    schema::Envelope<schema::Unread> names;
    if (auto refused = readInto(root, names))
        return std::move(*refused);
    const auto& domain = names.data;
    if (domain.entityFqdn && domain.slug && *domain.entityFqdn + "_" + *domain.slug != E::eventType)
        return rejected("the event's data (entityFqdn, slug) names another event type than " + std::string(E::eventType));
    schema::Envelope<E> wire;
    if (auto refused = readInto(root, wire))
        return std::move(*refused);
    E event = std::move(wire.data.actionEvent.value);
    static_cast<EventMetadata&>(event)
        = {std::move(wire.data.id), std::move(wire.instanceId), std::move(wire.data.eventTime),
           std::move(wire.accountInfo), std::move(wire.identity)};
    return Event(std::move(event));
}

// The event types Event holds, tried in turn: nothing for a type none of them is.
template <std::size_t I = 0>
std::optional<Result<Event>> decodeKnown(std::string_view eventType, const json::value& root)
{
    if constexpr (I == std::variant_size_v<Event>) {
        return std::nullopt;
    } else {
        using E = std::variant_alternative_t<I, Event>;
        if constexpr (!std::is_same_v<E, UnknownEvent>) {
            if (eventType == E::eventType)
                return decodeAs<E>(root);
        }
        return decodeKnown<I + 1>(eventType, root);
    }
}

} // namespace

Result<Verifier> Verifier::fromPem(std::string_view pem, VerifierOptions options)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!key)
        return makeError(Errc::invalidArgument, "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    auto owned = std::make_shared<const Key>(key);
    if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA)
        return makeError(Errc::invalidArgument, "the public key is not an RSA key (webhooks are signed RS256)");
    return Verifier(std::move(owned), std::max(options.clockTolerance, std::chrono::seconds(0)));
}

Result<Event> Verifier::decode(std::string_view body, Clock::time_point now) const
{
    if (body.size() > maxBodyBytes)
        return rejected("body larger than " + std::to_string(maxBodyBytes) + " bytes");
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' '))
        body.remove_suffix(1);
    const auto dot1 = body.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : body.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || body.find('.', dot2 + 1) != std::string_view::npos)
        return rejected("body is not a JWT (three base64url parts separated by dots)");
    const auto header = decodeBase64url(body.substr(0, dot1));
    const auto payload = decodeBase64url(body.substr(dot1 + 1, dot2 - dot1 - 1));
    const auto signature = decodeBase64url(body.substr(dot2 + 1));
    if (!header || !payload || !signature)
        return rejected("a part of the JWT is not base64url");
    const auto headerObject = parseObject(*header);
    if (!headerObject)
        return rejected("the JWT header is not a JSON object");
    // The algorithm is pinned: whatever the token claims, only RS256 is verified.
    if (stringAt(*headerObject, "alg") != std::optional<std::string>("RS256"))
        return rejected("the JWT's algorithm is not RS256");
    if (!verifies(key_->get(), body.substr(0, dot2), *signature))
        return rejected("the signature does not verify with the app's public key");

    const auto claims = parseObject(*payload);
    if (claims)
        if (auto stale = checkTimes(*claims, now, tolerance_))
            return *stale;
    const auto dataText = claims ? stringAt(*claims, "data") : std::nullopt;
    const auto envelope = dataText ? parseObject(*dataText) : std::nullopt;
    if (!envelope)
        return rejected("the JWT's data claim is not a JSON string of an object");
    const json::value root(*envelope);
    schema::EnvelopeHead head;
    if (auto refused = readInto(root, head))
        return std::move(*refused);
    if (auto known = decodeKnown(head.eventType, root))
        return std::move(*known);
    return Event(UnknownEvent{std::move(head.eventType), std::move(head.instanceId), json::serialize(*envelope)});
}

bool RecentEvents::firstTime(const std::string& eventId)
{
    if (capacity_ == 0)
        return true;
    if (!seen_.insert(eventId).second)
        return false;
    order_.push_back(eventId);
    if (order_.size() > capacity_) {
        seen_.erase(order_.front());
        order_.pop_front();
    }
    return true;
}

std::string toJson(const Event& event)
{
    return std::visit(
        [](const auto& e) {
            using E = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<E, UnknownEvent>) {
                json::object o{{"eventType", e.eventType}, {"instanceId", e.instanceId}};
                if (auto envelope = parseObject(e.json))
                    o["envelope"] = std::move(*envelope);
                return json::serialize(o);
            } else {
                json::object o{{"eventType", E::eventType}};
                for (json::value part : {schema::write(static_cast<const EventMetadata&>(e)), schema::write(e)})
                    for (auto& [key, value] : part.as_object())
                        o[key] = std::move(value);
                return json::serialize(o);
            }
        },
        event);
}

} // namespace wix::inbox::webhooks
