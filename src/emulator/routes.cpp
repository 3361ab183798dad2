// SPDX-License-Identifier: BSL-1.0
// Which code answers a request: the admin and token endpoints from their table, else a
// fault drawn from the fault settings, else the credentials' checks, the tenant's rate
// limit and the service.
#include "emulator/server.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>

namespace wix::inbox::emulator {
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

namespace {

ServiceResponse done()
{
    return {200, "{}", {}};
}

} // namespace

const Emulator::Impl::Endpoint Emulator::Impl::endpoints[] = {
    {Endpoint::Kind::admin, "GET", "/_emulator/stats",
     [](Impl& e, std::string_view) { return ServiceResponse{200, toJson(e.stats()), {}}; }},
    {Endpoint::Kind::admin, "GET", "/_emulator/last-request",
     [](Impl& e, std::string_view) {
         std::lock_guard lock(e.lastRequestMutex_);
         return ServiceResponse{200, boost::json::serialize(boost::json::object{{"headers", e.lastRequestHeaders_}}), {}};
     }},
    {Endpoint::Kind::admin, "GET", "/_emulator/faults",
     [](Impl& e, std::string_view) { return ServiceResponse{200, toJson(e.faults()), {}}; }},
    {Endpoint::Kind::admin, "POST", "/_emulator/faults",
     [](Impl& e, std::string_view body) {
         Faults f = e.faults();
         if (const auto problem = applyFaultsJson(body, f))
             return ServiceResponse{400, validationErrorBody(problem->message, problem->field, "FORMAT"), {}};
         e.setFaults(f);
         return ServiceResponse{200, toJson(f), {}};
     }},
    {Endpoint::Kind::admin, "POST", "/_emulator/reset", [](Impl& e, std::string_view) {
         e.reset();
         return done();
     }},
    {Endpoint::Kind::admin, "POST", "/_emulator/promote",
     [](Impl& e, std::string_view body) { return e.service_.promote(body); }},
    {Endpoint::Kind::admin, "POST", "/_emulator/seed", [](Impl& e, std::string_view body) { return e.service_.seed(body); }},
    {Endpoint::Kind::admin, "POST", "/_emulator/inbox",
     [](Impl& e, std::string_view body) { return e.service_.setInbox(body); }},
    {Endpoint::Kind::admin, "POST", "/_emulator/participant-message",
     [](Impl& e, std::string_view body) { return e.service_.participantMessage(body); }},
    {Endpoint::Kind::admin, "POST", "/_emulator/press-button",
     [](Impl& e, std::string_view body) { return e.service_.pressButton(body); }},
    {Endpoint::Kind::admin, "POST", "/_emulator/revoke-tokens",
     [](Impl& e, std::string_view) {
         e.revokeTokens();
         return done();
     }},
    {Endpoint::Kind::token, "POST", "/oauth2/token",
     [](Impl& e, std::string_view body) { return e.credentials_.issueToken(body); }},
    {Endpoint::Kind::token, "POST", "/crm/oauth2/token", // where the JS SDK asks for a non-Wix host
     [](Impl& e, std::string_view body) { return e.credentials_.issueToken(body); }},
};

Faults Emulator::Impl::faults() const
{
    std::lock_guard lock(mutex_);
    return faults_;
}

void Emulator::Impl::setFaults(const Faults& f)
{
    std::lock_guard lock(mutex_);
    faults_ = f;
    random_.seed(f.seed);
    limited_ = f.rateLimit > 0;
    faultsActive_ = f.latencyMax.count() > 0
                 || std::any_of(faultSettings().begin(), faultSettings().end(), [&](const FaultSetting& s) {
                        return s.isFault() && std::get<double>(s.get(f)) > 0;
                    });
}

// A path of the table asked with a method it does not take: 405 with the methods it does,
// as HTTP requires; nullopt if the table does not have the path.
std::optional<ServiceResponse> Emulator::Impl::notAllowed(std::string_view path)
{
    std::string allow;
    for (const auto& e : endpoints)
        if (e.path == path)
            allow.append(allow.empty() ? "" : ", ").append(e.method);
    if (allow.empty())
        return std::nullopt;
    return ServiceResponse{405, applicationErrorBody("method not allowed", "METHOD_NOT_ALLOWED"), {{"Allow", allow}}};
}

ServiceResponse Emulator::Impl::admin(std::string_view method, std::string_view path, std::string_view body)
{
    for (const auto& e : endpoints)
        if (e.kind == Endpoint::Kind::admin && e.path == path && e.method == method) {
            auto answer = e.handler(*this, body);
            watch_.changed(); // seed, promote, participant-message change the data, in-process too
            return answer;
        }
    if (auto refused = notAllowed(path))
        return std::move(*refused);
    return {404, applicationErrorBody("no such admin endpoint", "NOT_FOUND"), {}};
}

void Emulator::Impl::recordHeaders(const Request& request)
{
    std::lock_guard lock(lastRequestMutex_);
    lastRequestHeaders_.clear();
    for (const auto& field : request)
        if (field.name() != http::field::authorization)
            lastRequestHeaders_.push_back(boost::json::array{field.name_string(), field.value()});
}

ServiceResponse Emulator::Impl::serveTenant(const Request& request, const Presented& presented, const Faults& f)
{
    const std::string tenant = credentials_.tenantOf(presented);
    const Rate rate{f.rateLimit, f.rateLimitPeriod};
    if (limits_.admit(tenant, rate, Clock::now()))
        return service_.handle({request.method_string(), request.target(), request.body(), tenant});
    ServiceResponse r{429, applicationErrorBody("Too many requests", "TOO_MANY_REQUESTS"), {}};
    if (f.rateLimitRetryAfter) // one request's worth of refill, rounded up
        r.headers.emplace_back("Retry-After", std::to_string(static_cast<long long>(std::ceil(
                                                  std::chrono::duration<double>(rate.period).count() / rate.limit))));
    return r;
}

Answer Emulator::Impl::answer(const Request& request)
{
    const std::string_view method = request.method_string();
    const std::string_view target = request.target();
    const std::string_view body = request.body();
    Answer a;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with("/_emulator/")) {
        a.response = admin(method, path, body);
        count(adminRoute, a.response.status);
        return a;
    }

    if (options_.recordRequestHeaders)
        recordHeaders(request);
    Faults f;
    double draw = 1.0;
    if (limited_.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mutex_);
        f.rateLimit = faults_.rateLimit;
        f.rateLimitPeriod = faults_.rateLimitPeriod;
        f.rateLimitRetryAfter = faults_.rateLimitRetryAfter;
    }
    if (faultsActive_.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mutex_);
        f = faults_;
        draw = std::uniform_real_distribution<double>(0, 1)(random_);
        if (f.latencyMax.count() > 0)
            a.latency = std::chrono::milliseconds(
                std::uniform_int_distribution<std::int64_t>(f.latencyMin.count(), f.latencyMax.count())(random_));
    }
    double cumulative = 0;
    for (const auto& setting : faultSettings()) {
        if (!setting.isFault())
            continue;
        cumulative += std::get<double>(setting.get(f));
        if (draw < cumulative) {
            a.fault = &setting;
            break;
        }
    }

    if (a.fault && a.fault->respond) {
        a.response = a.fault->respond(f);
    } else { // served even when the answer is to be lost, cut or never sent
        const auto token = std::find_if(std::begin(endpoints), std::end(endpoints), [&](const Endpoint& e) {
            return e.kind == Endpoint::Kind::token && e.path == path;
        });
        const Presented presented{request[http::field::authorization], request["wix-site-id"],
                                  request["wix-account-id"]};
        if (token != std::end(endpoints))
            a.response = token->method == method ? token->handler(*this, body) : *notAllowed(path);
        else if (auto refused = credentials_.authenticate(presented))
            a.response = std::move(*refused);
        else
            a.response = serveTenant(request, presented, f);
    }
    if (a.fault)
        ++faultCounts_[static_cast<std::size_t>(a.fault - faultSettings().data())];
    count(Service::routeOf(method, target).value_or(unknownRoute), a.response.status);
    return a;
}

} // namespace wix::inbox::emulator
