// livepush-cli: a terminal client for a person or a script. It logs in, keeps the session alive
// with heartbeats at the interval LOGIN_RESULT asks for, turns slash commands into packets and
// prints every frame it receives on a line of its own (code name, seq, body in the text envelope
// v1.1 JSON form: data/payload as JSON values, bytes that are not JSON as dataB64/payloadB64).
//
// Built on the blocking lp::client::Connection: one thread, no callbacks. The main loop alternates
// between receiving for a few milliseconds and polling stdin without blocking, so commands, pushes
// and heartbeats interleave without a second thread. Received frames go to stdout; everything
// else (status, what was sent) goes to stderr, so a script can read stdout alone.
#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "codec/envelope.hpp"
#include "load-test/client.hpp"

namespace {

using lp::client::Connection;
using lp::client::Frame;
using lp::codec::Code;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kUsage = R"(livepush-cli: an interactive (or scripted) livepush client.

usage: livepush-cli --host HOST --port PORT [options]
                    (--token JWT | --secret SECRET --user ID [--role ROLE])

connection:
  --host HOST            server address (default 127.0.0.1)
  --port PORT            server port (TCP listener, or the WebSocket one with --ws)
  --ws                   WebSocket instead of raw TCP
  --ws-path PATH         WebSocket path (default /ws)
  --text                 WebSocket text envelopes (implies --ws and JSON bodies)
  --json                 JSON_BODY frames instead of binary protobuf
  --tls                  TLS (certificate not verified unless --ca-file)
  --ca-file FILE         verify the server certificate against FILE
  --bind ADDR            local source address (e.g. 127.0.0.2)
  --timeout-ms N         connect and request timeout (default 5000)
login:
  --token JWT            the login token
  --secret S --user ID   or mint an HS256 token for user ID with secret S
  --role ROLE            role claim of a minted token (default viewer)
  --name N --avatar URL --level L --medal-name M --medal-level ML
                         profile claims of a minted token (shown in room.chat pushes)
  --platform P           LoginReq.platform (default pc)
  --device-id D          LoginReq.device_id
  --room ID              enter room ID right after login
behaviour:
  --exec CMD             run a command after login (repeatable, in order; each waits for its
                         reply), then wait --wait-ms and exit without reading stdin
  --wait-ms N            how long to keep printing after the last --exec command or after
                         stdin ends (default 1000)
  --max-s N              end the session after N seconds at most (default 86400)
  --stay                 keep the session when stdin ends (a client run in the background
                         of a script, stdin /dev/null): it lasts until --max-s, the server
                         closing, or a signal
  --no-auto-ack          do not ACK pushes that carry ACK_REQUIRED
  --quiet-pong           do not print PONG frames
  -h, --help             this text

commands (stdin, one per line; a line without a leading / is /chat):
  /enter ID [LAST_SEQ]   room.enter (becomes the current room)
  /leave [ID]            room.leave (default: the current room)
  /chat TEXT             room.chat in the current room
  /im USER JSON          im.send to USER (JSON that does not parse is sent as a string)
  /scene NAME            scene.set
  /biz TYPE [JSON]       any BIZ type with JSON data (default {})
  /ack MSG_ID...         ACK these msg_ids
  /hb                    heartbeat now
  /logout                LOGOUT (the server then closes the session)
  /quit                  log out and exit
  /help                  this list

exit status: 0 ok, 1 connect or login failed, 2 usage, 3 connection closed by the server.
)";

// --- small text helpers -------------------------------------------------------------------

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::string quote_json(std::string_view text) {
    return boost::json::serialize(boost::json::value(boost::json::string_view(text)));
}

// The text itself when it is valid JSON, else the text as a JSON string.
std::string json_or_string(std::string_view text) {
    boost::system::error_code ec;
    boost::json::parse(boost::json::string_view(text), ec);
    return ec ? quote_json(text) : std::string(text);
}

// A Result as the text envelope v1.1 writes it (data as its JSON value, or dataB64), with
// "code" shown even when it is 0: on the wire a success leaves it out, but a person reading the
// CLI's lines (and the docs that show them) should not have to know that.
std::string result_json(const livepush::v1::Result& r) {
    std::string out = lp::codec::to_json(r);
    if (r.code() == 0) out.insert(1, out.size() > 2 ? "\"code\":0," : "\"code\":0");
    return out;
}

std::pair<std::string_view, std::string_view> split_word(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    std::size_t sp = s.find(' ');
    std::string_view word = s.substr(0, sp);
    std::string_view rest = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return {word, rest};
}

// --- frame printing -----------------------------------------------------------------------

// The body of a received frame as JSON text, parsed as the message type its code carries.
std::string body_json(const Frame& f) {
    auto shown = [&](google::protobuf::Message& msg) -> std::optional<std::string> {
        if (!f.parse(msg)) return std::nullopt;
        return lp::codec::to_json(msg);
    };
    std::optional<std::string> out;
    switch (f.code()) {
        case Code::LoginResult:
        case Code::LogoutResult:
        case Code::BizResult:
        case Code::Pong: {
            livepush::v1::Result r;
            if (f.parse(r)) out = result_json(r);
            break;
        }
        case Code::Push: {
            livepush::v1::Push p;
            if (f.parse(p)) out = lp::codec::to_json(p);
            break;
        }
        case Code::Kick: {
            livepush::v1::Kick k;
            out = shown(k);
            break;
        }
        case Code::Error: {
            livepush::v1::Error e;
            out = shown(e);
            break;
        }
        default:
            break;
    }
    if (out) return *out;
    if (f.json()) return "(unparsed) " + f.body;
    std::string hex = "(unparsed binary, " + std::to_string(f.body.size()) + " bytes)";
    return hex;
}

void print_frame(const Frame& f) {
    std::string line(lp::codec::code_name(f.header.code));
    line.append(" seq=").append(std::to_string(f.header.seq));
    if (f.header.flags & lp::codec::kAckRequired) line.append(" ack_required");
    if (f.text) line.append(" text");
    line.append(" ").append(body_json(f));
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

// --- options ------------------------------------------------------------------------------

struct CliOptions {
    lp::client::Options connection;
    std::string token;
    std::string secret;
    std::optional<std::uint64_t> user_id;
    std::string role = "viewer";
    lp::auth::ProfileClaims profile;  // of a minted token
    std::string platform = "pc";
    std::string device_id;
    std::optional<std::uint64_t> room;
    std::vector<std::string> execs;
    int wait_ms = 1000;
    int max_s = 86400;
    bool stay = false;  // stdin's end does not end the session
    bool auto_ack = true;
    bool quiet_pong = false;
};

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "livepush-cli: %s (see --help)\n", why.c_str());
    std::exit(2);
}

CliOptions parse_options(int argc, char** argv) {
    CliOptions o;
    o.connection.timeout = milliseconds(5000);
    auto value = [&](int& i) -> std::string {
        if (i + 1 >= argc) usage_error(std::string("missing value for ") + argv[i]);
        return argv[++i];
    };
    auto number = [&](int& i) -> std::uint64_t {
        std::string flag = argv[i];
        auto v = parse_u64(value(i));
        if (!v) usage_error("bad number for " + flag);
        return *v;
    };
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            std::exit(0);
        } else if (a == "--host")
            o.connection.host = value(i);
        else if (a == "--port") {
            std::uint64_t port = number(i);
            if (port == 0 || port > 65535) usage_error("--port out of range");
            o.connection.port = static_cast<std::uint16_t>(port);
        } else if (a == "--ws")
            o.connection.transport = lp::client::Transport::Ws;
        else if (a == "--ws-path")
            o.connection.ws_path = value(i);
        else if (a == "--text") {
            o.connection.transport = lp::client::Transport::Ws;
            o.connection.ws_text = true;
        } else if (a == "--json")
            o.connection.json_body = true;
        else if (a == "--tls")
            o.connection.tls = true;
        else if (a == "--ca-file")
            o.connection.ca_file = value(i);
        else if (a == "--bind")
            o.connection.bind_address = value(i);
        else if (a == "--timeout-ms")
            o.connection.timeout = milliseconds(number(i));
        else if (a == "--token")
            o.token = value(i);
        else if (a == "--secret")
            o.secret = value(i);
        else if (a == "--user")
            o.user_id = number(i);
        else if (a == "--role")
            o.role = value(i);
        else if (a == "--name")
            o.profile.name = value(i);
        else if (a == "--avatar")
            o.profile.avatar = value(i);
        else if (a == "--level")
            o.profile.level = static_cast<std::int64_t>(number(i));
        else if (a == "--medal-name")
            o.profile.medal_name = value(i);
        else if (a == "--medal-level")
            o.profile.medal_level = static_cast<std::int64_t>(number(i));
        else if (a == "--platform")
            o.platform = value(i);
        else if (a == "--device-id")
            o.device_id = value(i);
        else if (a == "--room")
            o.room = number(i);
        else if (a == "--exec")
            o.execs.push_back(value(i));
        else if (a == "--wait-ms")
            o.wait_ms = static_cast<int>(number(i));
        else if (a == "--max-s")
            o.max_s = static_cast<int>(number(i));
        else if (a == "--stay")
            o.stay = true;
        else if (a == "--no-auto-ack")
            o.auto_ack = false;
        else if (a == "--quiet-pong")
            o.quiet_pong = true;
        else
            usage_error("unknown option " + std::string(a));
    }
    if (o.connection.port == 0) usage_error("--port is required");
    if (o.token.empty()) {
        if (o.secret.empty() || !o.user_id) usage_error("give --token, or --secret and --user");
        auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        o.token = lp::auth::mint_hs256(o.secret, *o.user_id, o.role, now, now + 24 * 3600, {}, {},
                                       o.profile);
    }
    return o;
}

// --- the session --------------------------------------------------------------------------

class CliSession {
public:
    CliSession(Connection& conn, const CliOptions& opts, milliseconds heartbeat_interval)
        : conn_(conn),
          opts_(opts),
          heartbeat_interval_(heartbeat_interval),
          next_heartbeat_(Clock::now() + heartbeat_interval) {}

    enum class Outcome { Continue, Quit };

    // Runs one command line. *sent_seq is set when it sent a request that has a reply.
    Outcome run_command(std::string_view line, std::uint32_t* sent_seq) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty()) return Outcome::Continue;
        if (line.front() != '/') return chat(line, sent_seq);
        auto [cmd, rest] = split_word(line);
        if (cmd == "/quit") return Outcome::Quit;
        if (cmd == "/help") {
            std::string_view help = kUsage.substr(kUsage.find("commands"));
            std::fwrite(help.data(), 1, help.size(), stderr);
        } else if (cmd == "/enter") {
            auto [id_text, last_text] = split_word(rest);
            auto id = parse_u64(id_text);
            if (!id) return complain("usage: /enter ROOM_ID [LAST_SEQ]");
            std::string data = "{\"room_id\":" + std::to_string(*id);
            if (!last_text.empty()) {
                auto last = parse_u64(last_text);
                if (!last) return complain("LAST_SEQ must be a number");
                data += ",\"last_seq\":" + std::to_string(*last);
            }
            data += "}";
            room_ = *id;
            biz("room.enter", data, sent_seq);
        } else if (cmd == "/leave") {
            std::optional<std::uint64_t> id = rest.empty() ? room_ : parse_u64(rest);
            if (!id) return complain("usage: /leave [ROOM_ID] (no current room)");
            if (room_ == id) room_.reset();
            biz("room.leave", "{\"room_id\":" + std::to_string(*id) + "}", sent_seq);
        } else if (cmd == "/chat") {
            return chat(rest, sent_seq);
        } else if (cmd == "/im") {
            auto [user_text, payload] = split_word(rest);
            auto user = parse_u64(user_text);
            if (!user || payload.empty()) return complain("usage: /im USER_ID JSON");
            biz("im.send",
                "{\"to\":" + std::to_string(*user) + ",\"payload\":" + json_or_string(payload) +
                    "}",
                sent_seq);
        } else if (cmd == "/scene") {
            if (rest.empty()) return complain("usage: /scene NAME");
            biz("scene.set", "{\"scene\":" + quote_json(rest) + "}", sent_seq);
        } else if (cmd == "/biz") {
            auto [type, data] = split_word(rest);
            if (type.empty()) return complain("usage: /biz TYPE [JSON]");
            biz(std::string(type), data.empty() ? "{}" : std::string(data), sent_seq);
        } else if (cmd == "/ack") {
            std::vector<std::uint64_t> ids;
            // Bounded by the line's length: each step consumes one word.
            for (auto [word, more] = split_word(rest); !word.empty();
                 std::tie(word, more) = split_word(more)) {
                auto id = parse_u64(word);
                if (!id) return complain("usage: /ack MSG_ID...");
                ids.push_back(*id);
            }
            conn_.ack(ids);
            std::fprintf(stderr, "-> ACK %zu msg_ids\n", ids.size());
        } else if (cmd == "/hb") {
            heartbeat(sent_seq);
        } else if (cmd == "/logout") {
            std::uint32_t seq = conn_.send(Code::Logout, livepush::v1::LogoutReq{});
            std::fprintf(stderr, "-> LOGOUT seq=%u\n", seq);
            if (sent_seq) *sent_seq = seq;
        } else {
            return complain("unknown command (try /help)");
        }
        return Outcome::Continue;
    }

    // Receives and prints frames for up to `budget`; sends heartbeats and ACKs as they fall due.
    void pump(milliseconds budget) {
        Clock::time_point until = Clock::now() + budget;
        // Bounded by the time budget (each recv waits at most until `until`). Frames that came
        // before a close are still printed: recv hands them out before reporting the close.
        for (;;) {
            if (conn_.is_open() && Clock::now() >= next_heartbeat_) heartbeat(nullptr);
            auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
            auto wait = std::min(
                left, std::chrono::duration_cast<milliseconds>(next_heartbeat_ - Clock::now()));
            auto frame = conn_.recv(std::max(wait, milliseconds(0)));
            if (frame)
                handle(*frame);
            else if (!conn_.is_open() || Clock::now() >= until)
                return;
        }
    }

    // Like pump, but returns as soon as the reply to `seq` (or an ERROR) has been printed.
    void pump_until_reply(std::uint32_t seq, milliseconds budget) {
        Clock::time_point until = Clock::now() + budget;
        while (Clock::now() < until) {
            auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
            auto frame = conn_.recv(left);
            if (!frame) return;
            handle(*frame);
            bool is_reply = frame->header.seq == seq && frame->header.code >= 2001 &&
                            frame->header.code <= 2004;
            if (is_reply || frame->code() == Code::Error) return;
        }
    }

private:
    Outcome complain(const char* what) {
        std::fprintf(stderr, "# %s\n", what);
        return Outcome::Continue;
    }

    Outcome chat(std::string_view text, std::uint32_t* sent_seq) {
        if (!room_) return complain("no current room: /enter ROOM_ID first");
        biz("room.chat",
            "{\"room_id\":" + std::to_string(*room_) + ",\"text\":" + quote_json(text) + "}",
            sent_seq);
        return Outcome::Continue;
    }

    void biz(const std::string& type, const std::string& data, std::uint32_t* sent_seq) {
        livepush::v1::BizReq req;
        req.set_type(type);
        req.set_data(data);
        std::uint32_t seq = conn_.send(Code::Biz, req);
        std::fprintf(stderr, "-> BIZ seq=%u %s %s\n", seq, type.c_str(), data.c_str());
        if (sent_seq) *sent_seq = seq;
    }

    void heartbeat(std::uint32_t* sent_seq) {
        std::uint32_t seq = conn_.send(Code::Heartbeat, livepush::v1::HeartbeatReq{});
        next_heartbeat_ = Clock::now() + heartbeat_interval_;
        if (sent_seq) *sent_seq = seq;
    }

    void handle(const Frame& f) {
        if (!(opts_.quiet_pong && f.code() == Code::Pong)) print_frame(f);
        if (opts_.auto_ack && f.code() == Code::Push &&
            (f.header.flags & lp::codec::kAckRequired)) {
            livepush::v1::Push push;
            if (f.parse(push)) {
                conn_.ack({push.msg_id()});
                std::fprintf(stderr, "-> ACK %llu\n",
                             static_cast<unsigned long long>(push.msg_id()));
            }
        }
    }

    Connection& conn_;
    const CliOptions& opts_;
    milliseconds heartbeat_interval_;
    Clock::time_point next_heartbeat_;
    std::optional<std::uint64_t> room_;
};

// Reads whatever stdin has without blocking; complete lines go to `lines`. False at EOF.
bool poll_stdin(std::string& pending, std::vector<std::string>& lines) {
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, 0) <= 0) return true;
    char buf[4096];
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) {
        if (!pending.empty()) lines.push_back(std::move(pending));
        pending.clear();
        return false;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    // Bounded by the bytes just read: each step removes one line.
    while ((nl = pending.find('\n')) != std::string::npos) {
        lines.push_back(pending.substr(0, nl));
        pending.erase(0, nl + 1);
    }
    return true;
}

int exit_closed(Connection& conn) {
    std::fprintf(stderr, "# connection closed: %s\n", conn.last_error().message().c_str());
    return 3;
}

}  // namespace

int main(int argc, char** argv) {
    CliOptions opts = parse_options(argc, argv);
    Connection conn(opts.connection);
    if (std::error_code ec = conn.connect()) {
        std::fprintf(stderr, "# connect to %s:%u failed: %s\n", opts.connection.host.c_str(),
                     opts.connection.port, ec.message().c_str());
        return 1;
    }
    auto login = conn.login(opts.token, opts.platform, opts.device_id);
    if (!login) {
        // An ERROR the server answered with is still queued (with the close after it): show it.
        bool answered = false;
        while (auto f = conn.recv(milliseconds(0))) {
            print_frame(*f);
            answered = answered || f->code() == Code::Error;
        }
        std::string why = answered         ? "the server answered with ERROR"
                          : conn.is_open() ? "no LOGIN_RESULT in time"
                                           : "connection closed: " + conn.last_error().message();
        std::fprintf(stderr, "# login failed: %s\n", why.c_str());
        return 1;
    }
    std::printf("LOGIN_RESULT seq=1 %s\n", result_json(*login).c_str());
    std::fflush(stdout);
    if (login->code() != 0) return 1;

    milliseconds interval(login->heartbeat_interval_ms() ? login->heartbeat_interval_ms() : 30000);
    CliSession session(conn, opts, interval);
    milliseconds timeout = opts.connection.timeout;
    if (opts.room) {
        std::uint32_t seq = 0;
        session.run_command("/enter " + std::to_string(*opts.room), &seq);
        session.pump_until_reply(seq, timeout);
    }

    auto finish = [&](int status) {
        if (conn.is_open()) {
            if (auto r = conn.logout()) {
                std::printf("LOGOUT_RESULT %s\n", result_json(*r).c_str());
            }
            conn.close();
        }
        return status;
    };

    if (!opts.execs.empty()) {
        for (const std::string& cmd : opts.execs) {
            std::uint32_t seq = 0;
            if (session.run_command(cmd, &seq) == CliSession::Outcome::Quit) return finish(0);
            if (seq != 0) session.pump_until_reply(seq, timeout);
            if (!conn.is_open()) return exit_closed(conn);
        }
        session.pump(milliseconds(opts.wait_ms));
        return conn.is_open() ? finish(0) : exit_closed(conn);
    }

    Clock::time_point session_end = Clock::now() + std::chrono::seconds(opts.max_s);
    std::string pending;
    std::vector<std::string> lines;
    bool stdin_open = true;
    // Bounded by --max-s, by /quit, by the end of stdin and by the server closing.
    while (Clock::now() < session_end) {
        session.pump(milliseconds(50));
        if (!conn.is_open()) return exit_closed(conn);
        if (stdin_open) stdin_open = poll_stdin(pending, lines);
        for (const std::string& line : lines) {
            if (session.run_command(line, nullptr) == CliSession::Outcome::Quit) return finish(0);
        }
        lines.clear();
        if (!stdin_open && !opts.stay) {
            session.pump(milliseconds(opts.wait_ms));
            return conn.is_open() ? finish(0) : exit_closed(conn);
        }
    }
    return finish(0);
}
