// tests/plugins/pk_test: the pk plugin's state machine, scores and pushes, run on the host's
// real MemoryStore, MemoryJobQueue and JobRunner. The Pusher is the boundary the plugin talks
// to: a recording one, and the tests assert on what it recorded. Several tests run two plugin
// instances ("nodes") on one store and one job queue, as a cluster shares Redis.
//
// Durations are short (invite 300 ms, scoring 500 ms, penalty 300 ms) and real: the runner
// ticks every 20 ms and deadlines must be met within 200 ms.
//
// Over 600 lines (about 1,000): the PK state machine's phases, scores, timers and node failures
// share the two-node fixture; the next split is phases and scores apart from failures.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plugins/host/job_runner.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "plugins/pk/gift_event.hpp"
#include "plugins/pk/pk_plugin.hpp"
#include "sdk_doubles.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::plugins {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::int64_t now_ms() {
    return system_now_ms();
}

// ---------------------------------------------------------------- test doubles

struct RecordedPush {
    enum class To { user, room } to = To::user;
    std::uint64_t target = 0;
    std::string type;
    std::string payload;
    int qos = 0;
    std::int64_t at_ms = 0;

    json::object body() const { return json::parse(payload).as_object(); }
    std::string pk_id() const { return std::string(body().at("pk_id").as_string()); }
    std::int64_t state() const { return body().at("state").to_number<std::int64_t>(); }
    std::uint64_t version() const { return body().at("version").to_number<std::uint64_t>(); }
};

class RecordingPusher final : public sdk::Pusher {
public:
    sdk::PushResult to_user(std::uint64_t user, const std::string& type, const std::string& payload,
                            const sdk::PushOptions& opts) override {
        return record(RecordedPush::To::user, user, type, payload, opts.qos);
    }
    sdk::PushResult to_users(const std::vector<std::uint64_t>& users, const std::string& type,
                             const std::string& payload, const sdk::PushOptions& opts) override {
        for (auto u : users) record(RecordedPush::To::user, u, type, payload, opts.qos);
        return {true, {}, 1, users.size(), 0};
    }
    sdk::PushResult to_room(std::uint64_t room, const std::string& type, const std::string& payload,
                            const sdk::PushOptions& opts) override {
        return record(RecordedPush::To::room, room, type, payload, opts.qos);
    }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override {
        return users;
    }

    std::vector<RecordedPush> all() {
        std::lock_guard lock(mu_);
        return pushes_;
    }
    // The pushes of `type` about `pk_id`, in the order they were made.
    std::vector<RecordedPush> of(const std::string& pk_id, const std::string& type) {
        std::vector<RecordedPush> out;
        for (auto& p : all()) {
            if (p.type == type && p.pk_id() == pk_id) out.push_back(p);
        }
        return out;
    }

private:
    sdk::PushResult record(RecordedPush::To to, std::uint64_t target, const std::string& type,
                           const std::string& payload, int qos) {
        std::lock_guard lock(mu_);
        pushes_.push_back({to, target, type, payload, qos, now_ms()});
        return {true, {}, pushes_.size(), 1, 0};
    }

    std::mutex mu_;
    std::vector<RecordedPush> pushes_;
};

// CountingMetrics and QuietLog: tests/plugins/sdk_doubles.hpp

// A MemoryStore whose reads come back late (as over a network): what a node read is then
// likely to be stale when it writes, so check-then-act races, the bugs compare_and_set is
// there to prevent, really happen in the race tests instead of hiding in a microsecond window.
class LaggyStore final : public MemoryStoreProxy {
public:
    LaggyStore(std::shared_ptr<MemoryStoreData> data, std::string prefix,
               std::chrono::microseconds lag)
        : MemoryStoreProxy(std::move(data), std::move(prefix)), lag_(lag) {}

    std::optional<std::string> get(const std::string& key) override {
        return late(MemoryStoreProxy::get(key));
    }
    std::optional<std::string> hget(const std::string& key, const std::string& field) override {
        return late(MemoryStoreProxy::hget(key, field));
    }
    std::optional<std::map<std::string, std::string>> hgetall(const std::string& key) override {
        return late(MemoryStoreProxy::hgetall(key));
    }
    std::optional<double> zscore(const std::string& key, const std::string& member) override {
        return late(MemoryStoreProxy::zscore(key, member));
    }
    std::optional<std::vector<std::pair<std::string, double>>> zrevrange(
        const std::string& key, std::int64_t start, std::int64_t stop) override {
        return late(MemoryStoreProxy::zrevrange(key, start, stop));
    }
    std::optional<std::int64_t> zrevrank(const std::string& key,
                                         const std::string& member) override {
        return late(MemoryStoreProxy::zrevrank(key, member));
    }
    std::optional<std::int64_t> scard(const std::string& key) override {
        return late(MemoryStoreProxy::scard(key));
    }
    std::optional<std::pair<std::string, std::vector<std::string>>> sscan(
        const std::string& key, const std::string& cursor, std::size_t count) override {
        return late(MemoryStoreProxy::sscan(key, cursor, count));
    }
    std::optional<std::vector<std::string>> lrange(const std::string& key, std::int64_t start,
                                                   std::int64_t stop) override {
        return late(MemoryStoreProxy::lrange(key, start, stop));
    }

private:
    template <class T>
    T late(T value) {
        if (lag_.count() > 0) std::this_thread::sleep_for(lag_);
        return value;
    }

    std::chrono::microseconds lag_;
};

// What the nodes of a cluster share: the store's data, the job queue, and (for the tests'
// convenience) one recorder of every push any node makes.
struct Cluster {
    std::shared_ptr<MemoryStoreData> data = std::make_shared<MemoryStoreData>();
    MemoryJobQueue queue;
    RecordingPusher pusher;

    // How many times each job was dispatched, on any node.
    void ran(const std::string& job_id) {
        std::lock_guard lock(mu);
        ++runs[job_id];
    }
    int runs_of(const std::string& job_id) {
        std::lock_guard lock(mu);
        return runs[job_id];
    }
    std::mutex mu;
    std::map<std::string, int> runs;
};

using Config = std::map<std::string, std::string>;

Config short_phases() {
    return {{"invite_timeout_ms", "300"}, {"scoring_ms", "500"}, {"penalty_ms", "300"}};
}

struct NodeOptions {
    bool run_jobs = true;
    std::chrono::milliseconds ttr{30000};
    std::chrono::milliseconds dispatch_delay{0};  // before each job: a slow node
    std::chrono::microseconds read_lag{0};        // see LaggyStore
};

// One node: a PkPlugin with its own context and (optionally) its own JobRunner.
class Node {
public:
    Node(Cluster& cluster, Config config, NodeOptions options = {})
        : cluster_(cluster),
          store_(cluster.data, "plugin:pk:", options.read_lag),
          plugin_(make_pk_plugin()) {
        ctx_.node_id = "node";
        ctx_.cluster = true;
        ctx_.push = &cluster.pusher;
        ctx_.store = &store_;
        ctx_.jobs = &cluster.queue;
        ctx_.log = &log_;
        ctx_.metrics = &metrics_;
        ctx_.config = std::move(config);
        plugin_->start(ctx_);
        if (options.run_jobs) {
            auto delay = options.dispatch_delay;
            runner_ = std::make_unique<JobRunner>(
                cluster.queue,
                [this, delay](const DueJob& job) {
                    if (delay.count() > 0) std::this_thread::sleep_for(delay);
                    plugin_->on_job(job.topic, job.id, job.body);
                    cluster_.ran(job.id);
                },
                JobRunner::Options{20ms, options.ttr, 100});
            runner_->start();
        }
    }
    ~Node() {
        if (runner_) runner_->stop();
        plugin_->stop();
    }

    sdk::Plugin& plugin() { return *plugin_; }
    CountingMetrics& metrics() { return metrics_; }

    sdk::Reply http(const std::string& method, const std::string& path,
                    const std::string& body = "") {
        sdk::HttpRequest req;
        req.method = method;
        req.path = path;
        req.body = body;
        return plugin_->on_http(req);
    }
    sdk::Reply biz(std::uint64_t user, const std::string& type, const std::string& data) {
        sdk::BizRequest req;
        req.user_id = user;
        req.role = "anchor";
        req.type = type;
        req.data_json = data;
        return plugin_->on_biz(req);
    }

    void whitelist(std::uint64_t anchor) {
        auto r =
            http("POST", "/v1/pk/whitelist", R"({"anchor_id":)" + std::to_string(anchor) + "}");
        ASSERT_EQ(r.code, 200) << r.data_json;
    }
    // Invites and returns the pk id (empty when refused).
    std::string invite(std::uint64_t from, std::uint64_t from_room, std::uint64_t to,
                       std::uint64_t to_room, int expect = 200) {
        auto r = http("POST", "/v1/pk/invite",
                      json::serialize(json::object{{"from_anchor", from},
                                                   {"from_room", from_room},
                                                   {"to_anchor", to},
                                                   {"to_room", to_room}}));
        EXPECT_EQ(r.code, expect) << r.data_json;
        if (r.code != 200) return {};
        return std::string(json::parse(r.data_json).at("pk_id").as_string());
    }
    sdk::Reply act(const std::string& pk_id, const std::string& action,
                   const std::string& body = "") {
        return http("POST", "/v1/pk/" + pk_id + "/" + action, body);
    }
    json::object view(const std::string& pk_id) {
        auto r = http("GET", "/v1/pk/" + pk_id);
        EXPECT_EQ(r.code, 200) << r.data_json;
        return json::parse(r.data_json).as_object();
    }
    std::int64_t state(const std::string& pk_id) {
        return view(pk_id).at("state").to_number<std::int64_t>();
    }
    void gift(const std::string& event_id, std::uint64_t anchor, std::uint64_t room,
              const std::string& value_literal) {
        plugin_->on_event("gift", std::to_string(room),
                          R"({"event_id":")" + event_id + R"(","room_id":)" + std::to_string(room) +
                              R"(,"anchor_id":)" + std::to_string(anchor) +
                              R"(,"sender_id":77,"channel_id":1,"gift_id":9,"count":1,"value":)" +
                              value_literal + R"(,"ts_ms":)" + std::to_string(now_ms()) + "}");
    }

private:
    Cluster& cluster_;
    LaggyStore store_;
    QuietLog log_;
    CountingMetrics metrics_;
    sdk::Context ctx_;
    std::unique_ptr<sdk::Plugin> plugin_;
    std::unique_ptr<JobRunner> runner_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3000ms) {
    return lp::testing::eventually(done, timeout, 2ms);
}

std::string text(const json::value& v) {
    return std::string(v.as_string());
}

std::int64_t score_of(const json::object& view, std::uint64_t anchor) {
    return view.at("scores").at(std::to_string(anchor)).to_number<std::int64_t>();
}

// Anchors and rooms: anchor n owns room n + 1000.
constexpr std::uint64_t kA = 11, kB = 12, kC = 13, kD = 14;
constexpr std::uint64_t room(std::uint64_t anchor) {
    return anchor + 1000;
}

class PkTest : public ::testing::Test {
protected:
    void SetUp() override {
        node_ = std::make_unique<Node>(cluster_, short_phases());
        for (auto a : {kA, kB, kC, kD}) node_->whitelist(a);
    }
    void TearDown() override { node_.reset(); }

    Node& node() { return *node_; }
    RecordingPusher& pushes() { return cluster_.pusher; }

    std::string invite_and_accept(std::uint64_t from = kA, std::uint64_t to = kB) {
        auto id = node().invite(from, room(from), to, room(to));
        auto r = node().act(id, "accept", R"({"anchor_id":)" + std::to_string(to) + "}");
        EXPECT_EQ(r.code, 200) << r.data_json;
        return id;
    }
    bool wait_state(const std::string& id, std::int64_t state,
                    std::chrono::milliseconds timeout = 3000ms) {
        return wait_until([&] { return node().state(id) == state; }, timeout);
    }

    // Every pk.state push of `id`, checked to be the right fan-out: per transition (version),
    // qos1 to both anchors and qos0 to both rooms, once each. Returns the states in order.
    std::vector<std::int64_t> state_sequence(const std::string& id, std::uint64_t a,
                                             std::uint64_t b) {
        std::map<std::uint64_t, std::vector<RecordedPush>> by_version;
        for (auto& p : pushes().of(id, "pk.state")) by_version[p.version()].push_back(p);
        std::vector<std::int64_t> states;
        for (auto& [version, list] : by_version) {
            std::multiset<std::pair<int, std::uint64_t>> users, rooms;
            for (auto& p : list) {
                if (p.to == RecordedPush::To::user) {
                    EXPECT_EQ(p.qos, 1) << "state push to an anchor must be qos1";
                    users.insert({p.qos, p.target});
                } else {
                    EXPECT_EQ(p.qos, 0) << "state push to a room must be qos0";
                    rooms.insert({p.qos, p.target});
                }
                EXPECT_EQ(p.state(), list.front().state()) << "one version, one state";
                EXPECT_EQ(p.payload, list.front().payload) << "same payload to everyone";
            }
            EXPECT_EQ(users, (std::multiset<std::pair<int, std::uint64_t>>{{1, a}, {1, b}}))
                << "version " << version;
            EXPECT_EQ(rooms,
                      (std::multiset<std::pair<int, std::uint64_t>>{{0, room(a)}, {0, room(b)}}))
                << "version " << version;
            states.push_back(list.front().state());
        }
        return states;
    }

    Cluster cluster_;
    std::unique_ptr<Node> node_;
};

// ---------------------------------------------------------------- the happy path

TEST_F(PkTest, BattleGoesThroughScoringAndPenaltyToTheHigherScorer) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    ASSERT_FALSE(id.empty());
    auto v = node().view(id);
    EXPECT_EQ(v.at("state"), 0);
    EXPECT_TRUE(v.at("winner").is_null());
    EXPECT_EQ(score_of(v, kA), 0);

    auto r = node().act(id, "accept", R"({"anchor_id":12})");
    ASSERT_EQ(r.code, 200) << r.data_json;
    v = json::parse(r.data_json).as_object();
    EXPECT_EQ(v.at("state"), 1);
    const auto scoring_ends = v.at("phase_ends_at_ms").to_number<std::int64_t>();
    EXPECT_NEAR(static_cast<double>(scoring_ends - now_ms()), 500.0, 100.0);

    node().gift("g1", kA, room(kA), "12.7");
    node().gift("g2", kB, room(kB), "0.3");
    v = node().view(id);
    EXPECT_EQ(score_of(v, kA), 127);
    EXPECT_EQ(score_of(v, kB), 3);

    ASSERT_TRUE(wait_state(id, 2));
    v = node().view(id);
    EXPECT_EQ(text(v.at("winner")), std::to_string(kA));
    EXPECT_EQ(score_of(v, kA), 127);
    const auto penalty_ends = v.at("phase_ends_at_ms").to_number<std::int64_t>();
    EXPECT_GE(penalty_ends - scoring_ends, 300);

    ASSERT_TRUE(wait_state(id, 3));
    v = node().view(id);
    EXPECT_EQ(text(v.at("winner")), std::to_string(kA));
    EXPECT_EQ(score_of(v, kA), 127);
    EXPECT_EQ(score_of(v, kB), 3);
    EXPECT_EQ(v.at("phase_ends_at_ms"), 0);

    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 1, 2, 3}));
    // Each deadline was met within 200 ms.
    auto states = pushes().of(id, "pk.state");
    for (auto& p : states) {
        if (p.state() == 2) {
            EXPECT_LT(p.at_ms - scoring_ends, 200);
        }
        if (p.state() == 3) {
            EXPECT_LT(p.at_ms - penalty_ends, 200);
        }
    }
}

TEST_F(PkTest, InviteeWinsWhenItScoresMore) {
    auto id = invite_and_accept();
    node().gift("g1", kA, room(kA), "0.1");
    node().gift("g2", kB, room(kB), "0.2");
    ASSERT_TRUE(wait_state(id, 2));
    EXPECT_EQ(text(node().view(id).at("winner")), std::to_string(kB));
    ASSERT_TRUE(wait_state(id, 3));
    EXPECT_EQ(text(node().view(id).at("winner")), std::to_string(kB));
}

TEST_F(PkTest, EqualScoresEndInADrawWithoutPenalty) {
    auto id = invite_and_accept();
    node().gift("g1", kA, room(kA), "1.5");
    node().gift("g2", kB, room(kB), "\"1.5\"");
    const auto scoring_ends = node().view(id).at("phase_ends_at_ms").to_number<std::int64_t>();
    ASSERT_TRUE(wait_state(id, 3));
    auto v = node().view(id);
    EXPECT_TRUE(v.at("winner").is_null());
    EXPECT_EQ(v.at("reason"), "draw");
    EXPECT_EQ(score_of(v, kA), 15);
    EXPECT_EQ(score_of(v, kB), 15);
    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 1, 3}));
    EXPECT_LT(pushes().of(id, "pk.state").back().at_ms - scoring_ends, 200);
}

TEST_F(PkTest, NoGiftsAtAllIsADraw) {
    auto id = invite_and_accept();
    ASSERT_TRUE(wait_state(id, 3));
    EXPECT_TRUE(node().view(id).at("winner").is_null());
}

// ---------------------------------------------------------------- invitations

TEST_F(PkTest, RejectedInvitationGoesIdle) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    auto r = node().act(id, "reject", R"({"anchor_id":"12"})");
    ASSERT_EQ(r.code, 200) << r.data_json;
    EXPECT_EQ(node().state(id), 5);
    EXPECT_EQ(node().view(id).at("reason"), "rejected");
    EXPECT_EQ(node().act(id, "reject").code, 409);
    EXPECT_EQ(node().act(id, "accept").code, 409);
    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 5}));
    // The expiry job does nothing afterwards.
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(pushes().of(id, "pk.state").size(), 8u);
}

TEST_F(PkTest, UnansweredInvitationExpiresWithin200msOfItsDeadline) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    const auto deadline = node().view(id).at("phase_ends_at_ms").to_number<std::int64_t>();
    ASSERT_TRUE(wait_until([&] { return pushes().of(id, "pk.state").size() == 8; }));
    auto expired = pushes().of(id, "pk.state").back();
    EXPECT_EQ(expired.state(), 5);
    EXPECT_GE(expired.at_ms, deadline);
    EXPECT_LT(expired.at_ms - deadline, 200);
    EXPECT_EQ(node().view(id).at("reason"), "expired");
    EXPECT_EQ(node().act(id, "accept").code, 409);
    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 5}));
}

TEST_F(PkTest, OnlyTheInviteeMayAnswer) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    EXPECT_EQ(node().act(id, "accept", R"({"anchor_id":11})").code, 403);
    EXPECT_EQ(node().act(id, "reject", R"({"anchor_id":13})").code, 403);
    EXPECT_EQ(node().biz(kA, "pk.accept", R"({"pk_id":")" + id + "\"}").code, 403);
    EXPECT_EQ(node().biz(kC, "pk.reject", R"({"pk_id":)" + id + "}").code, 403);
    EXPECT_EQ(node().state(id), 0);
    EXPECT_EQ(node().biz(kB, "pk.accept", R"({"pk_id":")" + id + "\"}").code, 0);
    EXPECT_EQ(node().state(id), 1);
    EXPECT_EQ(node().biz(kB, "pk.accept", R"({"pk_id":")" + id + "\"}").code, 409);
    EXPECT_EQ(node().act(id, "close").code, 200);
}

TEST_F(PkTest, AnchorsOffTheWhitelistAreRefused) {
    constexpr std::uint64_t kStranger = 99;
    auto r = node().http("POST", "/v1/pk/invite",
                         R"({"from_anchor":99,"from_room":1099,"to_anchor":11,"to_room":1011})");
    EXPECT_EQ(r.code, 403);
    auto err = json::parse(r.data_json).as_object();
    EXPECT_EQ(err.at("code"), 403);
    EXPECT_NE(std::string(err.at("error").as_string()).find("99"), std::string::npos);
    node().invite(kA, room(kA), kStranger, room(kStranger), 403);
    EXPECT_EQ(
        node()
            .biz(kStranger, "pk.invite", R"({"to_anchor":11,"to_room":1011,"from_room":1099})")
            .code,
        403);
    node().whitelist(kStranger);
    auto id = node().invite(kA, room(kA), kStranger, room(kStranger));
    EXPECT_FALSE(id.empty());
    // Taken off the whitelist before accepting: refused too.
    ASSERT_EQ(node().http("POST", "/v1/pk/whitelist/remove", R"({"anchor_id":99})").code, 200);
    EXPECT_EQ(node().act(id, "accept").code, 403);
    auto wl = node().http("GET", "/v1/pk/whitelist/99");
    EXPECT_EQ(json::parse(wl.data_json).at("whitelisted"), false);
}

TEST_F(PkTest, BusyAnchorsCannotStartOrJoinAnotherPk) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    // Both sides of an open invitation are busy.
    node().invite(kA, room(kA), kC, room(kC), 409);
    node().invite(kC, room(kC), kB, room(kB), 409);
    node().invite(kB, room(kB), kC, room(kC), 409);
    EXPECT_EQ(
        node().biz(kC, "pk.invite", R"({"to_anchor":11,"to_room":1011,"from_room":1013})").code,
        409);
    // A refused invite leaves no trace (not even a used id): C and D are free.
    auto other = node().invite(kC, room(kC), kD, room(kD));
    ASSERT_FALSE(other.empty());
    EXPECT_EQ(std::stoull(other), std::stoull(id) + 1);
    EXPECT_EQ(node().act(other, "reject").code, 200);

    // In scoring: still busy.
    ASSERT_EQ(node().act(id, "accept").code, 200);
    node().invite(kC, room(kC), kA, room(kA), 409);
    // Ended (3), closed (4) or idle (5): free again.
    ASSERT_TRUE(wait_state(id, 3));
    auto next = node().invite(kC, room(kC), kA, room(kA));
    ASSERT_FALSE(next.empty());
    EXPECT_EQ(node().act(next, "close").code, 200);
    auto after_close = node().invite(kA, room(kA), kB, room(kB));
    ASSERT_FALSE(after_close.empty());
    EXPECT_EQ(node().act(after_close, "reject").code, 200);
    EXPECT_FALSE(node().invite(kB, room(kB), kA, room(kA)).empty());
}

// ---------------------------------------------------------------- operator close

TEST_F(PkTest, OperatorClosesFromEveryOpenState) {
    // 0 → 4
    auto invited = node().invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(node().act(invited, "close").code, 200);
    EXPECT_EQ(node().state(invited), 4);
    EXPECT_EQ(node().act(invited, "close").code, 200) << "closing again is a no-op";
    EXPECT_EQ(node().act(invited, "accept").code, 409);
    EXPECT_EQ(state_sequence(invited, kA, kB), (std::vector<std::int64_t>{0, 4}));

    // 1 → 4, scores frozen at the close; later gifts and jobs change nothing.
    auto scoring = invite_and_accept(kA, kB);
    node().gift("c1", kA, room(kA), "2");
    ASSERT_EQ(node().act(scoring, "close").code, 200);
    node().gift("c2", kA, room(kA), "2");
    auto v = node().view(scoring);
    EXPECT_EQ(v.at("state"), 4);
    EXPECT_EQ(score_of(v, kA), 20);
    EXPECT_TRUE(v.at("winner").is_null());

    // 2 → 4
    auto penalty = invite_and_accept(kC, kD);
    node().gift("c3", kD, room(kD), "1");
    ASSERT_TRUE(wait_state(penalty, 2));
    ASSERT_EQ(node().act(penalty, "close").code, 200);
    EXPECT_EQ(node().state(penalty), 4);

    std::this_thread::sleep_for(700ms);  // every job of the closed PKs has come and gone
    EXPECT_EQ(state_sequence(scoring, kA, kB), (std::vector<std::int64_t>{0, 1, 4}));
    EXPECT_EQ(state_sequence(penalty, kC, kD), (std::vector<std::int64_t>{0, 1, 2, 4}));
    EXPECT_EQ(node().state(scoring), 4);
    EXPECT_EQ(node().state(penalty), 4);

    // Over already (3 or 5): 409.
    auto rejected = node().invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(node().act(rejected, "reject").code, 200);
    EXPECT_EQ(node().act(rejected, "close").code, 409);
    auto ended = invite_and_accept(kA, kB);
    ASSERT_TRUE(wait_state(ended, 3));
    EXPECT_EQ(node().act(ended, "close").code, 409);
}

// ---------------------------------------------------------------- scores

TEST(PkPoints, EveryTenthOfAUnitIsOnePointExactly) {
    using pk::points_from_value;
    EXPECT_EQ(points_from_value("0.1"), 1);
    EXPECT_EQ(points_from_value("0.3"), 3);
    EXPECT_EQ(points_from_value("12.7"), 127);
    EXPECT_EQ(points_from_value("1000000.9"), 10000009);
    EXPECT_EQ(points_from_value("0.15"), 1);  // rounded down
    EXPECT_EQ(points_from_value("0.05"), 0);
    EXPECT_EQ(points_from_value("5"), 50);
    EXPECT_EQ(points_from_value("5."), 50);
    EXPECT_EQ(points_from_value(".7"), 7);
    EXPECT_EQ(points_from_value("1e3"), 10000);
    EXPECT_EQ(points_from_value("2.5E-1"), 2);
    EXPECT_EQ(points_from_value("0.30000000000000004"), 3);
    EXPECT_EQ(points_from_value("0"), 0);
    EXPECT_EQ(points_from_value("922337203685477580.7"), 9223372036854775807);
    EXPECT_EQ(points_from_value("922337203685477580.8"), std::nullopt);  // over int64
    EXPECT_EQ(points_from_value("1e400"), std::nullopt);
    EXPECT_EQ(points_from_value("1e-400"), 0);
    EXPECT_EQ(points_from_value("-1"), std::nullopt);
    EXPECT_EQ(points_from_value(""), std::nullopt);
    EXPECT_EQ(points_from_value("."), std::nullopt);
    EXPECT_EQ(points_from_value("1.2.3"), std::nullopt);
    EXPECT_EQ(points_from_value("ten"), std::nullopt);
}

TEST(PkPoints, GiftEventKeepsTheValueAsWritten) {
    std::string error;
    auto g = pk::read_gift_event(
        R"({"event_id":"e1","room_id":"5","anchor_id":7,"value":0.3,"extra":{"value":9}})", &error);
    ASSERT_TRUE(g) << error;
    EXPECT_EQ(g->value_text, "0.3");
    EXPECT_EQ(g->anchor_id, 7u);
    EXPECT_EQ(g->room_id, 5u);
    g = pk::read_gift_event(R"({"event_id":42,"anchor_id":"18446744073709551615","value":"12.7"})",
                            &error);
    ASSERT_TRUE(g) << error;
    EXPECT_EQ(g->event_id, "42");
    EXPECT_EQ(g->anchor_id, 18446744073709551615u);
    EXPECT_EQ(g->value_text, "12.7");
    EXPECT_FALSE(pk::read_gift_event(R"({"anchor_id":7,"value":1})", &error));
    EXPECT_FALSE(pk::read_gift_event(R"({"event_id":"x","value":1})", &error));
    EXPECT_FALSE(pk::read_gift_event(R"({"event_id":"x","anchor_id":7})", &error));
    EXPECT_FALSE(pk::read_gift_event(R"([1,2])", &error));
    EXPECT_FALSE(pk::read_gift_event(R"({"event_id":"x",)", &error));
    EXPECT_FALSE(pk::read_gift_event(R"({} {})", &error));
}

TEST_F(PkTest, GiftValuesScoreExactlyAsNumbersAndStrings) {
    Node slow(cluster_, {{"invite_timeout_ms", "5000"}, {"scoring_ms", "5000"}});
    auto id = slow.invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(slow.act(id, "accept").code, 200);
    slow.gift("n1", kA, room(kA), "0.1");
    slow.gift("n2", kA, room(kA), "0.3");
    slow.gift("n3", kA, room(kA), "12.7");
    slow.gift("n4", kA, room(kA), "1000000.9");
    slow.gift("s1", kB, room(kB), "\"0.1\"");
    slow.gift("s2", kB, room(kB), "\"0.3\"");
    slow.gift("s3", kB, room(kB), "\"12.7\"");
    slow.gift("s4", kB, room(kB), "\"1000000.9\"");
    auto v = slow.view(id);
    EXPECT_EQ(score_of(v, kA), 1 + 3 + 127 + 10000009);
    EXPECT_EQ(score_of(v, kB), 1 + 3 + 127 + 10000009);
    slow.gift("bad", kB, room(kB), "\"-3\"");
    slow.gift("zero", kB, room(kB), "0");
    EXPECT_EQ(score_of(slow.view(id), kB), 10000140);
    EXPECT_EQ(slow.metrics().get("gifts_invalid"), 1u);
    EXPECT_EQ(slow.act(id, "close").code, 200);
}

TEST_F(PkTest, OnlyGiftsToItsAnchorsDuringScoringCount) {
    auto id = node().invite(kA, room(kA), kB, room(kB));
    node().gift("before", kA, room(kA), "5");  // state 0: not yet
    ASSERT_EQ(node().act(id, "accept").code, 200);
    node().gift("in", kA, room(kA), "1");
    node().gift("other-anchor", kC, room(kC), "9");  // not in this PK
    EXPECT_EQ(score_of(node().view(id), kA), 10);
    ASSERT_TRUE(wait_state(id, 2));
    node().gift("penalty", kA, room(kA), "7");  // frozen
    node().gift("penalty-b", kB, room(kB), "70");
    auto v = node().view(id);
    EXPECT_EQ(score_of(v, kA), 10);
    EXPECT_EQ(score_of(v, kB), 0);
    ASSERT_TRUE(wait_state(id, 3));
    node().gift("ended", kB, room(kB), "70");
    v = node().view(id);
    EXPECT_EQ(score_of(v, kB), 0);
    EXPECT_EQ(text(v.at("winner")), std::to_string(kA));
}

// The freeze is exact: a gift handled after the scoring deadline does not count, even while
// the scoring-end job has not run yet (the record still says "scoring").
TEST_F(PkTest, GiftsAfterTheScoringDeadlineDoNotCountBeforeTheJobRuns) {
    node_.reset();
    Node n(cluster_, short_phases(), {.run_jobs = false});
    for (auto a : {kA, kB}) n.whitelist(a);
    auto id = n.invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(n.act(id, "accept").code, 200);
    n.gift("on-time", kB, room(kB), "0.1");
    const auto ends = n.view(id).at("phase_ends_at_ms").to_number<std::int64_t>();
    while (now_ms() < ends) std::this_thread::sleep_for(5ms);
    n.gift("late", kA, room(kA), "100");
    EXPECT_EQ(n.state(id), 1);
    EXPECT_EQ(n.metrics().get("gifts_late"), 1u);
    n.plugin().on_job("pk", id + ":scoring", "{}");
    auto v = n.view(id);
    EXPECT_EQ(v.at("state"), 2);
    EXPECT_EQ(score_of(v, kA), 0);
    EXPECT_EQ(score_of(v, kB), 1);
    EXPECT_EQ(text(v.at("winner")), std::to_string(kB));
    EXPECT_EQ(n.act(id, "close").code, 200);
}

TEST_F(PkTest, RedeliveredGiftEventCountsOnce) {
    Node other(cluster_, short_phases(), {.run_jobs = false});
    auto id = invite_and_accept();
    node().gift("dup", kA, room(kA), "1");
    node().gift("dup", kA, room(kA), "1");
    other.gift("dup", kA, room(kA), "1");  // redelivered to another node
    node().gift("dup2", kA, room(kA), "1");
    EXPECT_EQ(score_of(node().view(id), kA), 20);
    EXPECT_EQ(node().metrics().get("gifts_duplicate") + other.metrics().get("gifts_duplicate"), 2u);
    // The same event id in the anchor's next PK is a different gift.
    ASSERT_EQ(node().act(id, "close").code, 200);
    auto next = invite_and_accept();
    node().gift("dup", kA, room(kA), "1");
    EXPECT_EQ(score_of(node().view(next), kA), 10);
    ASSERT_EQ(node().act(next, "close").code, 200);
}

TEST_F(PkTest, ScorePushesAreThrottledAndTheLastCarriesTheFinalScore) {
    Node slow(cluster_, {{"invite_timeout_ms", "5000"}, {"scoring_ms", "5000"}});
    auto id = slow.invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(slow.act(id, "accept").code, 200);
    const auto start = now_ms();
    for (int i = 0; i < 100; ++i) {
        slow.gift("burst" + std::to_string(i), i % 3 ? kA : kB, room(kA), "0.1");
        std::this_thread::sleep_for(1ms);
    }
    const auto burst_end = now_ms();
    auto v = slow.view(id);
    const auto final_a = score_of(v, kA), final_b = score_of(v, kB);
    EXPECT_EQ(final_a + final_b, 100);

    ASSERT_TRUE(wait_until([&] {
        auto s = pushes().of(id, "pk.score");
        if (s.empty()) return false;
        auto last = s.back().body();
        return score_of(last, kA) == final_a && score_of(last, kB) == final_b;
    }));
    std::this_thread::sleep_for(300ms);  // nothing more follows
    auto scores = pushes().of(id, "pk.score");
    std::vector<RecordedPush> to_room_a;
    for (auto& p : scores) {
        EXPECT_EQ(p.to, RecordedPush::To::room);
        EXPECT_EQ(p.qos, 0);
        if (p.target == room(kA)) to_room_a.push_back(p);
    }
    EXPECT_EQ(to_room_a.size() * 2, scores.size()) << "both rooms get every score push";
    int in_burst = 0;
    for (auto& p : to_room_a) in_burst += p.at_ms <= burst_end ? 1 : 0;
    // 100 gifts in about 100 ms: at most 2 pushes (more only if this machine was slower).
    EXPECT_LE(in_burst, 2 + (burst_end - start) / 200)
        << "burst of " << (burst_end - start) << " ms";
    EXPECT_LE(to_room_a.size(), static_cast<std::size_t>(2 + (burst_end - start) / 200 + 1));
    for (std::size_t i = 1; i < to_room_a.size(); ++i) {
        EXPECT_GE(to_room_a[i].at_ms - to_room_a[i - 1].at_ms, 190) << "at most 5 a second";
    }
    auto last = to_room_a.back().body();
    EXPECT_EQ(score_of(last, kA), final_a);
    EXPECT_EQ(last.at("state"), 1);
    EXPECT_EQ(slow.act(id, "close").code, 200);
}

// ---------------------------------------------------------------- requests

TEST_F(PkTest, LongConnectionRequestsWorkLikeTheApi) {
    auto r = node().biz(kA, "pk.invite", R"({"to_anchor":"12","to_room":1012,"from_room":1011})");
    ASSERT_EQ(r.code, 0) << r.message;
    auto view = json::parse(r.data_json).as_object();
    const std::string id(view.at("pk_id").as_string());
    EXPECT_EQ(view.at("anchors"), (json::array{"11", "12"}));
    EXPECT_EQ(view.at("rooms"), (json::array{"1011", "1012"}));
    auto g = node().biz(kC, "pk.get", R"({"pk_id":")" + id + "\"}");
    ASSERT_EQ(g.code, 0);
    EXPECT_EQ(json::parse(g.data_json).at("state"), 0);
    EXPECT_EQ(node().biz(kB, "pk.reject", R"({"pk_id":")" + id + "\"}").code, 0);
    EXPECT_EQ(node().biz(kB, "pk.get", R"({"pk_id":"999999"})").code, 404);
    EXPECT_EQ(node().biz(kB, "pk.get", R"({"pk_id":"x"})").code, 400);
    EXPECT_EQ(node().biz(kB, "pk.get", "not json").code, 400);
    EXPECT_EQ(node().biz(kB, "pk.invite", R"({"to_anchor":11})").code, 400);
    EXPECT_EQ(node().biz(kB, "pk.invite", R"({"to_anchor":12,"to_room":1,"from_room":2})").code,
              400)
        << "cannot invite oneself";
}

TEST_F(PkTest, BadRequestsGetJsonErrorsWithTheRightStatus) {
    auto expect = [&](const std::string& method, const std::string& path, const std::string& body,
                      int status) {
        auto r = node().http(method, path, body);
        EXPECT_EQ(r.code, status) << method << " " << path << " " << body;
        auto err = json::parse(r.data_json).as_object();
        EXPECT_EQ(err.at("code"), status);
        EXPECT_FALSE(err.at("error").as_string().empty());
    };
    expect("POST", "/v1/pk/invite", "{", 400);
    expect("POST", "/v1/pk/invite", "[]", 400);
    expect("POST", "/v1/pk/invite", R"({"from_anchor":11,"from_room":1011,"to_anchor":12})", 400);
    expect("POST", "/v1/pk/invite",
           R"({"from_anchor":-1,"from_room":1011,"to_anchor":12,"to_room":1012})", 400);
    expect("POST", "/v1/pk/invite",
           R"({"from_anchor":1.5,"from_room":1011,"to_anchor":12,"to_room":1012})", 400);
    expect("POST", "/v1/pk/whitelist", R"({"anchor_id":"abc"})", 400);
    expect("GET", "/v1/pk/12345", "", 404);
    expect("POST", "/v1/pk/12345/accept", "", 404);
    expect("POST", "/v1/pk/12345/close", "", 404);
    expect("GET", "/v1/pk/abc", "", 400);
    expect("POST", "/v1/pk/1/explode", "", 404);
    expect("GET", "/v1/pk/invite", "", 405);
    expect("GET", "/v1/pk/1/accept", "", 405);
    auto id = node().invite(kA, room(kA), kB, room(kB));
    expect("POST", "/v1/pk/" + id + "/accept", "{bad", 400);
    expect("POST", "/v1/pk/" + id + "/accept", R"({"anchor_id":"x"})", 400);
    EXPECT_EQ(node().act(id, "close").code, 200);
}

TEST_F(PkTest, PkIdsAreUniqueAcrossNodes) {
    Node other(cluster_, short_phases(), {.run_jobs = false});
    std::set<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        auto a = node().invite(kA, room(kA), kB, room(kB));
        ASSERT_EQ(other.act(a, "close").code, 200);
        auto b = other.invite(kC, room(kC), kD, room(kD));
        ASSERT_EQ(node().act(b, "close").code, 200);
        ids.insert(a);
        ids.insert(b);
    }
    EXPECT_EQ(ids.size(), 10u);
}

// ---------------------------------------------------------------- two nodes racing

// Accept sent around the invitation's deadline on one node while both nodes' runners expire
// it: whichever comes first wins, the other sees 409 or does nothing, and the transition is
// pushed exactly once.
TEST_F(PkTest, AcceptRacingExpiryHappensExactlyOnce) {
    node_.reset();  // two symmetric nodes of their own
    const Config config{{"invite_timeout_ms", "150"}, {"scoring_ms", "10000"}};
    Node n1(cluster_, config, {.read_lag = 1ms});
    Node n2(cluster_, config, {.read_lag = 1ms});
    constexpr int kPairs = 12;
    std::vector<std::uint64_t> from(kPairs), to(kPairs);
    std::vector<std::string> ids(kPairs);
    for (int i = 0; i < kPairs; ++i) {
        from[i] = 100 + 2 * i;
        to[i] = 101 + 2 * i;
        n1.whitelist(from[i]);
        n1.whitelist(to[i]);
        ids[i] = (i % 2 ? n1 : n2).invite(from[i], room(from[i]), to[i], room(to[i]));
        ASSERT_FALSE(ids[i].empty());
    }
    std::vector<int> status(kPairs);
    std::vector<std::thread> threads;
    for (int i = 0; i < kPairs; ++i) {
        const auto deadline = n1.view(ids[i]).at("phase_ends_at_ms").to_number<std::int64_t>();
        threads.emplace_back([&, i, deadline] {
            const auto at = deadline - 6 + i;  // from just before to just after the deadline
            while (now_ms() < at) std::this_thread::sleep_for(std::chrono::microseconds(200));
            status[i] = (i % 2 ? n2 : n1).act(ids[i], "accept").code;
        });
    }
    for (auto& t : threads) t.join();
    std::this_thread::sleep_for(300ms);  // the expiry jobs have run everywhere

    int accepted = 0;
    for (int i = 0; i < kPairs; ++i) {
        auto state = n1.state(ids[i]);
        ASSERT_TRUE(state == 1 || state == 5) << ids[i];
        EXPECT_EQ(status[i] == 200, state == 1) << "accept answered " << status[i];
        if (status[i] != 200) {
            EXPECT_EQ(status[i], 409);
        }
        accepted += state == 1;
        EXPECT_EQ(state_sequence(ids[i], from[i], to[i]), (std::vector<std::int64_t>{0, state}));
        EXPECT_EQ(pushes().of(ids[i], "pk.state").size(), 8u);
    }
    RecordProperty("accepted", accepted);  // typically about half: before the deadline
    for (int i = 0; i < kPairs; ++i) n1.act(ids[i], "close");
}

// Eight anchors on two nodes invite the same anchor at the same moment: one invitation opens,
// the others get 409, and the inviters who lost are free again.
TEST_F(PkTest, ConcurrentInvitesOfOneAnchorOpenOneInvitation) {
    Node n1(cluster_, short_phases(), {.run_jobs = false, .read_lag = 1ms});
    Node n2(cluster_, short_phases(), {.run_jobs = false, .read_lag = 1ms});
    constexpr std::uint64_t kTarget = 300;
    constexpr int kInviters = 8;
    node().whitelist(kTarget);
    for (int i = 0; i < kInviters; ++i) node().whitelist(200 + i);
    std::atomic<int> ready{0};
    std::vector<int> status(kInviters);
    std::vector<std::thread> threads;
    for (int i = 0; i < kInviters; ++i) {
        threads.emplace_back([&, i] {
            ++ready;
            while (ready < kInviters) std::this_thread::yield();
            auto r = (i % 2 ? n2 : n1)
                         .http("POST", "/v1/pk/invite",
                               json::serialize(json::object{{"from_anchor", 200 + i},
                                                            {"from_room", 1200 + i},
                                                            {"to_anchor", kTarget},
                                                            {"to_room", room(kTarget)}}));
            status[i] = r.code;
        });
    }
    for (auto& t : threads) t.join();
    int winner = -1;
    for (int i = 0; i < kInviters; ++i) {
        if (status[i] == 200) {
            EXPECT_EQ(winner, -1) << "two invitations opened";
            winner = i;
        } else {
            EXPECT_EQ(status[i], 409);
        }
    }
    ASSERT_NE(winner, -1);
    // A losing inviter can invite someone else right away.
    const std::uint64_t loser = 200 + (winner == 0 ? 1 : 0);
    auto id = node().invite(loser, 1200 + (loser - 200), kA, room(kA));
    ASSERT_FALSE(id.empty());
    EXPECT_EQ(node().act(id, "close").code, 200);
}

// Phase jobs claimed twice (each node is slower than the TTR, so the queue hands the job to the
// other node as if the first had died, and then both run it): every transition happens once.
// The other node's runner (20 ms tick) must claim within the first run's delay: 200 ms leaves
// room for a loaded CI machine (60 ms once was not enough under the sanitizer suite).
TEST_F(PkTest, PhaseJobsRunTwiceStillTransitionOnce) {
    node_.reset();
    const NodeOptions slower_than_ttr{.run_jobs = true, .ttr = 5ms, .dispatch_delay = 200ms};
    Node slow(cluster_, short_phases(), slower_than_ttr);
    Node fast(cluster_, short_phases(), slower_than_ttr);
    slow.whitelist(kA);
    slow.whitelist(kB);
    auto id = slow.invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(fast.act(id, "accept").code, 200);
    slow.gift("x1", kA, room(kA), "0.5");
    fast.gift("x2", kB, room(kB), "0.4");
    ASSERT_TRUE(wait_until([&] { return slow.state(id) == 3; }));
    std::this_thread::sleep_for(200ms);  // the second runs have finished
    EXPECT_GE(cluster_.runs_of(id + ":scoring"), 2);
    EXPECT_GE(cluster_.runs_of(id + ":penalty"), 2);
    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(text(slow.view(id).at("winner")), std::to_string(kA));
    EXPECT_EQ(score_of(slow.view(id), kA), 5);
    EXPECT_EQ(score_of(slow.view(id), kB), 4);
}

// The same phase-end job run at the same moment on two nodes, and again later (a re-run after
// a TTR), and jobs of phases the PK is not in: one transition each, nothing else.
TEST_F(PkTest, ConcurrentAndRepeatedPhaseJobsAreIdempotent) {
    node_.reset();
    Node n1(cluster_, short_phases(), {.run_jobs = false, .read_lag = 1ms});
    Node n2(cluster_, short_phases(), {.run_jobs = false, .read_lag = 1ms});
    for (auto a : {kA, kB}) n1.whitelist(a);
    auto id = n1.invite(kA, room(kA), kB, room(kB));
    ASSERT_EQ(n2.act(id, "accept").code, 200);
    n1.gift("y", kB, room(kB), "3");

    auto run_both = [&](const std::string& job) {
        std::atomic<int> ready{0};
        auto run = [&](Node& n) {
            ++ready;
            while (ready < 2) std::this_thread::yield();
            n.plugin().on_job("pk", job, "{}");
        };
        std::thread t1(run, std::ref(n1)), t2(run, std::ref(n2));
        t1.join();
        t2.join();
    };
    // Early: the scoring job before its deadline changes nothing (and reschedules itself).
    run_both(id + ":scoring");
    EXPECT_EQ(n1.state(id), 1);
    // Jobs of other phases are no-ops.
    run_both(id + ":invite");
    run_both(id + ":penalty");
    EXPECT_EQ(n1.state(id), 1);

    auto ends = n1.view(id).at("phase_ends_at_ms").to_number<std::int64_t>();
    while (now_ms() < ends) std::this_thread::sleep_for(5ms);
    run_both(id + ":scoring");
    EXPECT_EQ(n1.state(id), 2);
    run_both(id + ":scoring");  // re-run after the fact
    EXPECT_EQ(n1.state(id), 2);

    ends = n1.view(id).at("phase_ends_at_ms").to_number<std::int64_t>();
    while (now_ms() < ends) std::this_thread::sleep_for(5ms);
    run_both(id + ":penalty");
    run_both(id + ":penalty");
    run_both(id + ":scoring");
    EXPECT_EQ(n1.state(id), 3);
    EXPECT_EQ(text(n1.view(id).at("winner")), std::to_string(kB));
    EXPECT_EQ(state_sequence(id, kA, kB), (std::vector<std::int64_t>{0, 1, 2, 3}));
}

// Two nodes each counting half of the gifts, concurrently: the sum is exact.
TEST_F(PkTest, GiftsCountedOnTwoNodesAddUp) {
    Node other(cluster_, short_phases());
    Node slow(cluster_, {{"invite_timeout_ms", "5000"}, {"scoring_ms", "5000"}},
              {.run_jobs = false});
    auto id = slow.invite(kC, room(kC), kD, room(kD));
    ASSERT_EQ(slow.act(id, "accept").code, 200);
    auto send = [&](Node& n, int from) {
        for (int i = from; i < from + 200; ++i) {
            n.gift("e" + std::to_string(i % 300), i % 2 ? kC : kD, room(kC), "0.1");
        }
    };
    std::thread t1(send, std::ref(node()), 0), t2(send, std::ref(other), 100);
    t1.join();
    t2.join();
    // Events e0..e299, e100..e199 sent twice: 300 distinct gifts of 1 point.
    auto v = slow.view(id);
    EXPECT_EQ(score_of(v, kC) + score_of(v, kD), 300);
    EXPECT_EQ(score_of(v, kC), 150);
    EXPECT_EQ(slow.act(id, "close").code, 200);
}

}  // namespace
}  // namespace lp::plugins
