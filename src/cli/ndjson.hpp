// SPDX-License-Identifier: BSL-1.0
// The batch job's NDJSON: input lines in, output lines out, and where an interrupted
// output ends. Pure functions, no I/O beyond reading an output file (fuzzed).
#pragma once

#include <wix/inbox/error.hpp>
#include <wix/inbox/message.hpp>
#include <wix/inbox/model.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace wix::inbox::cli {

/// Longest input line accepted; longer ones get an error line (and are never held whole).
constexpr std::size_t maxLineBytes = std::size_t{64} * 1024;

/// The tenant a line names: a site (with API-key credentials) or an app instance (with
/// OAuth app credentials). Lines that name none go to the job's own credentials.
struct LineTenant {
    enum class Kind { site, instance };
    Kind kind;
    std::string id; ///< a GUID, in lower case

    /// "site:ID" or "instance:ID": one tenant, one label.
    std::string label() const { return (kind == Kind::site ? "site:" : "instance:") + id; }
};

struct BatchRequest {
    std::optional<LineTenant> tenant;         ///< "siteId" or "instanceId"; kept in passthrough too
    std::optional<ParticipantId> participant; ///< set: getOrCreateConversation
    std::string conversationId;               ///< otherwise: getConversation
    /// From "text" (a basic text message) or "message" (a whole one), with "visibility" and
    /// "direction" (default BUSINESS_AND_PARTICIPANT, BUSINESS_TO_PARTICIPANT): set, the line
    /// sends it to the participant's (or the given) conversation.
    std::optional<Message> message;
    /// The line's other fields as written in it, each `,"key":value`: copied to the output
    /// byte for byte (large integers, -0, escapes and spacing inside values unchanged).
    std::string passthrough;
    /// The fingerprint of the input line's bytes (set by the batch): the send journal keeps it
    /// with a line's intent, so a resumed run never sends an edited line as the old one.
    std::uint64_t lineFingerprint = 0;

    /// What --shard hashes: the tenant's label, else the participant or conversation ID,
    /// in lower case (one ID, one shard, whatever case a line writes it in).
    std::string shardKey() const;
};

/// Parses one input line. A malformed line yields the message of its error line.
std::variant<BatchRequest, std::string> parseBatchLine(std::string_view line);

/// The output line of a successful call (`result` holds the response's fields).
/// Text from the server in both is escaped for terminals (cli/terminal.hpp).
std::string okLine(std::uint64_t line, std::string_view passthrough, const boost::json::object& result);
/// The output line of a failed call.
std::string errorLine(std::uint64_t line, std::string_view passthrough, const Error& error);
/// The output line of a malformed input line.
std::string inputErrorLine(std::uint64_t line, std::string_view problem);

/// Longest output line read back: an input line (at most 64 KiB) and a response (at most
/// 1 MiB by default, escaped). A longer one is not a batch output's, and is not held whole.
constexpr std::size_t maxOutputLineBytes = std::size_t{16} << 20;

/// What the batch reads back from one of its own output lines: the input line it is for, and
/// whether it succeeded.
struct OutputLineHead {
    std::uint64_t line = 0;
    bool ok = false;
};
/// Nothing if `text` is not an output line of the batch ("line" a whole number from 1, "ok"
/// true or false).
std::optional<OutputLineHead> readOutputLine(std::string_view text);

/// Where a resumed run continues: the output's complete lines, and the byte length of
/// that prefix (a torn last line after it is cut off).
struct ResumePoint {
    std::uint64_t lines = 0;
    std::uint64_t bytes = 0;
    std::uint64_t lastLine = 0; ///< the input line of the last complete line (`lines`, unsharded)
};
/// Reads an existing output file; an error message, naming the line, if it is not a batch
/// output: every complete line must be an output line, in input order, and the last one line
/// `lines` of the input, or, for a shard's output (`sharded`), at least that.
std::variant<ResumePoint, std::string> findResumePoint(const std::string& path, bool sharded = false);

} // namespace wix::inbox::cli
