// tests/load-test/livepush_load_test: runs the livepush-load binary the way docs/benchmarks.md
// and scripts/bench/plugins.sh do, with small counts against a real livepushd on run-time
// ports, and pins what their readers depend on: the exit status, the usage error lines, and the
// fields of the one JSON line (names and order) for the transport (pingpong, idle), publish
// (room, qos1) and plugin (gift) families.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "node_process.hpp"

namespace {

using lp::testing::kTestSecret;
using lp::testing::NodeProcess;

struct LoadRun {
    int status = -1;  // exit status; -1: did not exit normally
    std::string out;
    std::string err;
    boost::json::object report;  // the last line of stdout, when it is a JSON object
};

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs livepush-load ($LP_LIVEPUSH_LOAD when set) with `args` (each quoted for the shell);
// bounded by its own --timeout-s where the test passes one, and by ctest's timeout.
LoadRun run_load(const std::vector<std::string>& args) {
    char dir[] = "/tmp/livepush-load-test-XXXXXX";
    EXPECT_NE(mkdtemp(dir), nullptr);
    const std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
    const char* other = std::getenv("LP_LIVEPUSH_LOAD");  // e.g. the base commit's build
    std::string cmd = "'" + std::string(other && *other ? other : LIVEPUSH_LOAD_PATH) + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " >" + out + " 2>" + err;
    const int rc = std::system(cmd.c_str());
    LoadRun r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    std::remove(out.c_str());
    std::remove(err.c_str());
    rmdir(dir);
    std::size_t end = r.out.find_last_not_of('\n');
    std::size_t start = end == std::string::npos ? 0 : r.out.rfind('\n', end);
    start = start == std::string::npos ? 0 : start + 1;
    if (end != std::string::npos && r.out[start] == '{') {
        boost::system::error_code ec;
        auto v = boost::json::parse(r.out.substr(start, end + 1 - start), ec);
        if (!ec && v.is_object()) r.report = v.as_object();
    }
    return r;
}

std::vector<std::string> keys_of(const boost::json::object& o) {
    std::vector<std::string> keys;
    for (const auto& kv : o) keys.emplace_back(kv.key());
    return keys;
}

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
}

// Every scenario's report starts with these, in this order, and ends with client_peak_rss_kib.
const std::vector<std::string> kHead = {
    "scenario", "transport",       "connections",  "threads",  "logged_in",
    "failed",   "connect_login_s", "logins_per_s", "failures", "dropped",
    "drops",    "kicks",           "error_frames"};

std::vector<std::string> common_args(const NodeProcess& node, const std::string& scenario) {
    return {"--secret",
            kTestSecret,
            "--port",
            std::to_string(node.tcp_port()),
            "--scenario",
            scenario,
            "--connect-phase-s",
            "20",
            "--timeout-s",
            "60"};
}

std::string api_of(const NodeProcess& node) {
    return "127.0.0.1:" + std::to_string(node.api_port());
}

TEST(LivepushLoad, UsageErrorsExitTwoAndSayWhatToFix) {
    struct Case {
        std::vector<std::string> args;
        std::string says;
    };
    const std::vector<Case> cases = {
        {{"--port", "1"}, "--secret is required"},
        {{"--secret", "x", "--scenario", "nope"},
         "--scenario is pingpong, idle, room, qos1, gift, pk, feed or live-room"},
        {{"--secret", "x", "--scenario", "live-room"},
         "live-room needs --api HOST:PORT (the gifts)"},
        {{"--secret", "x", "--scenario", "live-room", "--api", "127.0.0.1:1", "--connections", "10",
          "--senders", "11"},
         "--senders must be between 1 and --connections"},
        {{"--secret", "x", "--scenario", "idle"}, "idle needs --server-pid"},
        {{"--secret", "x", "--scenario", "room"}, "room and qos1 need --api HOST:PORT"},
        {{"--secret", "x", "--scenario", "qos1", "--user-stride", "2", "--api", "127.0.0.1:1"},
         "qos1 and pk need consecutive users: drop --user-stride"},
        {{"--secret", "x", "--source-ips", "1.2.3"}, "bad address in --source-ips: 1.2.3"},
        {{"--secret", "x", "--duration-s", "-1"}, "bad value for --duration-s: -1"},
        {{"--secret", "x", "--scenario", "pk", "--api", "127.0.0.1:1", "--connections", "2"},
         "pk needs --connections >= 3"},
        {{"--secret", "x", "--bogus", "1"}, "unknown option --bogus"},
    };
    for (const Case& c : cases) {
        LoadRun r = run_load(c.args);
        EXPECT_EQ(r.status, 2) << c.says;
        EXPECT_EQ(r.err, "livepush-load: " + c.says + " (see --help)\n");
    }
    LoadRun help = run_load({"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("usage: livepush-load --secret SECRET [options]"), std::string::npos);
}

TEST(LivepushLoad, PingpongAndIdleReportTheirFieldsAndExitZero) {
    NodeProcess node;
    LoadRun ping =
        run_load(with(common_args(node, "pingpong"), {"--connections", "8", "--inflight", "2",
                                                      "--warmup-s", "0.2", "--duration-s", "0.5"}));
    EXPECT_EQ(ping.status, 0) << ping.out << ping.err;
    EXPECT_EQ(keys_of(ping.report), with(kHead, {"inflight", "measured_s", "pongs", "pong_per_s",
                                                 "p50_us", "p99_us", "p999_us", "max_us", "mean_us",
                                                 "unmatched_pongs", "client_peak_rss_kib"}))
        << ping.out;
    EXPECT_EQ(ping.report["logged_in"].as_int64(), 8);
    EXPECT_GT(ping.report["pongs"].as_int64(), 0);

    LoadRun idle = run_load(with(common_args(node, "idle"),
                                 {"--connections", "8", "--server-pid", std::to_string(node.pid()),
                                  "--duration-s", "0.5", "--settle-s", "0.2"}));
    EXPECT_EQ(idle.status, 0) << idle.out << idle.err;
    EXPECT_EQ(keys_of(idle.report),
              with(kHead, {"server_pid", "rss_baseline_kib", "rss_after_kib", "rss_delta_kib",
                           "bytes_per_session", "rss_end_kib", "pongs", "heartbeat_ms",
                           "client_peak_rss_kib"}))
        << idle.out;
}

TEST(LivepushLoad, RoomAndQos1CountEveryPushTheApiAccepted) {
    NodeProcess node;
    const std::vector<std::string> publish = {"--api",        api_of(node), "--rate",    "50",
                                              "--duration-s", "0.5",        "--drain-s", "2"};
    LoadRun room = run_load(with(with(common_args(node, "room"), publish),
                                 {"--connections", "9", "--rooms", "3", "--threads", "2"}));
    EXPECT_EQ(room.status, 0) << room.out << room.err;
    const std::vector<std::string> publisher_fields = {"api_connections",
                                                       "rate",
                                                       "payload_bytes",
                                                       "measured_s",
                                                       "due",
                                                       "sent",
                                                       "accepted",
                                                       "rejected",
                                                       "api_failed",
                                                       "api_statuses",
                                                       "api_first_error",
                                                       "sent_per_s",
                                                       "published_per_s",
                                                       "publisher_behind",
                                                       "deliveries",
                                                       "deliveries_per_s",
                                                       "expected",
                                                       "received",
                                                       "delivered",
                                                       "lost",
                                                       "duplicates",
                                                       "unexpected",
                                                       "unreadable"};
    const std::vector<std::string> latency_fields = {"latency_samples", "latency_sample_every",
                                                     "p50_ms",          "p99_ms",
                                                     "p999_ms",         "max_ms",
                                                     "mean_ms",         "api_p50_ms",
                                                     "api_p99_ms",      "client_cpu_pct",
                                                     "server_cpu_pct",  "server_rss_kib",
                                                     "drain_s",         "client_peak_rss_kib"};
    EXPECT_EQ(keys_of(room.report),
              with(with(with(kHead, publisher_fields),
                        {"rooms", "members", "api_sessions", "other_room", "gaps", "seq_missing"}),
                   latency_fields))
        << room.out;
    EXPECT_EQ(room.report["lost"].as_int64(), 0);
    EXPECT_EQ(room.report["expected"], room.report["delivered"]);

    LoadRun qos1 = run_load(with(with(common_args(node, "qos1"), publish), {"--connections", "6"}));
    EXPECT_EQ(qos1.status, 0) << qos1.out << qos1.err;
    EXPECT_EQ(keys_of(qos1.report),
              with(with(with(kHead, publisher_fields),
                        {"acked", "acked_per_s", "ack_frames", "ack_required", "wrong_session",
                         "offline", "untracked", "target_order"}),
                   latency_fields))
        << qos1.out;
    EXPECT_EQ(qos1.report["lost"].as_int64(), 0);
}

TEST(LivepushLoad, GiftEventsThroughTheApiReachEveryRoomMember) {
    NodeProcess node({"--set", "plugins.enabled=gift"});
    LoadRun gift = run_load(with(common_args(node, "gift"),
                                 {"--api", api_of(node), "--connections", "8", "--rooms", "2",
                                  "--events", "40", "--rate", "200", "--drain-s", "2"}));
    EXPECT_EQ(gift.status, 0) << gift.out << gift.err;
    EXPECT_NE(gift.out.find("\nevents: POST /v1/gift/events rate=200/s rooms=2\n"),
              std::string::npos)
        << gift.out;
    const boost::json::object& r = gift.report;
    ASSERT_TRUE(r.contains("effects_expected")) << gift.out;
    EXPECT_EQ(r.at("effects_expected"), r.at("effects_delivered"));
    EXPECT_EQ(r.at("missing").as_int64(), 0);
    EXPECT_EQ(r.at("distinct_seen").as_int64(), 40);
    EXPECT_EQ(keys_of(r).front(), "scenario");
    EXPECT_EQ(keys_of(r).back(), "client_peak_rss_kib");
}

// The live-room scenario on a node as it is: chat and gifts counted per viewer, every gift and
// every sender's own chat back; likes either summed exactly or, on a node without room.like,
// reported as not supported (not as lost likes), exit status 0 both ways.
TEST(LivepushLoad, LiveRoomCountsClassesGiftsOwnChatsAndLikes) {
    NodeProcess node;
    LoadRun live = run_load(with(common_args(node, "live-room"),
                                 {"--api", api_of(node), "--connections", "12", "--senders", "4",
                                  "--chat-rate", "20", "--like-rate", "4", "--gift-rate", "10",
                                  "--duration-s", "1", "--drain-s", "3", "--room-base", "4242"}));
    EXPECT_EQ(live.status, 0) << live.out << live.err;
    const boost::json::object& r = live.report;
    ASSERT_TRUE(r.contains("gifts_lost")) << live.out;
    EXPECT_EQ(r.at("room_id").as_int64(), 4242);
    EXPECT_EQ(r.at("viewers").as_int64(), 12);
    EXPECT_EQ(r.at("senders").as_int64(), 4);
    EXPECT_EQ(r.at("gifts_accepted").as_int64(), 10);
    EXPECT_EQ(r.at("gifts_lost").as_int64(), 0);
    // Under any budget high is never shed: every gift, plus the room.state pushes of the likes
    // total (high too; the total lives in the room's state).
    EXPECT_GE(r.at("high_min").as_int64(), 10);
    EXPECT_EQ(r.at("chat_sent").as_int64(), 20);
    EXPECT_EQ(r.at("own_seen"), r.at("chat_accepted"));
    EXPECT_EQ(r.at("own_missing").as_int64(), 0);
    EXPECT_EQ(r.at("likes_sent").as_int64(), 4);
    if (r.at("likes_supported").as_bool()) {
        // Counts 1, 2, 3, 1, ... by like number; the node may refuse some over its per-session
        // like rate, so the sum is of the accepted ones.
        EXPECT_GT(r.at("likes_accepted").as_int64(), 0);
        EXPECT_EQ(r.at("likes_expected").as_int64(),
                  r.at("likes_base").as_int64() + r.at("like_count_accepted").as_int64());
        EXPECT_EQ(r.at("viewers_with_likes").as_int64(), 12);
        EXPECT_EQ(r.at("viewers_at_expected"), r.at("viewers_with_likes"));
        EXPECT_EQ(r.at("likes_regressions").as_int64(), 0);
    } else {
        EXPECT_NE(live.out.find("\nlikes: not supported by server"), std::string::npos) << live.out;
    }
    EXPECT_EQ(keys_of(r).front(), "scenario");
    EXPECT_EQ(keys_of(r).back(), "client_peak_rss_kib");
}

}  // namespace
