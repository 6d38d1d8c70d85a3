// tests/integration/plugin_cluster_test: the gift, feed and rank plugins in a cluster: three
// real livepushd nodes sharing a real redis-server (plugin stores and delayed jobs in Redis) and,
// for gift, one Kafka consumer group on librdkafka's mock cluster fed by kcat from another
// process. (PK's cluster test, with a node killed mid-battle, is in pk_e2e_test.)
//   gift: each event is handled once per cluster, whichever node consumes its partition, and
//         its effect reaches the room's members on every node once; duplicates are dropped
//         cluster-wide.
//   feed: only online followers outside rooms are pushed, wherever they are connected; every
//         follower's recent list has the item, read from any node; a fan-out whose nodes are
//         all killed mid-way resumes when one node comes back.
//   rank: one board for the cluster: ties by who reached the count first (to 10 ms), across nodes;
//         switches take effect at once on every node; rank.update reaches a room on another
//         node; last week is settled once.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "../plugins/kafka_mock.hpp"
#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::testing::eventually;
using lp::testing::json_u64;
using namespace std::chrono_literals;

using PluginCluster = lp::testing::ClusterFixture;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string gift_event(const std::string& id, std::uint64_t room, std::uint64_t anchor,
                       std::uint64_t sender, int gift = 5, int count = 1, std::int64_t ts = 0) {
    return "{\"event_id\":\"" + id + "\",\"room_id\":" + std::to_string(room) +
           ",\"anchor_id\":" + std::to_string(anchor) + ",\"sender_id\":" + std::to_string(sender) +
           ",\"channel_id\":7,\"gift_id\":" + std::to_string(gift) +
           ",\"count\":" + std::to_string(count) +
           ",\"value\":\"1.0\",\"ts_ms\":" + std::to_string(ts ? ts : now_ms()) + "}";
}

void produce_with_kcat(const std::string& bootstraps, const std::string& topic,
                       const std::string& lines) {
    // -K: "key<TAB>value" per line, so events spread over partitions by their keys.
    FILE* p = ::popen(
        ("kcat -P -b " + bootstraps + " -t " + topic + " -K '\t' 2>/dev/null").c_str(), "w");
    ASSERT_NE(p, nullptr);
    std::fwrite(lines.data(), 1, lines.size(), p);
    ASSERT_EQ(::pclose(p), 0) << "kcat failed";
}

// Reads pushes of `type` until `quiet` passes without one; returns payload field `field` →
// times seen. qos1 pushes are acked, and a resend of a msg_id already seen (the ack crossed a
// retry while this connection was not being read) counts once, as a client dedupes them.
std::map<std::string, int> collect(Connection& c, const std::string& type, const std::string& field,
                                   std::chrono::milliseconds quiet,
                                   std::size_t until_distinct = 0) {
    std::map<std::string, int> seen;
    std::set<std::uint64_t> msg_ids;
    while (auto f = c.wait_code(lp::codec::Code::Push, quiet)) {
        pb::Push p;
        if (!f->parse(p)) continue;
        if (f->header.flags & lp::codec::kAckRequired) {
            c.ack({p.msg_id()});
            if (!msg_ids.insert(p.msg_id()).second) continue;
        }
        if (p.type() != type) continue;
        const auto v = json::parse(p.payload()).at(field);
        ++seen[v.is_string() ? std::string(v.as_string()) : json::serialize(v)];
        if (until_distinct && seen.size() >= until_distinct) {
            // Keep reading a little: a duplicate arriving late must be seen too.
            quiet = std::min(quiet, 500ms);
            until_distinct = 0;
        }
    }
    return seen;
}

// ------------------------------------------------------------------ gift

TEST_F(PluginCluster, GiftEventsFromKafkaAreHandledOncePerClusterAndReachEveryNode) {
    lp::test::KafkaMockCluster kafka(3);
    kafka.create_topic("gift", 6);
    kafka.create_topic("livepush.upstream", 3);
    start_nodes({"--kafka", kafka.bootstraps(), "--set", "plugins.enabled=gift"});
    std::array<std::unique_ptr<Connection>, 3> members;
    for (int n = 0; n < 3; ++n) {
        members[n] = login(n, 2101 + n);
        auto r = members[n]->biz("room.enter", R"({"room_id":21})");
        ASSERT_TRUE(r && r->code() == 0);
    }
    auto sender = login(2, 2150);
    // The group settles (each node joining makes it rebalance) before the events go in.
    ASSERT_TRUE(eventually(
        [&] {
            double total = 0;
            for (int n = 0; n < 3; ++n) {
                const double p = metric(n, "livepush_kafka_assigned_partitions");
                if (p <= 0) return false;
                total += p;
            }
            return total == 6;
        },
        20s))
        << "the 6 partitions are spread over the 3 nodes";

    // 40 events keyed by their ids (spread over the 6 partitions, so over the 3 consumers), and
    // the first 10 again with other keys: landing on other partitions, other nodes see them.
    constexpr int kEvents = 40, kRepeats = 10;
    std::string lines;
    for (int i = 0; i < kEvents; ++i)
        lines += "k" + std::to_string(i) + "\t" +
                 gift_event("cg-" + std::to_string(i), 21, 2100, 2150) + "\n";
    for (int i = 0; i < kRepeats; ++i)
        lines += "r" + std::to_string(i) + "\t" +
                 gift_event("cg-" + std::to_string(i), 21, 2100, 2150) + "\n";
    produce_with_kcat(kafka.bootstraps(), "gift", lines);

    for (int n = 0; n < 3; ++n) {
        auto seen = collect(*members[n], "gift.effect", "event_id", 15s, kEvents);
        EXPECT_EQ(seen.size(), static_cast<std::size_t>(kEvents))
            << "member on n" << n + 1 << " misses effects";
        for (const auto& [id, times] : seen) EXPECT_EQ(times, 1) << id << " twice on n" << n + 1;
    }
    auto confirmed = collect(*sender, "gift.confirmed", "event_id", 3s, kEvents);
    EXPECT_EQ(confirmed.size(), static_cast<std::size_t>(kEvents))
        << "the sender (on n3) confirms every gift";
    for (const auto& [id, times] : confirmed) EXPECT_EQ(times, 1) << id;

    double handled = 0, duplicates = 0;
    int consuming_nodes = 0;
    for (int n = 0; n < 3; ++n) {
        const double h = metric(n, "livepush_kafka_events_total{result=\"handled\"}");
        handled += h;
        consuming_nodes += h > 0 ? 1 : 0;
        duplicates += metric(n, "livepush_kafka_events_total{result=\"duplicate\"}");
    }
    EXPECT_EQ(handled, kEvents) << "each event handled once across the cluster";
    // At least the repeats; more if a late rebalance handed an uncommitted event to another node
    // (it is read again there and dropped as a duplicate: at least once, handled once).
    EXPECT_GE(duplicates, kRepeats);
    EXPECT_EQ(consuming_nodes, 3) << "the group spreads the partitions over the nodes";
}

// ------------------------------------------------------------------ feed

TEST_F(PluginCluster, FeedReachesOnlineFollowersOutsideRoomsOnEveryNode) {
    start_nodes({"--set", "plugins.enabled=feed"});
    auto outside1 = login(0, 3001);      // n1, no room: pushed
    auto in_room = login(1, 3002);       // n2, in a room: not pushed
    auto room_scene = login(2, 3003);    // n3, scene "room": not pushed
    auto outside3 = login(2, 3005);      // n3, no room: pushed
    auto not_follower = login(1, 3006);  // n2, follows someone else
    ASSERT_TRUE(in_room->biz("room.enter", R"({"room_id":30})"));
    auto s = room_scene->biz("scene.set", R"({"scene":"room"})");
    ASSERT_TRUE(s && s->code() == 0);
    ASSERT_TRUE(outside3->biz("scene.set", R"({"scene":"square"})"));
    // The fan-out reads who is online from the routes, which a LOGIN binds after LOGIN_RESULT.
    for (std::uint64_t u : {3001, 3002, 3003, 3005, 3006}) ASSERT_TRUE(routed(2, u)) << u;
    // Follows through two nodes, one by one and in bulk; 3004 stays offline.
    post(0, "/v1/feed/follow", R"({"user_id":3001,"anchor_id":300})");
    post(1, "/v1/feed/followers", R"({"anchor_id":300,"user_ids":[3002,3003,3004,3005]})");
    post(2, "/v1/feed/follow", R"({"user_id":3006,"anchor_id":301})");

    auto pub = post(2, "/v1/feed/publish", R"({"anchor_id":300,"item":{"title":"live now"}})");
    ASSERT_TRUE(pub.contains("item_id"));
    const std::string item = std::to_string(json_u64(pub.at("item_id")));
    ASSERT_TRUE(
        eventually([&] { return get(0, "/v1/feed/tasks/" + item).at("done").as_bool(); }, 10s));
    auto task = get(1, "/v1/feed/tasks/" + item);
    EXPECT_EQ(json_u64(task.at("followers_done")), 5u);
    EXPECT_EQ(json_u64(task.at("online")), 4u)
        << "3001, 3002, 3003, 3005 are online (3002/3003 are filtered later)";

    for (auto* c : {outside1.get(), outside3.get()}) {
        auto got = collect(*c, "feed.item", "item_id", 3s, 1);
        EXPECT_EQ(got, (std::map<std::string, int>{{item, 1}}))
            << "an online follower outside rooms gets it once";
    }
    for (auto* c : {in_room.get(), room_scene.get(), not_follower.get()}) {
        EXPECT_TRUE(collect(*c, "feed.item", "item_id", 500ms).empty())
            << "in a room, or not a follower: no push";
    }
    // Every follower's recent list has it, read through any node; a non-follower's does not.
    for (std::uint64_t u = 3001; u <= 3006; ++u) {
        auto items = get(static_cast<int>(u % 3), "/v1/feed/users/" + std::to_string(u))
                         .at("items")
                         .as_array();
        const bool has = !items.empty() && std::to_string(json_u64(items[0].at("item_id"))) == item;
        EXPECT_EQ(has, u != 3006) << "recent list of " << u;
    }
}

TEST_F(PluginCluster, AFanOutWhoseNodesAllDieResumesWhenOneComesBack) {
    // The task and its job live in Redis: when every node is killed mid-fan-out, the node that
    // comes back (the claimed batch's TTR, 2 s here, having passed) finishes it where the task
    // record says it was, redoing at most the batch that was running.
    start_nodes({"--set", "plugins.enabled=feed", "--set", "plugins.feed.batch_size=50", "--set",
                 "jobs.ttr_ms=2000"});
    constexpr int kFollowers = 60000, kFirst = 400000;
    for (int chunk = 0; chunk < kFollowers; chunk += 20000) {
        std::string ids;
        for (int i = chunk; i < chunk + 20000; ++i)
            ids += (ids.empty() ? "" : ",") + std::to_string(kFirst + i);
        post(chunk / 20000 % 3, "/v1/feed/followers",
             "{\"anchor_id\":400,\"user_ids\":[" + ids + "]}");
    }
    auto pub = post(0, "/v1/feed/publish", R"({"anchor_id":400,"item":{"title":"resume me"}})");
    const std::string item = std::to_string(json_u64(pub.at("item_id")));
    std::uint64_t done_before = 0;
    ASSERT_TRUE(eventually(
        [&] {
            done_before = json_u64(get(1, "/v1/feed/tasks/" + item).at("followers_done"));
            return done_before > 0;
        },
        10s));
    for (auto& n : nodes_) ::kill(n->pid(), SIGKILL);  // all at once, then reaped
    for (auto& n : nodes_) n->stop(SIGKILL, 2000ms);

    start_node(1);  // one node comes back
    json::object task = get(1, "/v1/feed/tasks/" + item);
    ASSERT_FALSE(task.at("done").as_bool()) << "the kill came mid-way (the fan-out had ended)";
    ASSERT_TRUE(eventually(
        [&] {
            task = get(1, "/v1/feed/tasks/" + item);
            return task.at("done").as_bool();
        },
        30s))
        << "the fan-out resumes on the node that came back: " << json::serialize(task);
    EXPECT_EQ(json_u64(task.at("followers_done")), static_cast<std::uint64_t>(kFollowers));
    for (int u : {kFirst, kFirst + kFollowers / 2, kFirst + kFollowers - 1}) {
        auto items = get(1, "/v1/feed/users/" + std::to_string(u)).at("items").as_array();
        ASSERT_EQ(items.size(), 1u) << "follower " << u << " has the item, once";
        EXPECT_EQ(std::to_string(json_u64(items[0].at("item_id"))), item);
    }
}

TEST_F(PluginCluster, PluginStoresCanLiveOnARedisOfTheirOwn) {
    // cluster.plugin_redis: routes and inboxes on one Redis, plugin stores and delayed jobs on
    // another (a big feed's recent lists must not crowd the routes).
    lp::testing::RedisServer plugin_redis;
    start_nodes({"--set", "plugins.enabled=feed", "--set",
                 "cluster.plugin_redis=127.0.0.1:" + std::to_string(plugin_redis.port())});
    auto follower = login(1, 5001);
    ASSERT_TRUE(routed(2, 5001));
    post(0, "/v1/feed/follow", R"({"user_id":5001,"anchor_id":500})");
    auto pub = post(2, "/v1/feed/publish", R"({"anchor_id":500,"item":{"title":"own redis"}})");
    const std::string item = std::to_string(json_u64(pub.at("item_id")));
    auto got = collect(*follower, "feed.item", "item_id", 5s, 1);
    EXPECT_EQ(got, (std::map<std::string, int>{{item, 1}}))
        << "the fan-out job ran from the plugin Redis";
    auto keys_on = [](std::uint16_t port, const std::string& pattern) {
        std::string out;
        FILE* p =
            ::popen(("redis-cli -p " + std::to_string(port) + " --scan --pattern '" + pattern + "'")
                        .c_str(),
                    "r");
        char buf[4096];
        std::size_t n;
        while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        if (p) ::pclose(p);
        return out;
    };
    EXPECT_NE(keys_on(plugin_redis.port(), "lp:plugin:feed:*"), "")
        << "the feed's keys are on the plugin Redis";
    EXPECT_NE(keys_on(plugin_redis.port(), "lp:{jobs}:*"), "") << "so are the delayed jobs";
    EXPECT_EQ(keys_on(redis_->port(), "lp:plugin:*"), "") << "and none on the routes' Redis";
    EXPECT_NE(keys_on(redis_->port(), "lp:node:*"), "") << "which keeps the cluster's own keys";
    EXPECT_EQ(metric(0, "livepush_plugin_redis_up"), 1);
}

// ------------------------------------------------------------------ rank

TEST_F(PluginCluster, OneWeekStarBoardAcrossNodes) {
    start_nodes({"--set", "plugins.enabled=gift,rank"});
    post(0, "/v1/rank/weekstar/config", R"({"channel_id":7,"gifts":[5],"web":true,"app":true})");
    auto cfg = get(2, "/v1/rank/weekstar/config?channel=7");
    ASSERT_TRUE(cfg.contains("gifts")) << json::serialize(cfg);
    EXPECT_EQ(json::serialize(cfg.at("gifts")), R"(["5"])")
        << "a channel's first config counts at once, on every node";

    auto viewer = login(2, 7001);  // n3, in anchor 701's room
    ASSERT_TRUE(viewer->biz("room.enter", R"({"room_id":7100})"));
    // 702 reaches 3 first (t0), 701 reaches 3 later (t0 + 5 s), each through other nodes and in
    // the opposite order of arrival; 703 has 1; gift 6 is not a week-star gift.
    const std::int64_t t0 = now_ms() - 20000;
    auto rk1 =
        api_[0]->post("/v1/gift/events", gift_event("rk-1", 7100, 701, 9001, 5, 3, t0 + 5000));
    ASSERT_EQ(rk1.status, 202) << rk1.body;
    EXPECT_EQ(json::parse(rk1.body).at("counted").at("rank").at("weekstar"), true) << rk1.body;
    ASSERT_EQ(api_[1]
                  ->post("/v1/gift/events", gift_event("rk-2", 7200, 702, 9002, 5, 2, t0 - 1000))
                  .status,
              202);
    ASSERT_EQ(
        api_[2]->post("/v1/gift/events", gift_event("rk-3", 7200, 702, 9003, 5, 1, t0)).status,
        202);
    ASSERT_EQ(
        api_[2]->post("/v1/gift/events", gift_event("rk-4", 7300, 703, 9001, 5, 1, t0)).status,
        202);
    // Sub-second: 704 reaches 2 at t1 (through n3), 705 50 ms later in the same second (through
    // n1, arriving first): 704 ranks above 705 (a tie by second would order them 705, 704).
    const std::int64_t t1 = t0 / 1000 * 1000 + 100;
    ASSERT_EQ(
        api_[0]->post("/v1/gift/events", gift_event("rk-7", 7400, 705, 9004, 5, 2, t1 + 50)).status,
        202);
    ASSERT_EQ(
        api_[2]->post("/v1/gift/events", gift_event("rk-6", 7400, 704, 9004, 5, 2, t1)).status,
        202);
    auto rk5 = api_[1]->post("/v1/gift/events", gift_event("rk-5", 7300, 703, 9001, 6, 50, t0));
    ASSERT_EQ(rk5.status, 202) << rk5.body;
    EXPECT_EQ(json::parse(rk5.body).at("counted").at("rank").at("weekstar"), false)
        << "the answer says gift 6 counts on no board: " << rk5.body;
    // rk-1 again, through another node: counted once, and answered as a duplicate (the
    // answer's mark is in the shared store).
    auto again =
        api_[2]->post("/v1/gift/events", gift_event("rk-1", 7100, 701, 9001, 5, 3, t0 + 5000));
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(again.body).at("duplicate"), true) << again.body;

    const std::string board = "/v1/rank/weekstar?channel=7&gift=5";
    std::string expected =
        R"([{"user_id":"702","score":3,"rank":1},{"user_id":"701","score":3,"rank":2},)"
        R"({"user_id":"704","score":2,"rank":3},{"user_id":"705","score":2,"rank":4},)"
        R"({"user_id":"703","score":1,"rank":5}])";
    for (int n = 0; n < 3; ++n) {
        ASSERT_TRUE(eventually(
            [&] { return json::serialize(get(n, board).at("entries")) == expected; }, 5s))
            << "n" << n + 1 << ": " << json::serialize(get(n, board));
    }
    // In Redis: a fresh store packs this week at 10 ms, and ZSCORE's text is the exact packed
    // integer, count in the leading digits (count * 10^8 + 99,999,999 - slot).
    const std::string week(get(0, board).at("week").as_string());
    auto redis_cli = [&](const std::string& args) {
        std::string out;
        FILE* p =
            ::popen(("redis-cli -p " + std::to_string(redis_->port()) + " " + args).c_str(), "r");
        char buf[256];
        std::size_t n;
        while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        if (p) ::pclose(p);
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out;
    };
    EXPECT_EQ(redis_cli("GET lp:plugin:rank:weekstar:fine_since"), week);
    const std::string zkey = "lp:plugin:rank:weekstar:realtime:" + week + ":7:5";
    const long long s704 = std::atoll(redis_cli("ZSCORE " + zkey + " 704").c_str());
    const long long s705 = std::atoll(redis_cli("ZSCORE " + zkey + " 705").c_str());
    EXPECT_EQ(s704 / 100'000'000, 2);
    EXPECT_EQ(s704 - s705, 5) << "50 ms = 5 slots of 10 ms: " << s704 << " " << s705;
    // The largest score a board can hold (90,071,991 at slot 0) comes back exactly.
    ASSERT_EQ(redis_cli("ZADD lp:ties:scratch 9007199199999999 top"), "1");
    EXPECT_EQ(redis_cli("ZSCORE lp:ties:scratch top"), "9007199199999999");
    EXPECT_EQ(static_cast<long long>(
                  std::strtod(redis_cli("ZSCORE lp:ties:scratch top").c_str(), nullptr)),
              9007199199999999LL);

    auto me = get(1, board + "&user=701").at("me");
    EXPECT_EQ(json::serialize(me), R"({"user_id":"701","rank":2,"score":3})");
    EXPECT_EQ(get(0, "/v1/rank/weekstar?channel=7&gift=6").at("entries").as_array().size(), 0u)
        << "a gift that is not a week-star gift counts nowhere";

    auto upd = collect(*viewer, "rank.update", "user_id", 3s, 1);
    EXPECT_TRUE(upd.count("701")) << "701's rank.update reaches its room's member on n3";

    // A switch changed through n2 holds at once on n1 and n3.
    post(1, "/v1/rank/weekstar/config", R"({"channel_id":7,"web":false})");
    EXPECT_EQ(api_[0]->get(board + "&platform=web").status, 403);
    EXPECT_EQ(api_[2]->get(board + "&platform=web").status, 403);
    EXPECT_EQ(api_[2]->get(board + "&platform=app").status, 200);

    // Every node ran last week's settlement at start (a boundary no node saw): settled, and
    // the board, which counted nothing then, has no winner; this week's is not settled.
    // Settled once: every node reads the same record, and the week's settlement mark in Redis
    // (the time it was settled) stays as it was when a node starts again and so runs last
    // week's settlement again.
    const std::string settled = "/v1/rank/weekstar/settled?channel=7&gift=5";
    auto first = api_[0]->get(settled);
    ASSERT_EQ(first.status, 200) << first.body;
    EXPECT_TRUE(first.json().at("winner").is_null());
    for (int n = 1; n < 3; ++n) {
        auto r = api_[n]->get(settled);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.body, first.body) << "n" << n + 1 << " reads another settlement";
    }
    const std::string mark =
        "lp:plugin:rank:weekstar:settled_week:" + std::string(first.json().at("week").as_string());
    auto read_mark = [&] {
        std::string out;
        FILE* p = ::popen(
            ("redis-cli -p " + std::to_string(redis_->port()) + " GET " + mark).c_str(), "r");
        char buf[256];
        std::size_t n;
        while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        if (p) ::pclose(p);
        return out;
    };
    const std::string settled_at = read_mark();
    ASSERT_GT(std::atoll(settled_at.c_str()), 0) << mark << " = '" << settled_at << "'";
    start_node(1);
    std::this_thread::sleep_for(1s);  // its start-up settlement job has had time to run
    EXPECT_EQ(read_mark(), settled_at) << "last week was settled a second time";
    for (int n = 0; n < 3; ++n) {
        auto r = api_[n]->get(settled);
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(r.body, first.body) << "the record changed (read on n" << n + 1 << ")";
    }
    const std::string this_week(get(0, board).at("week").as_string());
    EXPECT_EQ(api_[1]->get("/v1/rank/weekstar/settled?channel=7&gift=5&week=" + this_week).status,
              404);
}

}  // namespace
