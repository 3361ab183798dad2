#include "send_journal.hpp"

#include <wix/inbox/codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace wix::inbox::cli {
namespace json = boost::json;

std::string sendJournalPath(const std::string& output)
{
    return output + ".wix-inbox-journal";
}

SendJournal::SendJournal(const std::string& path, bool resume, std::uint64_t doneThrough) : path_(path)
{
    if (path.empty())
        return;
    if (resume) {
        std::ifstream in(path, std::ios::binary);
        for (std::string text; std::getline(in, text);) {
            boost::system::error_code ec;
            const auto v = json::parse(text, ec);
            const auto* o = !ec && v.is_object() ? &v.get_object() : nullptr;
            const auto* line = o ? o->if_contains("line") : nullptr;
            const auto* conversation = o ? o->if_contains("conversationId") : nullptr;
            if (!line || !line->is_int64() || line->get_int64() < 1 || !conversation || !conversation->is_string())
                continue; // a torn last record
            const auto n = line->to_number<std::uint64_t>();
            if (const auto* message = o->if_contains("message"); message && message->is_object()) {
                if (const auto* id = message->get_object().if_contains("id"); id && id->is_string())
                    claimed_.insert(std::string(id->get_string()));
                if (n > doneThrough)
                    entries_[n] = {std::string(conversation->get_string()), {}, json::serialize(*message)};
            } else if (const auto* at = o->if_contains("intentAt"); at && at->is_string() && n > doneThrough) {
                auto& e = entries_[n];
                e.conversationId = conversation->get_string();
                e.intentAt = at->get_string();
            }
        }
    }
    else if (::unlink(path.c_str()) != 0 && errno != ENOENT) // an earlier job's: this job's output replaces it
        throw std::runtime_error("cannot remove the send journal '" + path + "': " + std::strerror(errno));
}

SendJournal::~SendJournal()
{
    if (fd_ >= 0)
        ::close(fd_);
}

const SendJournal::Entry* SendJournal::find(std::uint64_t line) const
{
    const auto it = entries_.find(line);
    return it == entries_.end() ? nullptr : &it->second;
}

void SendJournal::write(const std::string& record, bool durable)
{
    if (path_.empty())
        return;
    if (fd_ < 0) // made by the first send: a batch that sends nothing leaves no journal
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw std::runtime_error("cannot open the send journal '" + path_ + "': " + std::strerror(errno));
    for (std::size_t done = 0; done < record.size();) {
        const auto n = ::write(fd_, record.data() + done, record.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw std::runtime_error("cannot write the send journal '" + path_ + "': " + std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
    if (durable && ::fdatasync(fd_) != 0)
        throw std::runtime_error("cannot flush the send journal '" + path_ + "': " + std::strerror(errno));
}

void SendJournal::intent(std::uint64_t line, const std::string& conversationId, const std::string& at)
{
    write(json::serialize(json::object{{"line", line}, {"conversationId", conversationId}, {"intentAt", at}}) + "\n",
          true);
    auto& e = entries_[line];
    e.conversationId = conversationId;
    e.intentAt = at;
}

void SendJournal::sent(std::uint64_t line, const std::string& conversationId, const Message& message)
{
    auto stored = json::serialize(toJson(message));
    // Written, not flushed: a kill leaves it in the kernel's cache; a crash of the machine
    // loses it, and the line is then reconciled as one with an intent only.
    write(R"({"line":)" + std::to_string(line) + R"(,"conversationId":)" + json::serialize(json::string(conversationId))
              + R"(,"message":)" + stored + "}\n",
          false);
    claimed_.insert(message.id);
    auto& e = entries_[line];
    e.conversationId = conversationId;
    e.message = std::move(stored);
}

} // namespace wix::inbox::cli
