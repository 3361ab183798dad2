// Webhook verification: the JWT's signature with OpenSSL (RS256 only), then the nested JSON.
#include <wix/inbox/model.hpp>
#include <wix/inbox/webhooks.hpp>

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

// Base64url without padding, as JWTs write it; nothing for any other character.
std::optional<std::string> base64url(std::string_view text)
{
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t bits = 0;
    int held = 0;
    for (const char c : text) {
        const auto value = alphabet.find(c);
        if (value == std::string_view::npos)
            return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        held += 6;
        if (held >= 8) {
            held -= 8;
            out += static_cast<char>((bits >> held) & 0xff);
        }
    }
    if (held >= 6) // a lone sixth character is not base64
        return std::nullopt;
    return out;
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

const json::object* objectAt(const json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
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

Result<Identity> decodeIdentity(const std::string& text)
{
    auto o = parseObject(text);
    if (!o)
        return rejected("the envelope's identity is not a JSON object");
    Identity id;
    id.identityType = stringAt(*o, "identityType").value_or("UNKNOWN");
    id.anonymousVisitorId = stringAt(*o, "anonymousVisitorId");
    id.memberId = stringAt(*o, "memberId");
    id.wixUserId = stringAt(*o, "wixUserId");
    id.appId = stringAt(*o, "appId");
    return id;
}

Result<Event> decodeMerged(const json::object& envelope, const std::string& instanceId)
{
    const auto dataText = stringAt(envelope, "data");
    auto data = dataText ? parseObject(*dataText) : std::nullopt;
    if (!data)
        return rejected("the envelope's data is not a JSON string of an object");
    ConversationsMerged e;
    e.instanceId = instanceId;
    const auto id = stringAt(*data, "id");
    const auto* action = objectAt(*data, "actionEvent");
    const auto* body = action ? objectAt(*action, "body") : nullptr;
    if (!id || id->empty() || !body)
        return rejected("the event lacks its id or actionEvent.body");
    e.eventId = *id;
    e.eventTime = stringAt(*data, "eventTime").value_or("");
    const auto target = stringAt(*body, "targetConversationId");
    if (!target || !isValidGuid(*target))
        return rejected("targetConversationId is not a GUID");
    e.targetConversationId = *target;
    const auto* old = body->if_contains("oldConversationIds");
    if (!old || !old->is_array() || old->get_array().empty())
        return rejected("oldConversationIds is not a non-empty array");
    for (const auto& v : old->get_array()) {
        if (!v.is_string() || !isValidGuid(v.get_string()))
            return rejected("oldConversationIds holds a value that is not a GUID");
        e.oldConversationIds.emplace_back(v.get_string());
    }
    if (const auto* account = objectAt(envelope, "accountInfo")) {
        e.accountInfo.accountId = stringAt(*account, "accountId");
        e.accountInfo.siteId = stringAt(*account, "siteId");
        e.accountInfo.parentAccountId = stringAt(*account, "parentAccountId");
    }
    if (const auto identity = stringAt(envelope, "identity")) {
        auto decoded = decodeIdentity(*identity);
        if (!decoded)
            return decoded.error();
        e.identity = std::move(*decoded);
    }
    return Event(std::move(e));
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
    const auto header = base64url(body.substr(0, dot1));
    const auto payload = base64url(body.substr(dot1 + 1, dot2 - dot1 - 1));
    const auto signature = base64url(body.substr(dot2 + 1));
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
    auto envelope = dataText ? parseObject(*dataText) : std::nullopt;
    if (!envelope)
        return rejected("the JWT's data claim is not a JSON string of an object");
    const auto eventType = stringAt(*envelope, "eventType");
    const auto instanceId = stringAt(*envelope, "instanceId");
    if (!eventType || !instanceId)
        return rejected("the envelope lacks eventType or instanceId");
    if (*eventType == conversationsMergedType)
        return decodeMerged(*envelope, *instanceId);
    return Event(UnknownEvent{*eventType, *instanceId, json::serialize(*envelope)});
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
    if (const auto* unknown = std::get_if<UnknownEvent>(&event)) {
        json::object o{{"eventType", unknown->eventType}, {"instanceId", unknown->instanceId}};
        if (auto envelope = parseObject(unknown->json))
            o["envelope"] = std::move(*envelope);
        return json::serialize(o);
    }
    const auto& e = std::get<ConversationsMerged>(event);
    json::array old;
    for (const auto& id : e.oldConversationIds)
        old.emplace_back(id);
    json::object o{{"eventType", conversationsMergedType}, {"eventId", e.eventId}, {"instanceId", e.instanceId},
                   {"oldConversationIds", std::move(old)}, {"targetConversationId", e.targetConversationId},
                   {"eventTime", e.eventTime}};
    json::object account;
    for (const auto& [key, value] : {std::pair{"accountId", &e.accountInfo.accountId},
                                     std::pair{"siteId", &e.accountInfo.siteId},
                                     std::pair{"parentAccountId", &e.accountInfo.parentAccountId}})
        if (*value)
            account[key] = **value;
    o["accountInfo"] = std::move(account);
    if (e.identity) {
        json::object identity{{"identityType", e.identity->identityType}};
        for (const auto& [key, value] : {std::pair{"anonymousVisitorId", &e.identity->anonymousVisitorId},
                                         std::pair{"memberId", &e.identity->memberId},
                                         std::pair{"wixUserId", &e.identity->wixUserId},
                                         std::pair{"appId", &e.identity->appId}})
            if (*value)
                identity[key] = **value;
        o["identity"] = std::move(identity);
    }
    return json::serialize(o);
}

} // namespace wix::inbox::webhooks
