#include "job_state.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace wix::inbox::cli {
namespace json = boost::json;

std::string jobStatePath(const std::string& output)
{
    return output + ".wix-inbox-state";
}

std::variant<std::monostate, JobState, std::string> readJobState(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::monostate{};
    std::ostringstream text;
    text << in.rdbuf();
    const std::string notOurs = "'" + path + "' is not a wix-inbox job state file";
    boost::system::error_code ec;
    const auto v = json::parse(text.str(), ec);
    const auto* o = (!ec && v.is_object()) ? &v.get_object() : nullptr;
    const auto* input = o ? o->if_contains("input") : nullptr;
    const auto* lines = o ? o->if_contains("lines") : nullptr;
    const auto* fingerprint = o ? o->if_contains("fingerprint") : nullptr;
    if (!input || !input->is_string() || !lines || !lines->is_int64() || lines->get_int64() < 0 || !fingerprint
        || !fingerprint->is_string())
        return notOurs;
    JobState s;
    s.input = std::string(input->get_string());
    s.lines = static_cast<std::uint64_t>(lines->get_int64());
    const std::string hex(fingerprint->get_string());
    char* end = nullptr;
    s.fingerprint = std::strtoull(hex.c_str(), &end, 16);
    if (hex.size() != 16 || end != hex.c_str() + hex.size())
        return notOurs;
    if (const auto* finished = o->if_contains("finished")) {
        if (!finished->is_bool())
            return notOurs;
        s.finished = finished->get_bool();
    }
    if (const auto* shard = o->if_contains("shard")) {
        if (!shard->is_string())
            return notOurs;
        s.shard = std::string(shard->get_string());
    }
    return s;
}

void writeJobState(const std::string& path, const JobState& state)
{
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(state.fingerprint));
    json::object record{{"input", state.input}, {"lines", static_cast<std::int64_t>(state.lines)}, {"fingerprint", hex}};
    if (!state.shard.empty())
        record["shard"] = state.shard;
    if (state.finished)
        record["finished"] = true;
    const std::string text = json::serialize(record) + "\n";
    const std::string temporary = path + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (std::size_t done = 0; ok && done < text.size();) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += ok ? static_cast<std::size_t>(n) : 0;
    }
    const int error = ok ? 0 : errno;
    if (fd >= 0)
        ::close(fd);
    if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
        const int why = ok ? errno : error;
        ::unlink(temporary.c_str());
        throw std::runtime_error("cannot write '" + path + "': " + std::strerror(why));
    }
}

} // namespace wix::inbox::cli
