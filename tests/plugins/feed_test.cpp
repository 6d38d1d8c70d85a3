// tests/plugins/feed_test: the feed plugin's follow graph, recent lists and batched fan-out, on
// the host's real MemoryStore, MemoryJobQueue and JobRunner. The Pusher is a recording double
// whose online() answers from a set the test controls. Several tests run two plugin instances
// ("nodes") on one store and one job queue, as a cluster shares Redis, and kill one mid-way.
//
// The big fan-out test loads LP_FEED_BIG_FOLLOWERS followers (default 200,000) and prints its
// timings; run it with 1000000 to measure a million (LP_FEED_TICK_MS sets the runner's tick).
//
// Over 600 lines: the follow graph, the recent lists and the batched fan-out are one plugin whose
// cases share the two-node fixture.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugins/feed/feed_plugin.hpp"
#include "plugins/host/job_runner.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "sdk_doubles.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::plugins {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- test doubles

struct UsersPush {
    std::vector<std::uint64_t> users;
    std::string type;
    std::string payload;
    sdk::PushOptions opts;
    std::string item_id() const {
        return std::string(json::parse(payload).at("item_id").as_string());
    }
};

// Records every push; online() answers from the set the test gives it.
class FeedPusher final : public sdk::Pusher {
public:
    void set_online(std::unordered_set<std::uint64_t> users) {
        std::lock_guard lock(mu_);
        online_ = std::move(users);
    }
    sdk::PushResult to_user(std::uint64_t user, const std::string& type, const std::string& payload,
                            const sdk::PushOptions& opts) override {
        return to_users({user}, type, payload, opts);
    }
    sdk::PushResult to_users(const std::vector<std::uint64_t>& users, const std::string& type,
                             const std::string& payload, const sdk::PushOptions& opts) override {
        std::lock_guard lock(mu_);
        pushes_.push_back({users, type, payload, opts});
        return {true, {}, pushes_.size(), users.size(), 0};
    }
    sdk::PushResult to_room(std::uint64_t, const std::string&, const std::string&,
                            const sdk::PushOptions&) override {
        ADD_FAILURE() << "the feed never pushes to rooms";
        return {};
    }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override {
        std::lock_guard lock(mu_);
        ++online_calls_;
        std::vector<std::uint64_t> out;
        for (auto u : users) {
            if (online_.count(u)) out.push_back(u);
        }
        return out;
    }

    std::vector<UsersPush> pushes() {
        std::lock_guard lock(mu_);
        return pushes_;
    }
    // How many times each user was pushed `item_id`.
    std::unordered_map<std::uint64_t, int> times_pushed(const std::string& item_id) {
        std::unordered_map<std::uint64_t, int> out;
        for (const auto& p : pushes()) {
            if (p.item_id() != item_id) continue;
            for (auto u : p.users) ++out[u];
        }
        return out;
    }

private:
    std::mutex mu_;
    std::unordered_set<std::uint64_t> online_;
    std::vector<UsersPush> pushes_;
    std::uint64_t online_calls_ = 0;
};

// CountingMetrics and QuietLog: tests/plugins/sdk_doubles.hpp

// A MemoryStore whose compare_and_set runs a hook first: the test's way to make a node die
// (throw), lose a race (run another node's job) or meet an unavailable store (return false) at
// the exact point a batch advances.
class ScriptedStore final : public MemoryStoreProxy {
public:
    using MemoryStoreProxy::MemoryStoreProxy;
    // Runs (and is cleared) at the next compare_and_set; false fails that call.
    std::function<bool()> before_cas;

    bool compare_and_set(const std::string& k, const std::optional<std::string>& e,
                         const std::string& d, std::chrono::milliseconds t) override {
        if (before_cas) {
            auto hook = std::move(before_cas);
            before_cas = nullptr;
            if (!hook()) return false;
        }
        return MemoryStoreProxy::compare_and_set(k, e, d, t);
    }
};

// ---------------------------------------------------------------- the cluster and its nodes

struct Cluster {
    std::shared_ptr<MemoryStoreData> data = std::make_shared<MemoryStoreData>();
    MemoryJobQueue queue;
    FeedPusher pusher;
    MemoryStore raw{data, "plugin:feed:"};  // the plugin's keys, for assertions
};

using Config = std::map<std::string, std::string>;

struct NodeOptions {
    bool run_jobs = true;
    std::chrono::milliseconds ttr{30000};
    // Jobs this node runs before it "dies": the next job it claims throws before running (the
    // job stays reserved until its TTR, as when a node dies holding it). -1 = never.
    int job_budget = -1;
    std::chrono::milliseconds tick{20};  // the JobRunner's default
};

class Node {
public:
    Node(Cluster& cluster, Config config, NodeOptions options = {})
        : cluster_(cluster), store_(cluster.data, "plugin:feed:") {
        ctx_.node_id = "node";
        ctx_.cluster = true;
        ctx_.push = &cluster.pusher;
        ctx_.store = &store_;
        ctx_.jobs = &cluster.queue;
        ctx_.log = &log_;
        ctx_.metrics = &metrics_;
        ctx_.config = std::move(config);
        plugin_.start(ctx_);
        if (options.run_jobs) {
            const int budget = options.job_budget;
            runner_ = std::make_unique<JobRunner>(
                cluster.queue,
                [this, budget](const DueJob& job) {
                    if (budget >= 0 && jobs_run_.load() >= budget) {
                        died_ = true;
                        throw std::runtime_error("node died");
                    }
                    plugin_.on_job(job.topic, job.id, job.body);
                    ++jobs_run_;
                },
                JobRunner::Options{options.tick, options.ttr, 100});
            runner_->start();
        }
    }
    ~Node() { kill(); }

    // Stops running jobs (a dead node runs nothing more); jobs it holds wait for their TTR.
    void kill() {
        if (runner_) runner_->stop();
        plugin_.stop();
    }

    FeedPlugin& plugin() { return plugin_; }
    ScriptedStore& store() { return store_; }
    CountingMetrics& metrics() { return metrics_; }
    int jobs_run() const { return jobs_run_.load(); }
    bool died() const { return died_.load(); }

    sdk::Reply http(const std::string& method, const std::string& path,
                    const std::string& body = "", std::map<std::string, std::string> query = {}) {
        sdk::HttpRequest req;
        req.method = method;
        req.path = path;
        req.body = body;
        req.query = std::move(query);
        return plugin_.on_http(req);
    }
    json::object ok(const std::string& method, const std::string& path,
                    const std::string& body = "") {
        auto r = http(method, path, body);
        EXPECT_EQ(r.code, 200) << r.message;
        if (r.code != 200) return {};
        return json::parse(r.data_json).as_object();
    }

    void follow(std::uint64_t user, std::uint64_t anchor) {
        ok("POST", "/v1/feed/follow",
           json::serialize(json::object{{"user_id", user}, {"anchor_id", anchor}}));
    }
    void load_followers(std::uint64_t anchor, std::uint64_t first, std::uint64_t count) {
        for (std::uint64_t at = 0; at < count; at += FeedPlugin::kMaxBulkFollowers) {
            json::array ids;
            const auto n = std::min<std::uint64_t>(count - at, FeedPlugin::kMaxBulkFollowers);
            ids.reserve(n);
            for (std::uint64_t i = 0; i < n; ++i) ids.emplace_back(first + at + i);
            ok("POST", "/v1/feed/followers",
               json::serialize(json::object{{"anchor_id", anchor}, {"user_ids", std::move(ids)}}));
        }
    }
    json::object publish(std::uint64_t anchor, const std::string& text) {
        return ok(
            "POST", "/v1/feed/publish",
            json::serialize(json::object{
                {"anchor_id", anchor}, {"item", json::object{{"kind", "post"}, {"text", text}}}}));
    }
    json::object progress(const std::string& item_id) {
        return ok("GET", "/v1/feed/tasks/" + item_id);
    }
    json::array items(std::uint64_t user) {
        return ok("GET", "/v1/feed/users/" + std::to_string(user)).at("items").as_array();
    }

private:
    Cluster& cluster_;
    ScriptedStore store_;
    QuietLog log_;
    CountingMetrics metrics_;
    sdk::Context ctx_;
    FeedPlugin plugin_;
    std::unique_ptr<JobRunner> runner_;
    std::atomic<int> jobs_run_{0};
    std::atomic<bool> died_{false};
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10000ms) {
    return lp::testing::eventually(done, timeout, 2ms);
}

std::string text(const json::value& v) {
    return std::string(v.as_string());
}
std::uint64_t num(const json::object& o, const char* field) {
    return o.at(field).to_number<std::uint64_t>();
}

bool task_done(Node& node, const std::string& item_id) {
    auto r = node.http("GET", "/v1/feed/tasks/" + item_id);
    return r.code == 200 && json::parse(r.data_json).at("done").as_bool();
}

// The task record as the store holds it (readable while no node serves HTTP).
json::object stored_task(Cluster& c, const std::string& item_id) {
    auto t = c.raw.get("task:" + item_id);
    EXPECT_TRUE(t);
    return t ? json::parse(*t).as_object() : json::object{};
}

// How many times `item_id` is in `user`'s raw recent list (before the read dedupe).
int times_listed(Cluster& c, std::uint64_t user, const std::string& item_id) {
    auto list = c.raw.lrange("recent:" + std::to_string(user), 0, -1);
    return list ? static_cast<int>(std::count(list->begin(), list->end(), item_id)) : 0;
}

constexpr std::uint64_t kAnchor = 7;
constexpr std::uint64_t kFirstFan = 100000;  // followers are kFirstFan, kFirstFan + 1, ...

// Every follower in [kFirstFan, kFirstFan + n) in its recent list and, if online (even ids),
// pushed: exactly once, except those in `may_repeat` (a batch that ran twice), which may have
// it twice. Offline followers are never pushed.
void expect_each_follower_once(Cluster& c, const std::string& item, std::uint64_t n,
                               const std::set<std::uint64_t>& may_repeat = {}) {
    auto pushed = c.pusher.times_pushed(item);
    std::uint64_t missed = 0, doubled = 0, unexpected = 0;
    for (std::uint64_t u = kFirstFan; u < kFirstFan + n; ++u) {
        const bool online = u % 2 == 0;
        const int listed = times_listed(c, u, item);
        const int got = pushed.count(u) ? pushed[u] : 0;
        if (listed == 0 || (online && got == 0)) ++missed;
        if (!may_repeat.count(u) && (listed > 1 || got > 1)) ++doubled;
        if (!online && got > 0) ++unexpected;
    }
    EXPECT_EQ(missed, 0u);
    EXPECT_EQ(doubled, 0u);
    EXPECT_EQ(unexpected, 0u) << "offline followers were pushed";
}

std::unordered_set<std::uint64_t> even_fans(std::uint64_t n) {
    std::unordered_set<std::uint64_t> out;
    for (std::uint64_t u = kFirstFan; u < kFirstFan + n; u += 2) out.insert(u);
    return out;
}

// ---------------------------------------------------------------- follow, push, pull

TEST(FeedTest, PushesOnlyOnlineFollowersWithTheFeedOptions) {
    Cluster c;
    Node node(c, {});
    for (std::uint64_t u = 10; u < 20; ++u) node.follow(u, kAnchor);
    node.follow(50, 8);  // another anchor's follower
    c.pusher.set_online({10, 12, 14, 50, 99});

    auto r = node.publish(kAnchor, "going live");
    const std::string item = text(r.at("item_id"));
    EXPECT_EQ(num(r, "followers"), 10u);
    EXPECT_EQ(num(r, "batches"), 1u);
    ASSERT_TRUE(wait_until([&] { return task_done(node, item); }));

    auto pushes = c.pusher.pushes();
    ASSERT_EQ(pushes.size(), 1u);
    const auto& p = pushes[0];
    EXPECT_EQ(std::set<std::uint64_t>(p.users.begin(), p.users.end()),
              (std::set<std::uint64_t>{10, 12, 14}));
    EXPECT_EQ(p.type, "feed.item");
    EXPECT_EQ(p.opts.qos, 1);
    EXPECT_TRUE(p.opts.online_only);
    EXPECT_TRUE(p.opts.outside_rooms_only);
    auto payload = json::parse(p.payload).as_object();
    EXPECT_EQ(text(payload.at("item_id")), item);
    EXPECT_EQ(text(payload.at("anchor_id")), "7");
    EXPECT_EQ(text(payload.at("text")), "going live");
    EXPECT_EQ(text(payload.at("kind")), "post");
    EXPECT_GT(payload.at("ts_ms").to_number<std::int64_t>(), 0);

    auto progress = node.progress(item);
    EXPECT_TRUE(progress.at("done").as_bool());
    EXPECT_EQ(num(progress, "batches_done"), 1u);
    EXPECT_EQ(num(progress, "followers_done"), 10u);
    EXPECT_EQ(num(progress, "online"), 3u);
    EXPECT_EQ(num(progress, "total"), 10u);
}

TEST(FeedTest, EveryFollowerOnlineOrNotFindsTheItemsNewestFirst) {
    Cluster c;
    Node node(c, {});
    for (std::uint64_t u : {21, 22, 23}) node.follow(u, kAnchor);
    c.pusher.set_online({21});

    const auto first = text(node.publish(kAnchor, "one").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return task_done(node, first); }));
    const auto second = text(node.publish(kAnchor, "two").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return task_done(node, second); }));

    for (std::uint64_t u : {21, 22, 23}) {
        auto items = node.items(u);
        ASSERT_EQ(items.size(), 2u) << "user " << u;
        EXPECT_EQ(text(items[0].at("item_id")), second);
        EXPECT_EQ(text(items[1].at("item_id")), first);
        EXPECT_EQ(text(items[0].at("text")), "two");
        EXPECT_EQ(text(items[0].at("anchor_id")), "7");
    }
    EXPECT_TRUE(node.items(24).empty());  // not a follower
}

TEST(FeedTest, UnfollowedUsersGetNothingAndUnfollowingTwiceIsFine) {
    Cluster c;
    Node node(c, {});
    node.follow(31, kAnchor);
    node.follow(32, kAnchor);
    c.pusher.set_online({31, 32});
    auto body = json::serialize(json::object{{"user_id", "32"}, {"anchor_id", "7"}});
    EXPECT_EQ(node.http("POST", "/v1/feed/unfollow", body).code, 200);
    EXPECT_EQ(node.http("POST", "/v1/feed/unfollow", body).code, 200);

    const auto item = text(node.publish(kAnchor, "x").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return task_done(node, item); }));
    auto pushed = c.pusher.times_pushed(item);
    EXPECT_EQ(pushed.count(31), 1u);
    EXPECT_EQ(pushed.count(32), 0u);
    EXPECT_EQ(node.items(31).size(), 1u);
    EXPECT_TRUE(node.items(32).empty());
}

TEST(FeedTest, RecentListKeepsTheNewestRecentMax) {
    Cluster c;
    Node node(c, {{"recent_max", "3"}});
    node.follow(41, kAnchor);
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(text(node.publish(kAnchor, "n" + std::to_string(i)).at("item_id")));
        ASSERT_TRUE(wait_until([&] { return task_done(node, ids.back()); }));
    }
    auto items = node.items(41);
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(text(items[0].at("item_id")), ids[4]);
    EXPECT_EQ(text(items[2].at("item_id")), ids[2]);
    auto limited = node.http("GET", "/v1/feed/users/41", "", {{"limit", "1"}});
    EXPECT_EQ(json::parse(limited.data_json).at("items").as_array().size(), 1u);
}

TEST(FeedTest, PublishToNoFollowersIsDoneAtOnce) {
    Cluster c;
    Node node(c, {});
    auto r = node.publish(kAnchor, "alone");
    EXPECT_EQ(num(r, "followers"), 0u);
    EXPECT_EQ(num(r, "batches"), 0u);
    EXPECT_TRUE(node.progress(text(r.at("item_id"))).at("done").as_bool());
    EXPECT_EQ(c.queue.pending(), 0u);
}

TEST(FeedTest, BadRequestsSayWhatToFix) {
    Cluster c;
    Node node(c, {{"max_item_bytes", "1024"}});
    auto code = [&](const std::string& method, const std::string& path, const std::string& body) {
        return node.http(method, path, body).code;
    };
    EXPECT_EQ(code("POST", "/v1/feed/follow", "{nope"), 400);
    EXPECT_EQ(code("POST", "/v1/feed/follow", R"({"user_id":1})"), 400);
    EXPECT_EQ(code("POST", "/v1/feed/follow", R"({"user_id":0,"anchor_id":7})"), 400);
    EXPECT_EQ(code("POST", "/v1/feed/follow", R"({"user_id":"x","anchor_id":7})"), 400);
    EXPECT_EQ(code("POST", "/v1/feed/publish", R"({"anchor_id":7,"item":"text"})"), 400);
    EXPECT_EQ(code("POST", "/v1/feed/publish",
                   R"({"anchor_id":7,"item":{"text":")" + std::string(2000, 'a') + "\"}}"),
              413);
    EXPECT_EQ(code("GET", "/v1/feed/users/abc", ""), 400);
    EXPECT_EQ(code("GET", "/v1/feed/tasks/424242", ""), 404);
    EXPECT_EQ(code("GET", "/v1/feed/nothing", ""), 404);

    auto bad =
        node.http("POST", "/v1/feed/followers", R"({"anchor_id":7,"user_ids":[1,2,"three"]})");
    EXPECT_EQ(bad.code, 400);
    EXPECT_NE(bad.message.find("user_ids\"[2]"), std::string::npos) << bad.message;
    EXPECT_EQ(c.raw.scard("followers:7").value_or(-1), 0) << "a rejected load adds nothing";

    json::array many;
    for (int i = 1; i <= 100001; ++i) many.emplace_back(i);
    EXPECT_EQ(code("POST", "/v1/feed/followers",
                   json::serialize(json::object{{"anchor_id", 7}, {"user_ids", std::move(many)}})),
              400);
}

TEST(FeedTest, BulkLoadIsAdditive) {
    Cluster c;
    Node node(c, {});
    node.load_followers(kAnchor, 1, 1000);
    node.load_followers(kAnchor, 501, 1000);  // half overlaps
    EXPECT_EQ(c.raw.scard("followers:7").value_or(-1), 1500);
}

// ---------------------------------------------------------------- batches and resume

constexpr std::uint64_t kFans = 25000;

TEST(FeedFanoutTest, TwentyFiveThousandFollowersGoOutInTwentyFiveBatchesEachFollowerOnce) {
    Cluster c;
    Node node(c, {{"batch_size", "1000"}});
    node.load_followers(kAnchor, kFirstFan, kFans);
    c.pusher.set_online(even_fans(kFans));

    auto r = node.publish(kAnchor, "big");
    const auto item = text(r.at("item_id"));
    EXPECT_EQ(num(r, "followers"), kFans);
    EXPECT_EQ(num(r, "batches"), 25u);
    ASSERT_TRUE(wait_until([&] { return task_done(node, item); }));

    auto progress = node.progress(item);
    EXPECT_EQ(num(progress, "batches_done"), 25u);
    EXPECT_EQ(num(progress, "followers_done"), kFans);
    EXPECT_EQ(num(progress, "online"), kFans / 2);
    EXPECT_EQ(node.jobs_run(), 25);
    for (const auto& p : c.pusher.pushes()) EXPECT_LE(p.users.size(), 1000u);
    expect_each_follower_once(c, item, kFans);
}

TEST(FeedFanoutTest, ASecondNodeFinishesAFanOutTheFirstLeftMidway) {
    Cluster c;
    const Config config{{"batch_size", "1000"}};
    // Node A runs 7 batches, then dies holding the 8th job (reserved for 300 ms).
    auto a = std::make_unique<Node>(c, config, NodeOptions{true, 300ms, 7});
    a->load_followers(kAnchor, kFirstFan, kFans);
    c.pusher.set_online(even_fans(kFans));
    const auto item = text(a->publish(kAnchor, "resume me").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return a->died(); }));
    a->kill();
    auto midway = stored_task(c, item);
    EXPECT_FALSE(midway.at("done").as_bool());
    EXPECT_EQ(num(midway, "batches_done"), 7u);
    EXPECT_EQ(num(midway, "followers_done"), 7000u);

    // Node B: another plugin instance on the same store and queue picks it up after the TTR.
    Node b(c, config);
    ASSERT_TRUE(wait_until([&] { return task_done(b, item); }));
    auto progress = b.progress(item);
    EXPECT_EQ(num(progress, "batches_done"), 25u);
    EXPECT_EQ(num(progress, "followers_done"), kFans);
    EXPECT_EQ(b.jobs_run(), 18);
    expect_each_follower_once(c, item, kFans);
}

TEST(FeedFanoutTest, ABatchCutShortByANodeDeathIsRedoneNotSkipped) {
    Cluster c;
    const Config config{{"batch_size", "1000"}};
    auto a = std::make_unique<Node>(c, config, NodeOptions{true, 300ms, -1});
    a->load_followers(kAnchor, kFirstFan, kFans);
    c.pusher.set_online(even_fans(kFans));
    // Batch 1 (the second) dies after its pushes and list writes, before it advances the task.
    int cas_calls = 0;
    std::function<void()> arm = [&] {
        a->store().before_cas = [&] {
            if (++cas_calls == 2) throw std::runtime_error("node died mid-batch");
            arm();
            return true;
        };
    };
    arm();
    const auto item = text(a->publish(kAnchor, "crash").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return cas_calls >= 2; }));
    a->kill();
    EXPECT_EQ(num(stored_task(c, item), "batches_done"), 1u);

    Node b(c, config);
    ASSERT_TRUE(wait_until([&] { return task_done(b, item); }));
    auto progress = b.progress(item);
    EXPECT_EQ(num(progress, "batches_done"), 25u);
    EXPECT_EQ(num(progress, "followers_done"), kFans);
    // The cut-short batch (the second thousand in member order) may reach its followers twice;
    // everyone else exactly once, nobody missed.
    std::set<std::uint64_t> redone;
    auto members = c.raw.sscan("followers:7", "0", 2000);
    ASSERT_TRUE(members);
    for (std::size_t i = 1000; i < members->second.size(); ++i)
        redone.insert(std::stoull(members->second[i]));
    expect_each_follower_once(c, item, kFans, redone);
    // The read side shows a twice-written item once.
    const auto twice = *redone.begin();
    EXPECT_EQ(times_listed(c, twice, item), 2);
    EXPECT_EQ(b.items(twice).size(), 1u);
}

TEST(FeedFanoutTest, TwoRunsOfTheSameBatchAdvanceTheTaskOnce) {
    Cluster c;
    const Config config{{"batch_size", "1000"}};
    Node a(c, config, NodeOptions{false});
    Node b(c, config, NodeOptions{false});
    a.load_followers(kAnchor, kFirstFan, 3000);
    c.pusher.set_online(even_fans(3000));
    const auto item = text(a.publish(kAnchor, "race").at("item_id"));

    // A reads the task, does batch 0, and just before it advances the task, B (a TTR re-run of
    // the same job) runs batch 0 completely. A's compare_and_set must fail: batch 0 counted once.
    a.store().before_cas = [&] {
        b.plugin().on_job("feed", item, item);
        return true;
    };
    a.plugin().on_job("feed", item, item);
    auto after = a.progress(item);
    EXPECT_EQ(num(after, "batches_done"), 1u);
    EXPECT_EQ(num(after, "followers_done"), 1000u);
    EXPECT_EQ(a.metrics().get("batch_races"), 1u);

    a.plugin().on_job("feed", item, item);
    b.plugin().on_job("feed", item, item);
    auto done = a.progress(item);
    EXPECT_TRUE(done.at("done").as_bool());
    EXPECT_EQ(num(done, "batches_done"), 3u);
    EXPECT_EQ(num(done, "followers_done"), 3000u);
    a.plugin().on_job("feed", item, item);  // a stale re-run of a finished task does nothing
    EXPECT_EQ(num(a.progress(item), "batches_done"), 3u);
}

TEST(FeedFanoutTest, AStoreFailureWhileAdvancingRetriesTheBatch) {
    Cluster c;
    Node node(c, {{"batch_size", "1000"}});
    node.load_followers(kAnchor, kFirstFan, 3000);
    c.pusher.set_online(even_fans(3000));
    node.store().before_cas = [] { return false; };  // the first advance fails: store down
    const auto item = text(node.publish(kAnchor, "retry").at("item_id"));
    ASSERT_TRUE(wait_until([&] { return task_done(node, item); }));
    auto progress = node.progress(item);
    EXPECT_EQ(num(progress, "batches_done"), 3u);
    EXPECT_EQ(num(progress, "followers_done"), 3000u);
    EXPECT_EQ(node.metrics().get("batch_retries"), 1u);
    // The failed batch ran twice (at least once); nobody was skipped.
    std::set<std::uint64_t> first_batch;
    for (std::uint64_t u = kFirstFan; u < kFirstFan + 1000; ++u) first_batch.insert(u);
    expect_each_follower_once(c, item, 3000, first_batch);
}

TEST(FeedFanoutTest, AFanOutWhoseItemExpiredEndsInsteadOfRetryingForever) {
    Cluster c;
    Node node(c, {}, NodeOptions{false});
    node.load_followers(kAnchor, kFirstFan, 10);
    const auto item = text(node.publish(kAnchor, "gone").at("item_id"));
    c.raw.del("item:" + item);
    node.plugin().on_job("feed", item, item);
    EXPECT_TRUE(node.progress(item).at("done").as_bool());
    EXPECT_TRUE(c.pusher.pushes().empty());
    EXPECT_EQ(node.metrics().get("batch_retries"), 0u);
}

// ---------------------------------------------------------------- scale

TEST(FeedScaleTest, BigFanOutPublishReturnsAtOnceAndCompletesInBoundedTime) {
    std::uint64_t n = 200000;
    if (const char* env = std::getenv("LP_FEED_BIG_FOLLOWERS")) n = std::stoull(env);
    NodeOptions options;
    if (const char* env = std::getenv("LP_FEED_TICK_MS"))
        options.tick = std::chrono::milliseconds(std::stoll(env));
    Cluster c;
    Node node(c, {}, options);
    const auto load_start = Clock::now();
    node.load_followers(kAnchor, kFirstFan, n);
    const auto load_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();
    c.pusher.set_online(even_fans(n));

    const auto publish_start = Clock::now();
    auto r = node.publish(kAnchor, "finals tonight");
    const auto publish_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - publish_start).count();
    const auto item = text(r.at("item_id"));
    EXPECT_EQ(num(r, "followers"), n);
    EXPECT_LT(publish_ms, 50.0) << "publish must not walk the followers";

    ASSERT_TRUE(wait_until([&] { return task_done(node, item); }, 60000ms));
    const auto fanout_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - publish_start).count();
    auto progress = node.progress(item);
    EXPECT_EQ(num(progress, "followers_done"), n);
    EXPECT_EQ(num(progress, "online"), n / 2);
    std::uint64_t pushed = 0;
    for (const auto& p : c.pusher.pushes()) pushed += p.users.size();
    EXPECT_EQ(pushed, n / 2);
    std::cout << "[ feed ] " << n << " followers, runner tick " << options.tick.count()
              << " ms: bulk load " << load_ms << " ms, publish answered in " << publish_ms
              << " ms, fan-out done in " << fanout_ms << " ms (" << num(progress, "batches_done")
              << " batches)\n";
    RecordProperty("followers", std::to_string(n));
    RecordProperty("publish_ms", std::to_string(publish_ms));
    RecordProperty("fanout_ms", std::to_string(fanout_ms));
}

}  // namespace
}  // namespace lp::plugins
