// SPDX-License-Identifier: BSL-1.0
// The fifth step: a service that answers every message a participant sends to the business,
// exactly once. Wix POSTs a `message_sent_to_business` webhook per message; the service
// replies through sendMessage (BUSINESS_TO_PARTICIPANT) with the Client of the event's app
// instance (one forTenant Client per instance, all over one connection pool).
//
// Exactly once, across Wix's resends of an event (same event ID), deliveries of one event
// that overlap, and a restart of the service (a crash included), rests on two things:
// - A journal: an append-only file of the events accepted (`intent`) and answered (`done`).
//   A delivery is answered 200 only after its intent is written and flushed (fdatasync), so
//   an event Wix stops resending is never lost, and only then is it queued to be answered.
//   An event the journal holds is answered 200 (once its intent is flushed) and dropped: the
//   check and the append happen with no suspension between them, on the one thread that runs
//   the server, so of two overlapping deliveries only the first gets in (a server on many
//   threads would run handle() on a strand). The flushes are grouped: one fdatasync, on a
//   thread of its own, covers every intent written before it began (a flush takes
//   milliseconds: one per delivery, on the server's thread, capped the service at a few
//   hundred events a second and held every other answer meanwhile).
// - A reply that names what it answers: its text ends with "(re: MESSAGE-ID)", the ID of the
//   participant's message. A send whose outcome is unknown (a timeout, a 5xx), or an intent
//   the service finds without its `done` at start (it died between the send and the record,
//   or before the send), is reconciled first: the conversation is listed, newest first, down
//   to the participant's message; a reply with that mark means it was sent. Only then is it
//   sent (again). So a crash between the send and the record costs a listing, never a second
//   reply. `done` is written without a flush: losing it costs the same listing.
// - The listing waits until the send has settled: `settle` (the call's deadline, 30 s) after
//   the send failed, or after the start for an intent of an earlier run (its last sends may
//   still be on their way). An overloaded server stores a request it has read well after the
//   client gave up on it; a listing made sooner would miss that reply and send a second.
// What remains is what docs/bulk-send.md says of any send without an idempotency key: a
// request the service stores more than `settle` after the client gave up on it.
//
// Wix waits 1,250 ms for the 200: the webhook is answered once the event is queued (the
// queue is bounded: when full, 503, and Wix resends later), and workers (a bounded number)
// send the replies, taking the sites in turn and at most `workersPerSite` for one: a site
// its limit slows (each instance has its own, 200 requests/min) holds no more workers than
// that, and the other sites' replies never wait behind its queue. A real service would also
// compact the journal: Wix resends for 47 hours, so `done` records older than that may go.
//
// Here the embedded emulator plays Wix. The self-check has participants of three sites write,
// loses some of the service's answers (Wix resends), replays a delivery, and kills the service
// between a send and its record, then starts it again on the same journal; it then lists every
// conversation and expects one reply per participant message. `--bench` measures it under
// Wix's rate limit (bench/auto_responder.sh).
//
//   example-auto-responder                                   (exit status 0 when every check holds)
//   example-auto-responder --bench SECONDS [--sites N] [--rate MESSAGES-PER-SECOND] [--workers N]
#include <wix/inbox.hpp>
#include <wix/inbox/emulator.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace inbox = wix::inbox;
namespace hooks = wix::inbox::webhooks;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto noThrow = net::as_tuple(net::use_awaitable);

// One event to answer.
struct Job {
    std::string eventId;
    std::string instanceId;
    std::string conversationId;
    std::string messageId;      ///< the participant's message
    bool perhapsSent = false;   ///< reconcile before sending
    Clock::time_point received; ///< when the webhook came (for the latency)
    Clock::time_point notBefore; ///< a send perhaps still on its way settles until then
};

std::string replyText(const std::string& messageId)
{
    return "Thanks for your message! We will get back to you shortly. (re: " + messageId + ")";
}

inbox::ListMessagesOptions newestHundred()
{
    inbox::ListMessagesOptions list;
    list.limit = 100;
    return list;
}

bool isReplyTo(const inbox::Message& m, const std::string& messageId)
{
    const auto* basic = std::get_if<inbox::BasicContent>(&m.content);
    if (m.direction != inbox::Direction::businessToParticipant || !basic || basic->items.size() != 1)
        return false;
    const auto* text = std::get_if<inbox::TextItem>(&basic->items.front());
    return text && text->text.ends_with("(re: " + messageId + ")");
}

// The append-only journal: `intent\tEVENT\tINSTANCE\tCONVERSATION\tMESSAGE` and `done\tEVENT`.
class Journal {
public:
    enum class State { absent, intent, done };

    explicit Journal(const std::string& path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600))
    {
        if (fd_ < 0)
            throw std::system_error(errno, std::generic_category(), "cannot open the journal " + path);
        std::ifstream in(path, std::ios::binary);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        // A record torn by a crash was never acknowledged (no 200 before the flush): cut it.
        const auto complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if (complete != text.size() && ::ftruncate(fd_, static_cast<off_t>(complete)) != 0)
            throw std::system_error(errno, std::generic_category(), "cannot cut the journal's torn record");
        std::istringstream lines(text.substr(0, complete));
        for (std::string line; std::getline(lines, line);) {
            std::vector<std::string> f;
            for (std::size_t at = 0; at <= line.size();) {
                const auto tab = std::min(line.find('\t', at), line.size());
                f.push_back(line.substr(at, tab - at));
                at = tab + 1;
            }
            if (f[0] == "intent" && f.size() == 5) {
                states_[f[1]] = State::intent;
                intents_[f[1]] = Job{f[1], f[2], f[3], f[4], true, {}, {}};
            } else if (f[0] == "done" && f.size() == 2) {
                states_[f[1]] = State::done;
                intents_.erase(f[1]);
            }
        }
    }
    ~Journal() { ::close(fd_); }
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    State state(const std::string& eventId) const
    {
        const auto it = states_.find(eventId);
        return it == states_.end() ? State::absent : it->second;
    }
    /// The intents of earlier runs without their `done`: perhaps sent.
    std::vector<Job> unfinished() const
    {
        std::vector<Job> jobs;
        for (const auto& [id, job] : intents_)
            jobs.push_back(job);
        return jobs;
    }
    /// Written, not yet flushed: the number of records written so far, to wait for (nothing if
    /// it could not be written: then answer no 200).
    std::optional<std::uint64_t> writeIntent(const Job& j)
    {
        if (!append("intent\t" + j.eventId + "\t" + j.instanceId + "\t" + j.conversationId + "\t" + j.messageId + "\n"))
            return std::nullopt;
        states_[j.eventId] = State::intent;
        return ++written_;
    }
    std::uint64_t written() const { return written_; }
    int fd() const { return fd_; }
    void recordDone(const std::string& eventId)
    {
        if (!append("done\t" + eventId + "\n"))
            std::cerr << "cannot record an answered event (it will be reconciled at the next start)\n";
        states_[eventId] = State::done;
        intents_.erase(eventId);
    }

private:
    bool append(const std::string& line)
    {
        // O_APPEND: one write() of a short line lands whole, or (a crash) torn at the end.
        return ::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    }
    int fd_;
    std::uint64_t written_ = 0; // intents written by this run
    std::unordered_map<std::string, State> states_;
    std::unordered_map<std::string, Job> intents_;
};

// What outlives one run of the service: counts for the checks and the bench.
struct Tally {
    explicit Tally(net::io_context& ioc) : progress(ioc) {}
    std::size_t accepted = 0;     ///< events whose intent was recorded (each once)
    std::size_t answered = 0;     ///< events recorded done (each once)
    std::size_t sent = 0;         ///< replies sent
    std::size_t foundSent = 0;    ///< reconciled: the reply was already there
    std::size_t redeliveries = 0; ///< deliveries of an event already in the journal
    std::size_t refused = 0;      ///< deliveries answered 503 (queue full, or the service down)
    std::size_t failed = 0;       ///< events given up (a permanent error)
    std::size_t exceptions = 0;
    std::vector<double> latencyMs; ///< webhook to reply, for events answered in one run
    Clock::time_point lastReply;
    net::steady_timer progress;   ///< cancelled at each change the checks wait for
};

struct Settings {
    std::string appId, appSecret; ///< the app whose instances this service answers for
    std::string journalPath;
    std::size_t workers = 16;         ///< replies being sent at once
    std::size_t workersPerSite = 4;   ///< of them for one site (app instance)
    std::size_t queueCapacity = 4096; ///< events accepted and not yet answered
    Clock::duration settle = std::chrono::seconds(30); ///< see the opening comment
    int crashAfterSends = 0;          ///< demo: die between this send and its record (0: never)
};

// Ends a coroutine: an exception (out of memory) is said and counted, never dropped.
auto reportFailure(Tally& tally, const char* what)
{
    return [&tally, what](const std::exception_ptr& e) {
        if (!e)
            return;
        ++tally.exceptions;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& error) {
            std::cerr << what << " failed: " << error.what() << "\n";
        }
    };
}

// One run of the service: the journal, the queue, the workers and a Client per instance.
class Responder {
public:
    Responder(const inbox::Client& pool, hooks::Verifier verifier, Settings settings, Tally& tally)
        : pool_(pool), verifier_(std::move(verifier)), settings_(std::move(settings)), journal_(settings_.journalPath)
        , tally_(tally), wake_(tally.progress.get_executor(), Clock::time_point::max())
    {
        for (auto& job : journal_.unfinished()) {
            job.notBefore = Clock::now() + settings_.settle;
            enqueue(std::move(job));
        }
        for (std::size_t i = 0; i < settings_.workers; ++i) {
            ++workers_;
            net::co_spawn(wake_.get_executor(), work(), [this](const std::exception_ptr& e) {
                reportFailure(tally_, "a worker")(e);
                if (--workers_ == 0)
                    tally_.progress.cancel();
            });
        }
    }
    ~Responder()
    {
        flusher_.join(); // before the journal closes its file
        for (auto& [instance, client] : clients_)
            client.close();
    }
    Responder(const Responder&) = delete;
    Responder& operator=(const Responder&) = delete;

    /// One webhook body: the status to answer. It suspends only after the check and the
    /// append, for the flush (see the opening comment).
    net::awaitable<http::status> handle(std::string_view body)
    {
        if (stopped_)
            co_return http::status::service_unavailable;
        ++handling_;
        const Handling handling{*this};
        auto event = verifier_.decode(body);
        if (!event) {
            std::cerr << "refused a webhook: " << event.error().message << "\n";
            co_return http::status::bad_request;
        }
        const auto* sent = std::get_if<hooks::MessageSentToBusiness>(&*event);
        if (!sent)
            co_return http::status::ok; // another event: received, not ours to answer
        for (const auto* field : {&sent->eventId, &sent->instanceId, &sent->conversationId, &sent->message.id})
            if (field->empty() || field->find_first_of("\t\n") != std::string::npos)
                co_return http::status::bad_request; // would not fit a journal record
        if (journal_.state(sent->eventId) != Journal::State::absent) {
            ++tally_.redeliveries;
            // Its intent may still be on its way to the disk.
            co_return co_await flushedThrough(journal_.written()) ? http::status::ok : http::status::internal_server_error;
        }
        if (queued_ + (journal_.written() - flushes_->durable) >= settings_.queueCapacity) {
            ++tally_.refused;
            co_return http::status::service_unavailable; // Wix resends it later
        }
        Job job{sent->eventId, sent->instanceId, sent->conversationId, sent->message.id, false, Clock::now(), {}};
        const auto record = journal_.writeIntent(job);
        if (!record)
            co_return http::status::internal_server_error;
        ++tally_.accepted;
        if (!co_await flushedThrough(*record))
            co_return http::status::internal_server_error;
        if (stopped_)
            co_return http::status::service_unavailable; // killed meanwhile: the next run finds the intent
        enqueue(std::move(job));
        co_return http::status::ok;
    }

    /// Ends as a killed process would: nothing more is recorded or sent. Sends already on
    /// their way complete (their request has left); running() falls to 0 once they have.
    void stop()
    {
        stopped_ = true;
        wake_.cancel();
        flushes_->done.cancel();
        for (auto* timer : settling_)
            timer->cancel();
        tally_.progress.cancel();
    }
    bool stopped() const { return stopped_; }
    /// Workers, and deliveries waiting for a flush: it may be destroyed once none is left.
    std::size_t running() const { return workers_ + handling_; }

    /// Requests the Clients made (retries included), and their throttled answers.
    std::pair<std::uint64_t, std::uint64_t> requests() const
    {
        std::pair<std::uint64_t, std::uint64_t> sum;
        for (const auto& [instance, client] : clients_) {
            const auto s = client.stats();
            sum.first += s.attempts + s.tokenRequests;
            sum.second += s.throttled;
        }
        return sum;
    }

private:
    // Ends a delivery's handle(): once stopped, the last one lets the checks go on.
    struct Handling {
        Responder& r;
        ~Handling()
        {
            if (--r.handling_ == 0 && r.stopped_)
                r.tally_.progress.cancel();
        }
    };

    // Group commit: one fdatasync for every intent written before it began, on the flusher's
    // thread; the deliveries wait for the one that covers their record. Shared with the flush
    // in flight, whose end is posted to the server's thread.
    struct Flushes {
        explicit Flushes(const net::any_io_executor& executor) : done(executor, Clock::time_point::max()) {}
        std::uint64_t durable = 0; // records flushed
        bool running = false;
        bool failed = false;       // a journal that cannot be flushed answers no more 200
        net::steady_timer done;    // cancelled at the end of each flush, and by stop()
    };

    net::awaitable<bool> flushedThrough(std::uint64_t record)
    {
        const auto f = flushes_;
        while (f->durable < record && !f->failed && !stopped_) {
            if (!f->running) {
                f->running = true;
                net::post(flusher_, [f, fd = journal_.fd(), upTo = journal_.written(), server = wake_.get_executor()] {
                    const bool ok = ::fdatasync(fd) == 0;
                    net::post(server, [f, ok, upTo] {
                        f->running = false;
                        f->durable = ok ? upTo : f->durable;
                        if (!ok && !f->failed)
                            std::cerr << "cannot flush the journal: no delivery is acknowledged any more\n";
                        f->failed = f->failed || !ok;
                        f->done.cancel();
                    });
                });
            }
            co_await f->done.async_wait(noThrow);
        }
        co_return f->durable >= record;
    }

    // A site's jobs waiting, and its workers. It is in ready_ while it has a job waiting and
    // fewer than workersPerSite workers; it is erased when it has neither.
    struct Site {
        std::deque<Job> jobs;
        std::size_t working = 0;
    };

    void enqueue(Job job)
    {
        const auto id = job.instanceId;
        auto& site = sites_[id];
        site.jobs.push_back(std::move(job));
        ++queued_;
        if (site.jobs.size() == 1 && site.working < settings_.workersPerSite)
            makeReady(id);
    }

    void makeReady(const std::string& instanceId)
    {
        ready_.push_back(instanceId);
        wake_.cancel_one();
    }

    net::awaitable<void> work()
    {
        while (!stopped_) {
            if (ready_.empty()) {
                co_await wake_.async_wait(noThrow); // woken by a ready site or stop()
                continue;
            }
            const std::string id = std::move(ready_.front());
            ready_.pop_front();
            auto& site = sites_[id]; // it has a job; it is not erased while it has a worker
            Job job = std::move(site.jobs.front());
            site.jobs.pop_front();
            --queued_;
            if (++site.working < settings_.workersPerSite && !site.jobs.empty())
                makeReady(id); // behind the other sites ready
            co_await answer(job);
            if (site.working-- == settings_.workersPerSite && !site.jobs.empty())
                makeReady(id);
            else if (site.working == 0 && site.jobs.empty())
                sites_.erase(id);
        }
    }

    inbox::Client& clientOf(const std::string& instanceId)
    {
        auto it = clients_.find(instanceId);
        if (it == clients_.end())
            it = clients_.emplace(instanceId, pool_.forTenant(inbox::OAuthApp{settings_.appId, settings_.appSecret, instanceId}))
                     .first;
        return it->second;
    }

    void finish(const Job& job, bool failed)
    {
        journal_.recordDone(job.eventId);
        ++tally_.answered;
        tally_.failed += failed ? 1 : 0;
        tally_.progress.cancel();
    }

    net::awaitable<void> answer(Job& job)
    {
        auto& client = clientOf(job.instanceId);
        for (;;) {
            if (job.notBefore > Clock::now()) {
                net::steady_timer settled(wake_.get_executor(), job.notBefore);
                settling_.insert(&settled);
                co_await settled.async_wait(noThrow);
                settling_.erase(&settled);
                if (stopped_)
                    co_return;
            }
            if (job.perhapsSent) {
                auto found = co_await alreadyReplied(client, job);
                if (stopped_)
                    co_return;
                if (found && *found) {
                    ++tally_.foundSent;
                    finish(job, false);
                    co_return;
                }
                if (!found && !inbox::isTransient(found.error())) {
                    std::cerr << "cannot reconcile event " << job.eventId << ": " << found.error().describe() << "\n";
                    finish(job, true);
                    co_return;
                }
            }
            auto sent = co_await client.sendMessage(job.conversationId, inbox::textMessage(replyText(job.messageId)));
            if (stopped_)
                co_return; // a crash: the reply may be stored, the record is never made
            if (sent) {
                ++tally_.sent;
                tally_.lastReply = Clock::now();
                if (job.received != Clock::time_point{})
                    tally_.latencyMs.push_back(std::chrono::duration<double, std::milli>(tally_.lastReply - job.received).count());
                if (settings_.crashAfterSends > 0 && ++sends_ == settings_.crashAfterSends) {
                    stop();
                    co_return;
                }
                finish(job, false);
                co_return;
            }
            const auto& error = sent.error();
            const bool unknown = error.code == inbox::Errc::outcomeUnknown;
            if (!unknown && !inbox::isTransient(error)) {
                std::cerr << "cannot answer event " << job.eventId << ": " << error.describe() << "\n";
                finish(job, true);
                co_return;
            }
            job.perhapsSent = job.perhapsSent || unknown;
            job.notBefore = Clock::now() + (unknown ? settings_.settle : std::chrono::milliseconds(250));
        }
    }

    // Whether the conversation holds the reply to job's message: newest first, down to it.
    static net::awaitable<inbox::Result<bool>> alreadyReplied(inbox::Client& client, const Job& job)
    {
        auto pages = client.messages(job.conversationId, inbox::Visibility::business, newestHundred());
        while (!pages.done()) {
            auto page = co_await pages.next();
            if (!page)
                co_return page.error();
            for (const auto& m : page->messages) {
                if (isReplyTo(m, job.messageId))
                    co_return true;
                if (m.id == job.messageId)
                    co_return false; // older messages cannot answer it
            }
        }
        co_return false;
    }

    const inbox::Client& pool_;
    hooks::Verifier verifier_;
    Settings settings_;
    Journal journal_;
    Tally& tally_;
    std::map<std::string, inbox::Client> clients_;
    std::unordered_map<std::string, Site> sites_;
    std::deque<std::string> ready_; // sites in turn
    std::size_t queued_ = 0;        // jobs waiting, of every site
    std::set<net::steady_timer*> settling_; // workers waiting for a send to settle: stop() ends them
    std::size_t handling_ = 0;              // deliveries in handle()
    net::steady_timer wake_; // never expires: waited on while the queue is empty
    std::shared_ptr<Flushes> flushes_ = std::make_shared<Flushes>(wake_.get_executor());
    net::thread_pool flusher_{1};
    std::size_t workers_ = 0;
    int sends_ = 0;
    bool stopped_ = false;
};

// The HTTP side: hands each POST to the service running now. It outlives a restart of the
// service here only because the emulator was told one URL; in production a restart is a new
// process and Wix's resends reach whichever one listens.
struct Front {
    Responder* service = nullptr; ///< none: the service is down (503)
    Tally& tally;
    bool loseAnswers = false;     ///< demo: fail some deliveries, as a flaky network would
    std::size_t posts = 0;
    std::string replayable;       ///< demo: the first delivery accepted, to replay later
};

net::awaitable<http::status> handle(Front& f, const http::request<http::string_body>& request)
{
    if (request.method() != http::verb::post)
        co_return http::status::method_not_allowed;
    if (!f.service) {
        ++f.tally.refused;
        co_return http::status::service_unavailable;
    }
    const auto post = ++f.posts;
    if (f.loseAnswers && post % 7 == 0)
        co_return http::status::internal_server_error; // lost before the service saw it
    const auto accepted = f.tally.accepted;
    const auto status = co_await f.service->handle(request.body());
    if (f.tally.accepted != accepted && f.replayable.empty())
        f.replayable = request.body();
    if (f.loseAnswers && post % 5 == 0 && status == http::status::ok)
        co_return http::status::internal_server_error; // acted on, but the 200 is lost
    co_return status;
}

net::awaitable<void> serve(Front& f, tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        stream.expires_after(std::chrono::seconds(10)); // a peer that stalls goes away
        http::request_parser<http::string_body> parser;
        parser.body_limit(hooks::maxBodyBytes);
        if (auto [ec, n] = co_await http::async_read(stream, buffer, parser, noThrow); ec)
            co_return;
        const auto& request = parser.get();
        http::response<http::string_body> answer{co_await handle(f, request), request.version()};
        answer.keep_alive(request.keep_alive());
        answer.prepare_payload();
        if (auto [ec, n] = co_await http::async_write(stream, answer, noThrow); ec || !answer.keep_alive())
            co_return;
    }
}

net::awaitable<void> listen(Front& f, tcp::acceptor& acceptor)
{
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(noThrow);
        if (ec)
            co_return;
        net::co_spawn(acceptor.get_executor(), serve(f, std::move(socket)), reportFailure(f.tally, "a connection"));
    }
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// A GUID numbered n, for the demo's sites and participants.
std::string guid(const char* prefix, std::size_t n)
{
    char tail[13];
    std::snprintf(tail, sizeof tail, "%012zu", n);
    return std::string(prefix) + tail;
}

// What the participants wrote: each message, to be answered once.
struct Written {
    std::string instance, conversationId, messageId;
};

// The participant `p` of site `instance` writes (the emulator's admin call: Wix's webhook follows).
std::optional<Written> write(inbox::emulator::Emulator& wix, const std::string& instance, std::size_t p, const std::string& text)
{
    const json::object body{{"tenant", "instance:" + instance},
                            {"participant", json::object{{"memberId", guid("1c7f2e3d-4a5b-4c6d-8e9f-", p)}}},
                            {"text", text}};
    const auto answer = wix.admin("POST", "/_emulator/participant-message", json::serialize(body));
    if (answer.status != 200)
        return std::nullopt;
    const auto stored = json::parse(answer.body).as_object();
    return Written{instance, json::value_to<std::string>(stored.at("conversationId")),
                   json::value_to<std::string>(stored.at("message").at("id"))};
}

// Replies per participant message, read back over REST from every conversation written to.
struct Audit {
    std::size_t missing = 0, duplicated = 0, stray = 0, errors = 0;
};
net::awaitable<Audit> audit(const inbox::Client& pool, const Settings& s, const std::vector<Written>& written)
{
    std::map<std::pair<std::string, std::string>, std::map<std::string, int>> expected; // (instance, conversation) → message → replies
    for (const auto& w : written)
        expected[{w.instance, w.conversationId}][w.messageId] = 0;
    Audit a;
    for (auto& [where, replies] : expected) {
        auto client = pool.forTenant(inbox::OAuthApp{s.appId, s.appSecret, where.first});
        auto pages = client.messages(where.second, inbox::Visibility::business, newestHundred());
        while (!pages.done()) {
            auto page = co_await pages.next();
            if (!page) {
                std::cerr << "cannot list a conversation: " << page.error().describe() << "\n";
                ++a.errors;
                break;
            }
            for (const auto& m : page->messages) {
                if (m.direction != inbox::Direction::businessToParticipant)
                    continue;
                const auto answered = std::find_if(replies.begin(), replies.end(),
                                                   [&](const auto& r) { return isReplyTo(m, r.first); });
                if (answered == replies.end())
                    ++a.stray;
                else
                    ++answered->second;
            }
        }
        for (const auto& [message, count] : replies) {
            a.missing += count == 0 ? 1 : 0;
            a.duplicated += count > 1 ? count - 1 : 0;
        }
        client.close();
    }
    co_return a;
}

std::string journalPath()
{
    return (std::filesystem::temp_directory_path() / ("wix-auto-responder-" + std::to_string(::getpid()) + ".journal"))
        .string();
}

// Waits until `done()` holds or the deadline passes; woken by every change of the tally.
net::awaitable<bool> waitFor(Tally& tally, Clock::time_point deadline, const std::function<bool()>& done)
{
    while (!done() && Clock::now() < deadline) {
        tally.progress.expires_at(deadline);
        co_await tally.progress.async_wait(noThrow);
    }
    co_return done();
}

int selfCheck()
{
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    inbox::emulator::Options emulated;
    emulated.webhookUrl = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/webhooks";
    emulated.webhookResendScale = 0.001; // Wix resends after 1 min, 10 min, 1 h...: here 60 ms, 600 ms, 3.6 s...
    emulated.auth.apps["my-app-id"] = "my-app-secret";
    inbox::emulator::Emulator wix(emulated);

    // The pool: every instance's Client is made from it (forTenant); it calls nothing itself.
    inbox::ClientOptions options;
    options.baseUrl = wix.url();
    options.tls.caFile = wix.caFile();
    inbox::Client pool(ioc.get_executor(), options);
    auto verifier = hooks::Verifier::fromPem(readFile(wix.webhookPublicKeyFile()));
    if (!verifier) {
        std::cerr << verifier.error().describe() << "\n";
        return 1;
    }
    Settings settings{"my-app-id", "my-app-secret", journalPath()};
    settings.workers = 4;
    settings.crashAfterSends = 10;
    settings.settle = std::chrono::seconds(1); // the emulator here, not loaded, stores a request as it answers
    std::filesystem::remove(settings.journalPath);
    Tally tally(ioc);
    auto service = std::make_unique<Responder>(pool, *verifier, settings, tally);
    Front front{service.get(), tally, true, 0, {}};
    net::co_spawn(ioc, listen(front, acceptor), reportFailure(tally, "the server"));

    int failures = 0;
    auto check = [&](bool ok, const std::string& what) {
        std::cout << (ok ? "ok: " : "FAILED: ") << what << "\n";
        failures += ok ? 0 : 1;
    };
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        // Three sites, six participants each, three messages each.
        std::vector<Written> written;
        for (int round = 1; round <= 3; ++round)
            for (std::size_t site = 0; site < 3; ++site)
                for (std::size_t p = 0; p < 6; ++p)
                    if (auto w = write(wix, guid("4c3a9f5e-0b1d-4e2f-8a7b-", site), site * 10 + p,
                                       "Hello, question " + std::to_string(round)))
                        written.push_back(std::move(*w));
        check(written.size() == 54, "the participants wrote 54 messages");

        // The service dies after its 10th send, before recording it: start it again.
        const auto deadline = Clock::now() + std::chrono::seconds(90);
        int restarts = 0;
        while (co_await waitFor(tally, deadline, [&] { return tally.answered == written.size() || service->running() == 0; })
               && service->running() == 0) {
            front.service = nullptr;
            service.reset();
            settings.crashAfterSends = 0;
            service = std::make_unique<Responder>(pool, *verifier, settings, tally);
            front.service = service.get();
            ++restarts;
        }
        check(restarts == 1, "the service was killed between a send and its record, and started again on its journal");
        check(tally.answered == written.size(), "every message was answered (" + std::to_string(tally.answered) + " of "
                                                    + std::to_string(written.size()) + ")");
        check(tally.foundSent >= 1, "the restarted service found the reply sent before the kill and did not send it again ("
                                        + std::to_string(tally.foundSent) + ")");
        check(tally.redeliveries > 0, "Wix resent deliveries whose 200 was lost; the journal dropped them ("
                                          + std::to_string(tally.redeliveries) + ")");
        const auto before = tally.redeliveries;
        const auto first = co_await service->handle(front.replayable);
        const auto second = co_await service->handle(front.replayable);
        check(first == http::status::ok && second == http::status::ok && tally.redeliveries == before + 2
                  && tally.accepted == written.size(),
              "a delivery replayed twice after the restart is acknowledged and not answered again");

        const auto found = co_await audit(pool, settings, written);
        check(found.errors == 0 && found.missing == 0 && found.duplicated == 0 && found.stray == 0,
              "listing every conversation: one reply per participant message (" + std::to_string(found.missing)
                  + " missing, " + std::to_string(found.duplicated) + " duplicated, " + std::to_string(found.stray)
                  + " unexplained)");
        check(tally.failed == 0, "no event was given up");

        service->stop();
        co_await waitFor(tally, Clock::now() + std::chrono::seconds(30), [&] { return service->running() == 0; });
        front.service = nullptr;
        service.reset();
        check(tally.exceptions == 0, "no coroutine ended with an exception");
        pool.close();
        acceptor.close();
    }, [&](const std::exception_ptr& e) {
        reportFailure(tally, "the check")(e);
        if (!e)
            return;
        ++failures;
        if (service) // let ioc.run() return
            service->stop();
        pool.close();
        acceptor.close();
    });
    ioc.run();
    std::filesystem::remove(settings.journalPath);
    std::cout << (failures == 0 ? "every check holds\n" : "some checks failed\n");
    return failures == 0 ? 0 : 1;
}

// --bench: `sites` sites, each limited by the emulator to 200 requests/min as Wix limits an
// app instance, participants writing `rate` messages/s in all at a steady pace for `seconds`.
int bench(double seconds, std::size_t sites, double rate, std::size_t workers)
{
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), 0});
    inbox::emulator::Options emulated;
    emulated.webhookUrl = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/webhooks";
    emulated.webhookResendScale = 0.001;
    emulated.auth.apps["my-app-id"] = "my-app-secret";
    // Each site's bucket is made at its first request, full: one request per site at a limit
    // of 1 empties it, then the real limit applies. Else the 200 requests every bucket holds
    // at first would make a short run look faster than the limit allows.
    emulated.faults.rateLimit = 1;
    emulated.faults.rateLimitPeriod = std::chrono::minutes(1);
    inbox::emulator::Emulator wix(emulated);

    inbox::ClientOptions options;
    options.baseUrl = wix.url();
    options.tls.caFile = wix.caFile();
    options.pool.maxConnections = std::max<std::size_t>(64, workers);
    inbox::Client pool(ioc.get_executor(), options);
    auto verifier = hooks::Verifier::fromPem(readFile(wix.webhookPublicKeyFile()));
    if (!verifier) {
        std::cerr << verifier.error().describe() << "\n";
        return 1;
    }
    Settings settings{"my-app-id", "my-app-secret", journalPath()};
    settings.workers = workers;
    settings.queueCapacity = 65536;
    std::filesystem::remove(settings.journalPath);
    Tally tally(ioc);
    std::unique_ptr<Responder> service;
    Front front{nullptr, tally, false, 0, {}};
    net::co_spawn(ioc, listen(front, acceptor), reportFailure(tally, "the server"));

    std::atomic<std::size_t> generated{0};
    bool loadDone = false; // set on the io_context's thread, with sentWhileWriting
    std::size_t sentWhileWriting = 0;
    std::vector<Written> written; // filled by the load thread; read once it has ended
    std::thread load;
    Clock::time_point start;
    int status = 0;
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        for (std::size_t site = 0; site < sites; ++site) {
            auto client = pool.forTenant(inbox::OAuthApp{settings.appId, settings.appSecret, guid("4c3a9f5e-0b1d-4e2f-8a7b-", site)});
            auto r = co_await client.getOrCreateConversation(inbox::ParticipantId::member(guid("0b6e1d2c-3f4a-4b5c-9d8e-", site)));
            if (!r)
                std::cerr << "warm-up: " << r.error().describe() << "\n";
            client.close();
        }
        auto limited = wix.faults();
        limited.rateLimit = 200;
        wix.setFaults(limited);
        service = std::make_unique<Responder>(pool, *verifier, settings, tally);
        front.service = service.get();

        start = Clock::now();
        load = std::thread([&] {
            for (std::size_t i = 0;; ++i) {
                const auto at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate));
                if (at >= start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)))
                    break;
                std::this_thread::sleep_until(at); // the participants' pace, not a synchronisation
                const auto site = i % sites;
                if (auto w = write(wix, guid("4c3a9f5e-0b1d-4e2f-8a7b-", site), site * 100 + (i / sites) % 10, "Hello"))
                    written.push_back(std::move(*w));
                generated = written.size();
            }
            net::post(ioc, [&] {
                loadDone = true;
                sentWhileWriting = tally.sent;
                tally.progress.cancel();
            });
        });
        const auto limit = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds + 180));
        const auto drained = co_await waitFor(tally, limit, [&] { return loadDone && tally.answered >= generated; });
        load.join();
        const auto elapsed = std::chrono::duration<double>(tally.lastReply - start).count();
        const auto [requests, throttled] = service->requests();
        service->stop();
        co_await waitFor(tally, Clock::now() + std::chrono::seconds(60), [&] { return service->running() == 0; });
        front.service = nullptr;
        service.reset();

        auto unlimited = wix.faults();
        unlimited.rateLimit = 0; // the audit is the checker's, not the service's
        wix.setFaults(unlimited);
        const auto found = co_await audit(pool, settings, written);
        const auto stats = wix.stats();

        auto& l = tally.latencyMs;
        std::sort(l.begin(), l.end());
        auto quantile = [&](double q) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(q * l.size()))]; };
        const double allowed = static_cast<double>(sites) * 200 / 60;
        std::printf("sites %zu, participants writing %.1f messages/s for %.0f s, %zu workers\n", sites, rate, seconds, workers);
        std::printf("messages %zu, answered %zu (%zu sent, %zu found sent), given up %zu, drained %s\n", written.size(),
                    tally.answered, tally.sent, tally.foundSent, tally.failed, drained ? "yes" : "NO");
        const double whileWriting = static_cast<double>(sentWhileWriting) / seconds;
        std::printf("replies/s while the participants wrote %.1f: %.2f x the allowed aggregate (%.1f/s = %zu x 200/min); "
                    "until the last reply %.1f over %.1f s\n",
                    whileWriting, whileWriting / allowed, allowed, sites, static_cast<double>(tally.sent) / elapsed, elapsed);
        std::printf("requests by the service %llu (%.3f per reply, OAuth tokens included), throttled (429) %llu\n",
                    static_cast<unsigned long long>(requests), static_cast<double>(requests) / static_cast<double>(std::max<std::size_t>(1, tally.sent)),
                    static_cast<unsigned long long>(throttled));
        std::printf("webhook to reply: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n", quantile(0.5), quantile(0.99), l.empty() ? 0.0 : l.back());
        std::printf("deliveries: %llu failed attempts (resent), %llu abandoned; %zu redeliveries dropped, %zu refused (503)\n",
                    static_cast<unsigned long long>(stats.webhookFailedAttempts), static_cast<unsigned long long>(stats.webhooksAbandoned),
                    tally.redeliveries, tally.refused);
        std::printf("audit over REST: duplicates %zu, missed %zu, unexplained %zu, listing errors %zu\n", found.duplicated,
                    found.missing, found.stray, found.errors);
        if (!drained || found.duplicated || found.missing || found.stray || found.errors || tally.exceptions)
            status = 1;
        pool.close();
        acceptor.close();
    }, [&](const std::exception_ptr& e) {
        reportFailure(tally, "the bench")(e);
        if (!e)
            return;
        status = 1;
        if (service)
            service->stop();
        pool.close();
        acceptor.close();
    });
    ioc.run();
    if (load.joinable())
        load.join();
    std::filesystem::remove(settings.journalPath);
    return status;
}

// The whole of `text` as a number in [least, most], else nothing.
template <class Number>
std::optional<Number> numberIn(const std::string& text, Number least, Number most)
{
    Number n{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || !(n >= least && n <= most))
        return std::nullopt;
    return n;
}

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty())
        return selfCheck();
    const auto usage = [](const std::string& why) {
        std::cerr << "example-auto-responder: " << why
                  << "\nusage: example-auto-responder [--bench SECONDS [--sites N] [--rate MESSAGES-PER-SECOND] [--workers N]]\n";
        return 2;
    };
    std::optional<double> seconds;
    double rate = 0;
    std::size_t sites = 100, workers = 0;
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const auto& name = args[i];
        if (name != "--bench" && name != "--sites" && name != "--rate" && name != "--workers")
            return usage("unknown option (only --bench, --sites, --rate, --workers)");
        if (i + 1 == args.size())
            return usage(name + " wants a value");
        const auto& value = args[i + 1];
        if (name == "--bench" && !(seconds = numberIn(value, 0.001, 86400.0)))
            return usage("--bench wants the seconds of writing, from 0.001 to 86400");
        if (name == "--sites") {
            const auto n = numberIn<std::size_t>(value, 1, 100000);
            if (!n)
                return usage("--sites wants a whole number from 1 to 100000");
            sites = *n;
        }
        if (name == "--rate") {
            // Below one message per 100 s the writers' schedule would not fit a clock's range.
            const auto n = numberIn(value, 0.0, 1e6);
            if (!n || (*n > 0 && *n < 0.01))
                return usage("--rate wants messages per second: 0 (the sites' limits), or from 0.01 to 1000000");
            rate = *n;
        }
        if (name == "--workers") {
            const auto n = numberIn<std::size_t>(value, 0, 1000000);
            if (!n)
                return usage("--workers wants a whole number from 0 (4 per site) to 1000000");
            workers = *n;
        }
    }
    if (!seconds)
        return usage("--bench SECONDS is needed with the other options");
    // By default, participants write as fast as the sites' limits let the service answer.
    return bench(*seconds, sites, rate > 0 ? rate : static_cast<double>(sites) * 200 / 60, workers > 0 ? workers : 4 * sites);
}
