// tests/integration/reload_test: SIGHUP reload, key rotation and the log formats on a real
// livepushd started with a --config file and no test flags (a flag would win over the file):
// - live keys change while TCP and WebSocket sessions stay connected, and a lowered rate refuses
//   at once; the word list changes (the wordfilter plugin reloads its file);
// - a restart-only key that changed is refused (log line naming it, metric) and the rest applied;
// - an invalid file applies nothing;
// - six reloads under traffic (sessions sending, logins, API calls): the TSan stage's case;
// - POST /v1/admin/reload does the same, behind the API key;
// - JWT rotation: after a reload to a new secret, a token of the old one logs in during
//   auth.key_overlap_s and is refused after it, a new one at once;
// - log.format = json: every line of the node's log parses as a JSON object with ts, level,
//   logger, node, msg; log.access: a line per API request, never the key or the query.
// - docs/operations.md lists exactly the schema's live and restart-only keys.
// Every wait is bounded (eventually); nothing asserts on speed.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "app/config.hpp"
#include "app/log_format.hpp"
#include "auth/jwt.hpp"
#include "eventually.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"

namespace {

namespace json = boost::json;
namespace pb = livepush::v1;
using lp::client::Connection;
using lp::testing::eventually;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::TempDir;
using namespace std::chrono_literals;

const std::string kSecretOne = "reload-secret-one-0123456789-0123456789";
const std::string kSecretTwo = "reload-secret-two-0123456789-0123456789";
const std::string kApiKey = "reload-api-key-0123456789";

std::string token(const std::string& secret, std::uint64_t user) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return lp::auth::mint_hs256(secret, user, "viewer", now, now + 3600);
}

// The node's configuration file: every test writes its own keys over these.
struct Settings {
    std::string tcp_listen = "127.0.0.1:0";
    std::string secret = kSecretOne;
    std::string log_level = "info";
    std::string log_format = "text";
    bool access = false;
    unsigned biz_rate = 100;
    unsigned key_overlap_s = 3600;
    std::string word_file;  // wordfilter on when set
    std::string extra;      // appended verbatim (a bad line for the invalid test)
};

void write_config(const std::string& path, const Settings& s) {
    std::ofstream f(path, std::ios::trunc);
    f << "[server]\ntcp_listen = \"" << s.tcp_listen
      << "\"\nws_listen = \"127.0.0.1:0\"\ntrusted_proxies = \"127.0.0.1\"\nbiz_rate_per_s = "
      << s.biz_rate << "\n[api]\nlisten = \"127.0.0.1:0\"\nkey = \"" << kApiKey
      << "\"\n[cluster]\nnode_id = \"reload-node\"\n[auth]\njwt_secret = \"" << s.secret
      << "\"\nkey_overlap_s = " << s.key_overlap_s << "\n[log]\nlevel = \"" << s.log_level
      << "\"\nformat = \"" << s.log_format << "\"\naccess = " << (s.access ? "true" : "false")
      << "\n";
    if (!s.word_file.empty())
        f << "[plugins]\nenabled = [\"wordfilter\"]\n[plugins.wordfilter]\nfile = \"" << s.word_file
          << "\"\nreload_ms = 100\n";
    f << s.extra;
}

void write_file(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
}

std::unique_ptr<Connection> logged_in(std::uint16_t port, lp::client::Transport transport,
                                      const std::string& tok) {
    lp::client::Options o;
    o.port = port;
    o.transport = transport;
    o.timeout = 5000ms;
    auto c = std::make_unique<Connection>(o);
    EXPECT_FALSE(c->connect());
    auto r = c->login(tok, "android");
    EXPECT_TRUE(r && r->code() == 0) << (r ? r->message() : "no LOGIN_RESULT");
    return c;
}

// The code of a login with `tok` on a new connection (-1: no answer).
int login_code(std::uint16_t port, const std::string& tok) {
    lp::client::Options o;
    o.port = port;
    o.timeout = 5000ms;
    Connection c(o);
    if (c.connect()) return -1;
    auto r = c.login(tok, "android");
    return r ? static_cast<int>(r->code()) : -1;
}

double metric(std::uint16_t api_port, const std::string& series) {
    HttpClient http(api_port, kApiKey);
    const auto page = http.get("/metrics").body;
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
}

// SIGHUP, then waits for the reload's outcome line (the count of "SIGHUP:" lines grows and its
// last outcome is in the log).
void reload(NodeProcess& node, const std::string& outcome) {
    const auto before = [&] {
        const std::string log = node.log();
        std::size_t n = 0;
        for (auto at = log.find(outcome); at != std::string::npos; at = log.find(outcome, at + 1))
            ++n;
        return n;
    };
    const std::size_t had = before();
    ASSERT_EQ(::kill(node.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] { return before() > had; }, 10000ms))
        << "no \"" << outcome << "\" after SIGHUP; log:\n"
        << node.log();
}

// BIZ packets refused by the rate limit among `n` sent back to back.
int rate_limited_of(Connection& c, int n) {
    int refused = 0;
    for (int i = 0; i < n; ++i) {
        auto r = c.biz("room.enter", R"({"room_id":9001})");
        if (r && r->code() == pb::RATE_LIMITED) ++refused;
    }
    return refused;
}

std::string chat_text(Connection& c, const std::string& text) {
    auto r = c.biz("room.chat", R"({"room_id":9001,"text":")" + text + "\"}");
    if (!r || r->code() != 0) return "refused";
    const auto data = json::parse(r->data()).as_object();
    return data.if_contains("text") ? std::string(data.at("text").as_string()) : text;
}

TEST(Reload, LiveKeysApplyWhileSessionsStay) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml", words = dir.path() + "/words.txt";
    write_file(words, "other\n");
    Settings s;
    s.word_file = words;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);

    auto tcp = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 1));
    auto ws = logged_in(node.ws_port(), lp::client::Transport::Ws, token(kSecretOne, 2));
    ASSERT_EQ(rate_limited_of(*tcp, 20), 0) << "biz_rate_per_s = 100 lets 20 through";
    ASSERT_EQ(rate_limited_of(*ws, 1), 0);
    EXPECT_EQ(chat_text(*tcp, "a badword"), "a badword");

    s.biz_rate = 2;
    s.log_level = "debug";
    write_config(cfg, s);
    write_file(words, "badword\n");
    reload(node, "reload: applied");
    EXPECT_NE(node.log().find("server.biz_rate_per_s, log.level"), std::string::npos) << node.log();
    EXPECT_NE(node.log().find("reload: server.biz_rate_per_s is now 2"), std::string::npos)
        << "a debug line: log.level = debug is in force";
    EXPECT_EQ(metric(node.api_port(), R"(livepush_config_reloads_total{result="ok"})"), 1);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_limit{name="biz_rate_per_s"})"), 2);

    // Both sessions are still there, and the lowered rate refuses them at once.
    EXPECT_GE(rate_limited_of(*tcp, 10), 5) << "the new biz_rate_per_s = 2 applies";
    EXPECT_GE(rate_limited_of(*ws, 10), 5);
    auto hb = tcp->heartbeat();
    EXPECT_TRUE(hb && hb->code() == 0) << "the TCP session was not dropped";
    auto hb2 = ws->heartbeat();
    EXPECT_TRUE(hb2 && hb2->code() == 0) << "the WebSocket session was not dropped";
    // The word list (the wordfilter plugin reloads its file).
    auto other = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 3));
    auto entered = other->biz("room.enter", R"({"room_id":9001})");
    ASSERT_TRUE(entered && entered->code() == 0);
    EXPECT_TRUE(eventually(
        [&] {
            std::this_thread::sleep_for(600ms);  // a token of the 2/s budget
            return chat_text(*other, "a badword") == "a *******";
        },
        10000ms, 100ms))
        << "the new word list masks";
}

TEST(Reload, RestartOnlyKeyRefusedTheRestApplied) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    auto tcp = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 1));

    s.tcp_listen = "127.0.0.1:1";
    s.biz_rate = 3;
    write_config(cfg, s);
    reload(node, "reload: applied");
    const std::string log = node.log();
    EXPECT_NE(log.find("reload: server.tcp_listen changed"), std::string::npos) << log;
    EXPECT_NE(log.find("takes a restart: refused"), std::string::npos) << log;
    EXPECT_EQ(log.find(" is now "), std::string::npos) << "no debug line at log.level = info";
    EXPECT_EQ(metric(node.api_port(), R"(livepush_config_reloads_total{result="partial"})"), 1);
    EXPECT_GE(metric(node.api_port(), "livepush_config_restart_pending_keys"), 1);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_limit{name="biz_rate_per_s"})"), 3)
        << "the live key beside it was applied";
    // The listener was not touched: the old port still takes logins.
    EXPECT_EQ(login_code(node.tcp_port(), token(kSecretOne, 2)), 0);
    auto hb = tcp->heartbeat();
    EXPECT_TRUE(hb && hb->code() == 0);

    // Back to the running value: nothing pending any more.
    s.tcp_listen = "127.0.0.1:0";
    write_config(cfg, s);
    reload(node, "reload: applied");
    EXPECT_EQ(metric(node.api_port(), "livepush_config_restart_pending_keys"), 0);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_config_reloads_total{result="ok"})"), 1);
}

TEST(Reload, InvalidFileAppliesNothing) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    auto tcp = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 1));

    s.biz_rate = 1;  // valid, but in a file that fails as a whole
    s.extra = "[room]\nchat_rate_per_s = \"fast\"\n";
    write_config(cfg, s);
    reload(node, "nothing applied");
    const std::string log = node.log();
    EXPECT_NE(log.find("room.chat_rate_per_s"), std::string::npos) << "the problem is named";
    EXPECT_EQ(metric(node.api_port(), R"(livepush_config_reloads_total{result="invalid"})"), 1);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_limit{name="biz_rate_per_s"})"), 100);
    EXPECT_EQ(rate_limited_of(*tcp, 10), 0) << "the old rate still holds";
}

// Reloads while sessions send, log in and the API is called (the TSan stage runs this against a
// TSan-built node: the live limits, the token rules and the log settings change under traffic).
TEST(Reload, UnderTraffic) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    auto tcp = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 1));
    auto ws = logged_in(node.ws_port(), lp::client::Transport::Ws, token(kSecretOne, 2));
    std::atomic<bool> stop{false};
    std::atomic<int> answered{0};
    std::thread traffic([&] {
        HttpClient http(node.api_port(), kApiKey);
        for (std::uint64_t i = 0; !stop; ++i) {
            for (auto* c : {tcp.get(), ws.get()}) {
                auto r = c->biz("room.enter", R"({"room_id":9001})");
                if (r) ++answered;
            }
            (void)http.get("/v1/users/1");
            (void)login_code(node.tcp_port(), token(i % 2 ? kSecretOne : kSecretTwo, 100 + i));
        }
    });
    for (int round = 0; round < 6; ++round) {
        s.biz_rate = round % 2 ? 3 : 100;
        s.secret = round % 2 ? kSecretTwo : kSecretOne;
        s.log_format = round % 3 == 1 ? "json" : "text";
        s.access = round % 2 == 0;
        write_config(cfg, s);
        reload(node, "reload: applied");
    }
    stop = true;
    traffic.join();
    EXPECT_GT(answered.load(), 0);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_config_reloads_total{result="ok"})"), 6);
    auto hb = tcp->heartbeat();
    EXPECT_TRUE(hb && hb->code() == 0);
    auto hb2 = ws->heartbeat();
    EXPECT_TRUE(hb2 && hb2->code() == 0);
}

// POST /v1/admin/reload: the same reload as SIGHUP, answered with its outcome; behind the key.
TEST(Reload, AdminRouteReloadsBehindTheKey) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    s.biz_rate = 4;
    s.tcp_listen = "127.0.0.1:1";
    write_config(cfg, s);
    HttpClient wrong(node.api_port(), "not-the-key");
    EXPECT_EQ(wrong.post("/v1/admin/reload", "{}").status, 401);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_limit{name="biz_rate_per_s"})"), 100);
    HttpClient http(node.api_port(), kApiKey);
    const auto r = http.post("/v1/admin/reload", "{}");
    ASSERT_EQ(r.status, 200) << r.body;
    const auto o = r.json().as_object();
    EXPECT_EQ(o.at("result").as_string(), "partial") << r.body;
    EXPECT_EQ(json::serialize(o.at("applied")), R"(["server.biz_rate_per_s"])") << r.body;
    EXPECT_NE(json::serialize(o.at("refused")).find("server.tcp_listen"), std::string::npos);
    EXPECT_EQ(metric(node.api_port(), R"(livepush_limit{name="biz_rate_per_s"})"), 4);

    s.extra = "[room]\nchat_rate_per_s = -1\n";
    write_config(cfg, s);
    const auto bad = http.post("/v1/admin/reload", "{}");
    ASSERT_EQ(bad.status, 200) << bad.body;
    EXPECT_EQ(bad.json().as_object().at("result").as_string(), "invalid") << bad.body;
    EXPECT_NE(bad.body.find("room.chat_rate_per_s"), std::string::npos) << bad.body;
}

TEST(Reload, KeyRotationOverlap) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    s.key_overlap_s = 6;  // long enough for the steps below on a loaded machine
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    // One user a token (a second login of a user on the same platform replaces the first).
    const std::string old_token = token(kSecretOne, 1), new_token = token(kSecretTwo, 2);
    auto held = logged_in(node.tcp_port(), lp::client::Transport::Tcp, token(kSecretOne, 3));
    EXPECT_EQ(login_code(node.tcp_port(), new_token), pb::TOKEN_INVALID) << "not yet";

    s.secret = kSecretTwo;
    write_config(cfg, s);
    reload(node, "reload: applied");
    EXPECT_NE(node.log().find("auth.jwt_secret"), std::string::npos);
    EXPECT_EQ(node.log().find(kSecretTwo), std::string::npos) << "a secret is never logged";
    EXPECT_EQ(login_code(node.tcp_port(), new_token), 0) << "the new key at once";
    EXPECT_EQ(login_code(node.tcp_port(), old_token), 0) << "the old key during the overlap";
    EXPECT_GE(metric(node.api_port(), "livepush_auth_previous_key_logins_total"), 1);
    EXPECT_TRUE(
        eventually([&] { return login_code(node.tcp_port(), old_token) == pb::TOKEN_INVALID; },
                   20000ms, 250ms))
        << "the old key is refused once the overlap is over";
    EXPECT_EQ(login_code(node.tcp_port(), new_token), 0);
    auto hb = held->heartbeat();
    EXPECT_TRUE(hb && hb->code() == 0) << "a session logged in with the old key stays";
}

TEST(Logs, JsonLinesAndAccessLog) {
    TempDir dir;
    const std::string cfg = dir.path() + "/livepushd.toml";
    Settings s;
    s.log_format = "json";
    s.access = true;
    write_config(cfg, s);
    NodeProcess node({"--config", cfg}, NodeProcess::Flags::None);
    {
        HttpClient http(node.api_port(), kApiKey);
        EXPECT_EQ(http.get("/v1/users/7?secret=query-secret-xyz").status, 200);
        EXPECT_EQ(http.post("/v1/push/user", R"({"user_id":7,"type":"t","payload":{}})").status,
                  200);
        HttpClient wrong(node.api_port(), "not-the-key");
        EXPECT_EQ(wrong.get("/v1/users/7").status, 401);
    }
    // A message with quotes, a backslash and a newline in it (the reload names the bad value).
    s.extra = "[kafka]\nbrokers = \"quo\\\"te\\\\ and\\nnewline\"\n";
    write_config(cfg, s);
    reload(node, "nothing applied");
    ASSERT_TRUE(
        eventually([&] { return node.log().find("status=401") != std::string::npos; }, 5000ms));

    const std::string log = node.log();
    std::istringstream lines(log);
    int parsed = 0, access = 0;
    bool saw_quote = false;
    for (std::string line; std::getline(lines, line);) {
        json::error_code ec;
        const auto v = json::parse(line, ec);
        ASSERT_FALSE(ec) << "not JSON: " << line;
        ASSERT_TRUE(v.is_object()) << line;
        const auto& o = v.as_object();
        for (const char* field : {"ts", "level", "logger", "node", "msg"})
            ASSERT_TRUE(o.contains(field) && o.at(field).is_string()) << field << ": " << line;
        EXPECT_EQ(o.at("node").as_string(), "reload-node");
        const std::string msg(o.at("msg").as_string());
        saw_quote = saw_quote || msg.find("quo\"te") != std::string::npos;
        if (o.at("logger").as_string() == "access") {
            ++access;
            for (const char* field : {"method=", "path=/v1/", "status=", "bytes=", "duration_ms=",
                                      "remote=127.0.0.1", "request_id="})
                EXPECT_NE(msg.find(field), std::string::npos) << field << ": " << msg;
        }
        ++parsed;
    }
    EXPECT_GT(parsed, 5);
    EXPECT_TRUE(saw_quote) << "the message with a quote came through whole";
    EXPECT_EQ(access, 3) << log;
    EXPECT_EQ(log.find(kApiKey), std::string::npos) << "the API key is never logged";
    EXPECT_EQ(log.find("not-the-key"), std::string::npos) << "nor a wrong one";
    EXPECT_EQ(log.find("query-secret-xyz"), std::string::npos) << "nor a query";
    EXPECT_EQ(log.find("Bearer"), std::string::npos);
}

TEST(Logs, JsonEscapesEverything) {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    for (const std::string text : {std::string("plain"), std::string("a \"quoted\"\nline\\"), all,
                                   std::string("\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"),
                                   std::string("\xED\xA0\x80 \xC0\xAF \xF5")}) {
        std::string out;
        lp::app::append_json_string(out, text);
        json::error_code ec;
        const auto v = json::parse(out, ec);
        ASSERT_FALSE(ec) << out;
        ASSERT_TRUE(v.is_string());
        if (text == "plain" || text[0] == 'a' || text[0] == '\xE4')
            EXPECT_EQ(std::string(v.as_string()), text);
    }
}

// docs/operations.md "Reloading": its two key lists are exactly the schema's.
TEST(Reload, DocsListTheSchemasLiveAndRestartKeys) {
    std::ifstream in(std::string(LIVEPUSH_SOURCE_DIR) + "/docs/operations.md");
    const std::string doc{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto listed = [&](const std::string& begin, const std::string& end) {
        std::set<std::string> keys;
        const auto from = doc.find(begin), to = doc.find(end);
        EXPECT_NE(from, std::string::npos) << begin;
        EXPECT_NE(to, std::string::npos) << end;
        if (from == std::string::npos || to == std::string::npos) return keys;
        const std::string part = doc.substr(from, to - from);
        static const std::regex key("`([a-z]+\\.[a-z0-9_]+)`");
        for (std::sregex_iterator it(part.begin(), part.end(), key), e; it != e; ++it)
            keys.insert((*it)[1]);
        return keys;
    };
    std::set<std::string> live, restart;
    for (const auto& k : lp::app::config_schema()) (k.live ? live : restart).insert(k.key);
    EXPECT_EQ(listed("<!-- live keys -->", "<!-- /live keys -->"), live);
    EXPECT_EQ(listed("<!-- restart keys -->", "<!-- /restart keys -->"), restart);
}

}  // namespace
