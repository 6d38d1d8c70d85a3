// tests/plugins/rank_test: week-star boards. ISO weeks across New Year and time zones, then
// the plugin on the host's real MemoryStore, MemoryJobQueue and JobRunner: configured gifts
// only, first-to-reach ties (to 10 ms; a week in progress at the upgrade stays in seconds: the
// packings themselves are in weekstar_score_test.cpp), my rank, config
// timing (first at once, gift changes next week, switches at once), idempotent events,
// settlement at the week boundary and its idempotence, paced rank.update pushes.
//
// Time is a hand-moved clock shared by the plugin and the job queue; events carry their ts_ms.
//
// Over 600 lines: ISO-week arithmetic and the board's tie rules are one plugin's cases; the week
// arithmetic could move to a file of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "plugins/host/job_runner.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "plugins/rank/iso_week.hpp"
#include "plugins/rank/rank_plugin.hpp"
#include "plugins/rank/weekstar_score.hpp"
#include "plugins/rank/zoneinfo.hpp"
#include "sdk_doubles.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::plugins {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace lp::plugins::rank;

// ms since the epoch of a UTC date and time.
std::int64_t utc_ms(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
    return days_from_civil(y, mo, d) * kMsPerDay + ((h * 60LL + mi) * 60 + s) * 1000;
}

// ---------------------------------------------------------------- ISO weeks

TEST(IsoWeekTest, WeeksBelongToTheYearOfTheirThursday) {
    const WeekCalendar utc;
    EXPECT_EQ(utc.week_of(utc_ms(2026, 12, 31, 12)).key(), "2026-W53");
    EXPECT_EQ(utc.week_of(utc_ms(2027, 1, 3, 23, 59, 59)).key(), "2026-W53");  // Sunday
    EXPECT_EQ(utc.week_of(utc_ms(2027, 1, 4)).key(), "2027-W01");
    EXPECT_EQ(utc.week_of(utc_ms(2024, 12, 30)).key(), "2025-W01");
    EXPECT_EQ(utc.week_of(utc_ms(2024, 12, 29, 23, 59, 59)).key(), "2024-W52");
    EXPECT_EQ(utc.week_of(utc_ms(2021, 1, 3)).key(), "2020-W53");
    EXPECT_EQ(utc.week_of(utc_ms(2026, 1, 1)).key(), "2026-W01");  // a Thursday
    EXPECT_EQ(iso_weeks_in_year(2026), 53);
    EXPECT_EQ(iso_weeks_in_year(2027), 52);
    EXPECT_EQ(iso_weeks_in_year(2020), 53);  // leap year starting on a Wednesday

    EXPECT_EQ(utc.start_ms({2026, 53}), utc_ms(2026, 12, 28));
    EXPECT_EQ(utc.end_ms({2026, 53}), utc_ms(2027, 1, 4));
    EXPECT_EQ(next_week({2026, 53}).key(), "2027-W01");
    EXPECT_EQ(previous_week({2025, 1}).key(), "2024-W52");
    EXPECT_EQ(previous_week({2027, 1}).key(), "2026-W53");
}

TEST(IsoWeekTest, EveryDayOfFortyYearsLiesInsideItsWeek) {
    const std::int64_t first = days_from_civil(2000, 1, 1), last = days_from_civil(2040, 12, 31);
    IsoWeek previous = iso_week_of_day(first - 1);
    for (std::int64_t day = first; day <= last; ++day) {
        const IsoWeek w = iso_week_of_day(day);
        const std::int64_t monday = monday_of(w);
        ASSERT_LE(monday, day);
        ASSERT_LT(day, monday + 7);
        ASSERT_GE(w.week, 1);
        ASSERT_LE(w.week, iso_weeks_in_year(w.year));
        ASSERT_TRUE(w == previous || w == next_week(previous)) << day;
        ASSERT_EQ(parse_iso_week(w.key()), w);
        previous = w;
    }
}

TEST(IsoWeekTest, AFixedOffsetMovesTheBoundary) {
    const WeekCalendar china(*parse_utc_offset("+08:00"));
    // Monday 00:00 in +08:00 is Sunday 16:00 UTC.
    EXPECT_EQ(china.week_of(utc_ms(2027, 1, 3, 15, 59, 59)).key(), "2026-W53");
    EXPECT_EQ(china.week_of(utc_ms(2027, 1, 3, 16)).key(), "2027-W01");
    EXPECT_EQ(china.end_ms({2026, 53}), utc_ms(2027, 1, 3, 16));
    const WeekCalendar west(*parse_utc_offset("-05:30"));
    EXPECT_EQ(west.week_of(utc_ms(2027, 1, 4, 5, 29, 59)).key(), "2026-W53");
    EXPECT_EQ(west.week_of(utc_ms(2027, 1, 4, 5, 30)).key(), "2027-W01");
}

TEST(IsoWeekTest, ParsesWeeksAndOffsetsStrictly) {
    EXPECT_EQ(parse_iso_week("2026-W53"), (IsoWeek{2026, 53}));
    EXPECT_EQ(parse_iso_week("2027-w01"), (IsoWeek{2027, 1}));
    EXPECT_FALSE(parse_iso_week("2027-W53"));  // 2027 has 52 weeks
    EXPECT_FALSE(parse_iso_week("2026-W00"));
    EXPECT_FALSE(parse_iso_week("2026-53"));
    EXPECT_FALSE(parse_iso_week("2026-W5"));

    EXPECT_EQ(parse_utc_offset("UTC"), 0);
    EXPECT_EQ(parse_utc_offset("Z"), 0);
    EXPECT_EQ(parse_utc_offset("+08:00"), 8 * 3600 * 1000);
    EXPECT_EQ(parse_utc_offset("+0800"), 8 * 3600 * 1000);
    EXPECT_EQ(parse_utc_offset("+08"), 8 * 3600 * 1000);
    EXPECT_EQ(parse_utc_offset("UTC+8"), 8 * 3600 * 1000);
    EXPECT_EQ(parse_utc_offset("-05:30"), -(5 * 3600 + 30 * 60) * 1000);
    EXPECT_FALSE(parse_utc_offset("Asia/Shanghai"));
    EXPECT_FALSE(parse_utc_offset("+08:60"));
    EXPECT_FALSE(parse_utc_offset("+19:00"));
    EXPECT_FALSE(parse_utc_offset(""));
}

// ---------------------------------------------------------------- the plugin

struct RoomPush {
    std::uint64_t room = 0;
    std::string type;
    json::object payload;
    int qos = 0;
};

class RecordingPusher final : public sdk::Pusher {
public:
    sdk::PushResult to_user(std::uint64_t, const std::string&, const std::string&,
                            const sdk::PushOptions&) override {
        ADD_FAILURE() << "rank pushes to rooms only";
        return {};
    }
    sdk::PushResult to_users(const std::vector<std::uint64_t>&, const std::string&,
                             const std::string&, const sdk::PushOptions&) override {
        ADD_FAILURE() << "rank pushes to rooms only";
        return {};
    }
    sdk::PushResult to_room(std::uint64_t room, const std::string& type, const std::string& payload,
                            const sdk::PushOptions& opts) override {
        std::lock_guard lock(mu_);
        pushes_.push_back({room, type, json::parse(payload).as_object(), opts.qos});
        return {true, {}, pushes_.size(), 1, 0};
    }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override {
        return users;
    }

    std::vector<RoomPush> pushes() {
        std::lock_guard lock(mu_);
        return pushes_;
    }

private:
    std::mutex mu_;
    std::vector<RoomPush> pushes_;
};

// CountingMetrics and QuietLog: tests/plugins/sdk_doubles.hpp

// The hand-moved clock the plugin and the job queue share.
struct ManualClock {
    std::atomic<std::int64_t> now_ms{0};
    std::function<std::int64_t()> fn() {
        return [this] { return now_ms.load(); };
    }
};

using Config = std::map<std::string, std::string>;

class Node {
public:
    Node(ManualClock& clock, Config config = {}, std::shared_ptr<MemoryStoreData> data = nullptr)
        : data_(data ? std::move(data) : std::make_shared<MemoryStoreData>()),
          store_(data_, "plugin:rank:"),
          queue_(clock.fn()),
          plugin_(clock.fn()) {
        ctx_.node_id = "node";
        ctx_.push = &pusher_;
        ctx_.store = &store_;
        ctx_.jobs = &queue_;
        ctx_.log = &log_;
        ctx_.metrics = &metrics_;
        ctx_.config = std::move(config);
        plugin_.start(ctx_);
        runner_ = std::make_unique<JobRunner>(
            queue_, [this](const DueJob& job) { plugin_.on_job(job.topic, job.id, job.body); },
            JobRunner::Options{10ms, 30000ms, 100});
        runner_->start();
    }
    ~Node() {
        runner_->stop();
        plugin_.stop();
    }

    RankPlugin& plugin() { return plugin_; }
    MemoryStore& store() { return store_; }
    MemoryJobQueue& queue() { return queue_; }
    RecordingPusher& pusher() { return pusher_; }
    CountingMetrics& metrics() { return metrics_; }

    sdk::Reply http(const std::string& method, const std::string& path, const std::string& body,
                    std::map<std::string, std::string> query = {}) {
        sdk::HttpRequest req;
        req.method = method;
        req.path = path;
        req.body = body;
        req.query = std::move(query);
        return plugin_.on_http(req);
    }
    json::object configure(const std::string& body) {
        auto r = http("POST", "/v1/rank/weekstar/config", body);
        EXPECT_EQ(r.code, 200) << r.message;
        return r.code == 200 ? json::parse(r.data_json).as_object() : json::object{};
    }
    sdk::Reply board_reply(std::map<std::string, std::string> query) {
        return http("GET", "/v1/rank/weekstar", "", std::move(query));
    }
    json::object board(const std::string& gift = "rose",
                       std::map<std::string, std::string> extra = {}) {
        extra["channel"] = extra.count("channel") ? extra["channel"] : "music";
        extra["gift"] = gift;
        auto r = board_reply(extra);
        EXPECT_EQ(r.code, 200) << r.message;
        return r.code == 200 ? json::parse(r.data_json).as_object() : json::object{};
    }
    sdk::Reply settled(const std::string& week, const std::string& gift = "rose") {
        return http("GET", "/v1/rank/weekstar/settled", "",
                    {{"channel", "music"}, {"gift", gift}, {"week", week}});
    }
    void gift(const std::string& event_id, std::uint64_t anchor, std::uint64_t sender,
              std::int64_t count, std::int64_t ts_ms, const std::string& gift = "rose",
              const std::string& channel = "music") {
        json::object e{{"event_id", event_id}, {"room_id", anchor + 1000}, {"anchor_id", anchor},
                       {"sender_id", sender},  {"channel_id", channel},    {"gift_id", gift},
                       {"count", count},       {"value", count * 10},      {"ts_ms", ts_ms}};
        plugin_.on_event("gift", std::to_string(anchor + 1000), json::serialize(e));
    }

private:
    std::shared_ptr<MemoryStoreData> data_;
    MemoryStore store_;
    MemoryJobQueue queue_;
    RecordingPusher pusher_;
    QuietLog log_;
    CountingMetrics metrics_;
    sdk::Context ctx_;
    RankPlugin plugin_;
    std::unique_ptr<JobRunner> runner_;
};

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
    return lp::testing::eventually(done, timeout, 2ms);
}

std::string text(const json::value& v) {
    return std::string(v.as_string());
}
std::int64_t num(const json::value& v) {
    return v.to_number<std::int64_t>();
}

// (user_id, score, rank) of each entry, best first.
std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> entries(
    const json::object& board) {
    std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> out;
    for (const auto& e : board.at("entries").as_array()) {
        const auto& o = e.as_object();
        out.emplace_back(text(o.at("user_id")), num(o.at("score")), num(o.at("rank")));
    }
    return out;
}
using Entries = std::vector<std::tuple<std::string, std::int64_t, std::int64_t>>;

// Wednesday 2026-12-30 12:00 UTC, in 2026-W53 (Monday 2026-12-28 .. Sunday 2027-01-03).
const std::int64_t kWed = utc_ms(2026, 12, 30, 12);
const std::int64_t kWeekStart = utc_ms(2026, 12, 28);
const std::int64_t kBoundary = utc_ms(2027, 1, 4);  // Sunday 24:00 UTC
constexpr const char* kMusic =
    R"({"channel_id":"music","gifts":["rose","rocket"],"web":true,"app":true})";

class RankTest : public ::testing::Test {
protected:
    void SetUp() override {
        clock_.now_ms = kWed;
        node_ = std::make_unique<Node>(clock_);
        node_->configure(kMusic);
    }
    ManualClock clock_;
    std::unique_ptr<Node> node_;
};

TEST_F(RankTest, OnlyTheChannelsWeekStarGiftsCount) {
    node_->gift("e1", 1, 101, 3, kWed);
    node_->gift("e2", 1, 101, 5, kWed, "kiss");            // not a week-star gift
    node_->gift("e3", 1, 101, 7, kWed, "rose", "sports");  // a channel without config
    node_->gift("e4", 2, 101, 2, kWed, "rocket");
    EXPECT_EQ(entries(node_->board("rose")), (Entries{{"1", 3, 1}}));
    EXPECT_EQ(entries(node_->board("rocket")), (Entries{{"2", 2, 1}}));
    EXPECT_TRUE(node_->board("kiss").at("entries").as_array().empty());
    EXPECT_EQ(node_->metrics().get("ignored_events"), 2u);
    EXPECT_EQ(text(node_->board("rose").at("week")), "2026-W53");
}

TEST_F(RankTest, EqualCountsRankByWhoReachedTheCountFirst) {
    // Anchor 2 reaches 5 at second 100 of the week, anchor 1 at second 200: 2 ranks higher.
    node_->gift("a", 1, 101, 2, kWeekStart + 50'000);
    node_->gift("b", 2, 102, 5, kWeekStart + 100'000);
    node_->gift("c", 1, 101, 3, kWeekStart + 200'000);
    EXPECT_EQ(entries(node_->board()), (Entries{{"2", 5, 1}, {"1", 5, 2}}));
    // Anchor 1 pulls ahead with one more.
    node_->gift("d", 1, 103, 1, kWeekStart + 300'000);
    EXPECT_EQ(entries(node_->board()), (Entries{{"1", 6, 1}, {"2", 5, 2}}));
    // Anchor 2 draws level later: anchor 1 reached 6 first and stays ahead.
    node_->gift("e", 2, 102, 1, kWeekStart + 400'000);
    EXPECT_EQ(entries(node_->board()), (Entries{{"1", 6, 1}, {"2", 6, 2}}));
}

TEST_F(RankTest, ACountIsReachedAtItsLatestGiftWhateverTheOrderEventsArriveIn) {
    // Anchor 3's gifts arrive newest first; it still reached 4 at second 500, after anchor 4.
    node_->gift("x1", 3, 101, 2, kWeekStart + 500'000);
    node_->gift("x2", 3, 101, 2, kWeekStart + 10'000);
    node_->gift("y1", 4, 102, 4, kWeekStart + 400'000);
    EXPECT_EQ(entries(node_->board()), (Entries{{"4", 4, 1}, {"3", 4, 2}}));
}

TEST_F(RankTest, ReceiversFiftyMsApartRankInThatOrderTiesInOneTenMsSlotByMember) {
    // 11 reaches 3 at 7.000 s, 12 at 7.050 s (same second, 50 ms later), 13 at 7.999 s; 14 and
    // 15 reach 3 in the same 10 ms slot as 11 (7.001 and 7.009 s); 10 earlier, 16 later.
    node_->gift("t0", 10, 101, 3, kWeekStart + 1'000);
    node_->gift("t2", 12, 101, 3, kWeekStart + 7'050);  // arrives first, reached later
    node_->gift("t1", 11, 101, 3, kWeekStart + 7'000);
    node_->gift("t3", 13, 101, 3, kWeekStart + 7'999);
    node_->gift("t4", 14, 101, 3, kWeekStart + 7'001);
    node_->gift("t5", 15, 101, 3, kWeekStart + 7'009);
    node_->gift("t6", 16, 101, 3, kWeekStart + 8'000);
    // 11, 14, 15 share slot 700: equal scores, the store's rule for equal scores (reverse
    // member order, as Redis's ZREVRANGE).
    EXPECT_EQ(entries(node_->board()), (Entries{{"10", 3, 1},
                                                {"15", 3, 2},
                                                {"14", 3, 3},
                                                {"11", 3, 4},
                                                {"12", 3, 5},
                                                {"13", 3, 6},
                                                {"16", 3, 7}}));
    const std::string key = "weekstar:realtime:2026-W53:music:rose";
    auto s11 = node_->store().zscore(key, "11");
    auto s12 = node_->store().zscore(key, "12");
    auto s15 = node_->store().zscore(key, "15");
    ASSERT_TRUE(s11 && s12 && s15);
    EXPECT_EQ(*s11, *s15);
    EXPECT_EQ(score_from_double(*s11), kTenMs.pack(3, 700));
    EXPECT_EQ(score_from_double(*s12), kTenMs.pack(3, 705));
    EXPECT_EQ(*node_->store().get("weekstar:count:2026-W53:music:rose:12"), "3:705");
}

TEST(RankUpgradeTest, AWeekOldNodesCountedInStaysInSecondsAndTheNextWeekIsTenMs) {
    // The store as nodes before the upgrade left it mid-week: anchor 1 reached 5 at second 7.
    auto data = std::make_shared<MemoryStoreData>();
    {
        MemoryStore old(data, "plugin:rank:");
        old.sadd("weekstar:boards:2026-W53", {"music:rose"});
        old.set("weekstar:count:2026-W53:music:rose:1", "5:7");
        old.zadd("weekstar:realtime:2026-W53:music:rose", "1", double(kSecond.pack(5, 7)));
    }
    ManualClock clock;
    clock.now_ms = kWed;
    Node node(clock, {}, data);
    node.configure(kMusic);
    EXPECT_EQ(*node.store().get("weekstar:fine_since"), "2027-W01");
    // Anchor 2 reaches 5 in the same second (7.050 s): this week ties within a second as before.
    node.gift("u1", 2, 101, 5, kWeekStart + 7'050);
    node.gift("u2", 3, 101, 5, kWeekStart + 6'990);  // second 6: ahead
    EXPECT_EQ(entries(node.board()), (Entries{{"3", 5, 1}, {"2", 5, 2}, {"1", 5, 3}}));
    EXPECT_EQ(*node.store().get("weekstar:count:2026-W53:music:rose:2"), "5:7");
    // Next week is packed at 10 ms: 50 ms apart rank in that order.
    clock.now_ms = kBoundary + 1000;
    node.gift("v1", 2, 101, 5, kBoundary + 7'050);
    node.gift("v2", 1, 101, 5, kBoundary + 7'000);
    EXPECT_EQ(entries(node.board("rose", {{"week", "2027-W01"}})),
              (Entries{{"1", 5, 1}, {"2", 5, 2}}));
    EXPECT_EQ(*node.store().get("weekstar:count:2027-W01:music:rose:2"), "5:705");
}

TEST_F(RankTest, MyRankAndScore) {
    for (int a = 1; a <= 5; ++a) node_->gift("m" + std::to_string(a), a, 100, a * 10, kWed);
    auto b = node_->board("rose", {{"user", "2"}, {"limit", "2"}});
    EXPECT_EQ(entries(b), (Entries{{"5", 50, 1}, {"4", 40, 2}}));
    const auto& me = b.at("me").as_object();
    EXPECT_EQ(text(me.at("user_id")), "2");
    EXPECT_EQ(num(me.at("rank")), 4);
    EXPECT_EQ(num(me.at("score")), 20);
    auto nobody = node_->board("rose", {{"user", "99"}}).at("me").as_object();
    EXPECT_TRUE(nobody.at("rank").is_null());
    EXPECT_EQ(num(nobody.at("score")), 0);
}

TEST_F(RankTest, AReplayedEventCountsOnce) {
    node_->gift("dup", 1, 101, 4, kWed);
    node_->gift("dup", 1, 101, 4, kWed);
    node_->gift("dup", 1, 101, 4, kWed);
    EXPECT_EQ(entries(node_->board()), (Entries{{"1", 4, 1}}));
    EXPECT_EQ(node_->metrics().get("duplicate_events"), 2u);
    // The supporter board too.
    auto sup = node_->store().zrevrange("weekstar:supporters:2026-W53:music:rose:1", 0, -1);
    ASSERT_TRUE(sup && sup->size() == 1);
    EXPECT_EQ(kTenMs.count_of(score_from_double(sup->front().second)), 4);
}

TEST_F(RankTest, BadEventsAreSkippedNotThrown) {
    EXPECT_NO_THROW(node_->plugin().on_event("gift", "k", "not json"));
    EXPECT_NO_THROW(node_->plugin().on_event("gift", "k", R"({"event_id":"z","anchor_id":1})"));
    EXPECT_NO_THROW(node_->plugin().on_event(
        "gift", "k",
        R"({"event_id":"z","anchor_id":1,"sender_id":2,"channel_id":"music","gift_id":"rose","count":0})"));
    EXPECT_NO_THROW(node_->plugin().on_event(
        "gift", "k",
        R"({"event_id":"z","anchor_id":1,"sender_id":2,"channel_id":"a:b","gift_id":"rose","count":1})"));
    EXPECT_EQ(node_->metrics().get("bad_events"), 4u);
    EXPECT_TRUE(node_->board().at("entries").as_array().empty());
}

TEST_F(RankTest, KeysCarryTheIsoYearAndWeekAcrossNewYear) {
    clock_.now_ms = utc_ms(2027, 1, 5);
    node_->gift("ny1", 1, 101, 1, utc_ms(2026, 12, 31, 23));  // Thursday: 2026-W53
    node_->gift("ny2", 1, 101, 2, utc_ms(2027, 1, 3, 23));    // Sunday: still 2026-W53
    node_->gift("ny3", 1, 101, 4, utc_ms(2027, 1, 4, 0));     // Monday: 2027-W01
    auto& s = node_->store();
    EXPECT_EQ(
        kTenMs.count_of(score_from_double(*s.zscore("weekstar:realtime:2026-W53:music:rose", "1"))),
        3);
    EXPECT_EQ(
        kTenMs.count_of(score_from_double(*s.zscore("weekstar:realtime:2027-W01:music:rose", "1"))),
        4);
    EXPECT_EQ(entries(node_->board("rose", {{"week", "2026-W53"}})), (Entries{{"1", 3, 1}}));
    EXPECT_EQ(entries(node_->board("rose")), (Entries{{"1", 4, 1}}));  // this week: 2027-W01

    clock_.now_ms = utc_ms(2024, 12, 31);
    node_->configure(R"({"channel_id":"retro","gifts":["rose"]})");
    node_->gift("ny4", 2, 101, 1, utc_ms(2024, 12, 30, 8), "rose", "retro");  // Monday: 2025-W01
    EXPECT_TRUE(s.zscore("weekstar:realtime:2025-W01:retro:rose", "2"));
    EXPECT_FALSE(s.zscore("weekstar:realtime:2024-W53:retro:rose", "2"));
    EXPECT_EQ(
        node_->board_reply({{"channel", "music"}, {"gift", "rose"}, {"week", "2027-W53"}}).code,
        400);
}

TEST_F(RankTest, GiftListChangesWaitForNextWeekSwitchesActAtOnce) {
    auto r = node_->configure(R"({"channel_id":"music","gifts":["rocket","star"]})");
    // In force this week: the first list; the new one from 2027-W01.
    EXPECT_EQ(json::serialize(r.at("gifts")), R"(["rose","rocket"])");
    EXPECT_EQ(json::serialize(r.at("next_gifts")), R"(["rocket","star"])");
    EXPECT_EQ(text(r.at("next_from_week")), "2027-W01");
    node_->gift("w1", 1, 101, 1, kWed, "star");  // not yet
    node_->gift("w2", 1, 101, 1, kWed, "rose");  // still
    EXPECT_TRUE(node_->board("star").at("entries").as_array().empty());
    EXPECT_EQ(entries(node_->board("rose")), (Entries{{"1", 1, 1}}));

    // Next week the new list is in force.
    clock_.now_ms = kBoundary + 3'600'000;
    node_->gift("w3", 1, 101, 1, clock_.now_ms, "star");
    node_->gift("w4", 1, 101, 1, clock_.now_ms, "rose");
    EXPECT_EQ(entries(node_->board("star")), (Entries{{"1", 1, 1}}));
    EXPECT_TRUE(node_->board("rose").at("entries").as_array().empty());
    // A late event of last week is judged by last week's list.
    node_->gift("w5", 1, 101, 2, kWed, "rose");
    EXPECT_EQ(entries(node_->board("rose", {{"week", "2026-W53"}})), (Entries{{"1", 3, 1}}));

    // Switches act at once: web off hides the board from web, not from the app.
    node_->configure(R"({"channel_id":"music","web":false})");
    auto web = node_->board_reply({{"channel", "music"}, {"gift", "star"}, {"platform", "web"}});
    EXPECT_EQ(web.code, 403);
    EXPECT_NE(web.message.find("switched off for web"), std::string::npos);
    EXPECT_EQ(
        node_->board_reply({{"channel", "music"}, {"gift", "star"}, {"platform", "app"}}).code,
        200);
    // Gifts still count while a board is hidden.
    node_->gift("w6", 1, 101, 5, clock_.now_ms, "star");
    EXPECT_EQ(entries(node_->board("star")), (Entries{{"1", 6, 1}}));
    node_->configure(R"({"channel_id":"music","web":true})");
    EXPECT_EQ(
        node_->board_reply({{"channel", "music"}, {"gift", "star"}, {"platform", "web"}}).code,
        200);
}

TEST_F(RankTest, ResendingTheListInForceCancelsAWaitingChange) {
    node_->configure(R"({"channel_id":"music","gifts":["star"]})");
    auto r = node_->configure(R"({"channel_id":"music","gifts":["rose","rocket"]})");
    EXPECT_FALSE(r.contains("next_gifts"));
    clock_.now_ms = kBoundary + 1000;
    node_->gift("c1", 1, 101, 1, clock_.now_ms, "rose");
    EXPECT_EQ(entries(node_->board("rose")), (Entries{{"1", 1, 1}}));
}

TEST_F(RankTest, ConfigRequestsAreChecked) {
    auto code = [&](const std::string& body) {
        return node_->http("POST", "/v1/rank/weekstar/config", body).code;
    };
    EXPECT_EQ(code(R"({"channel_id":"music","gifts":["a","b","c","d","e"]})"), 400);
    EXPECT_EQ(code(R"({"channel_id":"music","gifts":["a","a"]})"), 400);
    EXPECT_EQ(code(R"({"channel_id":"new","web":false})"), 400);  // a first config needs gifts
    EXPECT_EQ(code(R"({"channel_id":"bad:id","gifts":["a"]})"), 400);
    EXPECT_EQ(code(R"({"channel_id":"music","web":"no"})"), 400);
    EXPECT_EQ(code("[]"), 400);
    EXPECT_EQ(code(R"({"channel_id":7,"gifts":[1,2]})"), 200);  // numeric ids are fine
    auto got = node_->http("GET", "/v1/rank/weekstar/config", "", {{"channel", "7"}});
    EXPECT_EQ(got.code, 200);
    EXPECT_EQ(json::serialize(json::parse(got.data_json).at("gifts")), R"(["1","2"])");
    EXPECT_EQ(node_->http("GET", "/v1/rank/weekstar/config", "", {{"channel", "none"}}).code, 404);
    EXPECT_EQ(node_->board_reply({{"channel", "music"}}).code, 400);  // gift missing
    EXPECT_EQ(node_->board_reply({{"channel", "music"}, {"gift", "rose"}, {"platform", "tv"}}).code,
              400);
    EXPECT_EQ(node_->board_reply({{"channel", "music"}, {"gift", "rose"}, {"limit", "0"}}).code,
              400);
}

TEST(RankConcurrencyTest, GiftsRacingOnTwoNodesAddUpExactlyAndCountOnce) {
    ManualClock clock;
    clock.now_ms = kWed;
    auto data = std::make_shared<MemoryStoreData>();
    Node a(clock, {}, data), b(clock, {}, data);
    a.configure(kMusic);
    constexpr int kThreads = 4, kEach = 300;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            Node& first = t % 2 ? b : a;
            Node& replay = t % 2 ? a : b;  // every event delivered again, on the other node
            for (int i = 0; i < kEach; ++i) {
                const std::string id = "c" + std::to_string(t) + "-" + std::to_string(i);
                first.gift(id, 1 + i % 3, 100 + t, 1 + i % 5, kWeekStart + i * 1000LL);
                replay.gift(id, 1 + i % 3, 100 + t, 1 + i % 5, kWeekStart + i * 1000LL);
            }
        });
    }
    for (auto& th : threads) th.join();

    MemoryStore raw(data, "plugin:rank:");
    for (int anchor = 1; anchor <= 3; ++anchor) {
        std::int64_t total = 0, last_second = 0, from_sender0 = 0;
        for (int i = 0; i < kEach; ++i) {
            if (1 + i % 3 != anchor) continue;
            total += kThreads * (1 + i % 5);
            from_sender0 += 1 + i % 5;
            last_second = i;
        }
        auto score = raw.zscore("weekstar:realtime:2026-W53:music:rose", std::to_string(anchor));
        ASSERT_TRUE(score);
        EXPECT_EQ(score_from_double(*score), kTenMs.pack(total, last_second * 100))
            << "anchor " << anchor;
        auto support =
            raw.zscore("weekstar:supporters:2026-W53:music:rose:" + std::to_string(anchor), "100");
        ASSERT_TRUE(support);
        EXPECT_EQ(kTenMs.count_of(score_from_double(*support)), from_sender0);
    }
    EXPECT_EQ(a.metrics().get("duplicate_events") + b.metrics().get("duplicate_events"),
              static_cast<std::uint64_t>(kThreads * kEach));
}

// ---------------------------------------------------------------- settlement

// Anchor 1 and anchor 2 both end on 8 roses; anchor 1 got there first. Anchor 1's supporters
// 101 and 102 both gave 4; 101 got there first.
void play_week(Node& node, std::int64_t week_start) {
    node.gift("s1", 1, 101, 4, week_start + 10'000);
    node.gift("s2", 2, 201, 8, week_start + 30'000);
    node.gift("s3", 1, 102, 4, week_start + 20'000);
    node.gift("s4", 3, 301, 1, week_start + 5'000);
}

void expect_settled(const sdk::Reply& r, const char* winner, int score, const char* supporter,
                    int supporter_score) {
    ASSERT_EQ(r.code, 200) << r.message;
    auto s = json::parse(r.data_json).as_object();
    EXPECT_EQ(text(s.at("winner")), winner);
    EXPECT_EQ(num(s.at("score")), score);
    EXPECT_EQ(text(s.at("top_supporter")), supporter);
    EXPECT_EQ(num(s.at("top_supporter_score")), supporter_score);
}

TEST(RankSettlementTest, SettlesAtSundayMidnightWithTheWinnerAndTheTopSupporter) {
    ManualClock clock;
    clock.now_ms = kBoundary - 2000;  // Sunday 23:59:58
    Node node(clock);
    node.configure(kMusic);
    play_week(node, kWeekStart);
    EXPECT_EQ(node.settled("2026-W53").code, 404);  // not yet

    std::this_thread::sleep_for(50ms);  // the runner ticks: nothing is due before the boundary
    EXPECT_EQ(node.settled("2026-W53").code, 404);

    clock.now_ms = kBoundary;  // Monday 00:00:00.000
    ASSERT_TRUE(wait_until([&] { return node.settled("2026-W53").code == 200; }));
    expect_settled(node.settled("2026-W53"), "1", 8, "101", 4);
    // Settlement rescheduled itself for the next week's end.
    EXPECT_EQ(node.queue().pending(), 1u);
    // A board that counted nothing in a settled week: settled, no winner.
    auto empty = node.settled("2026-W53", "rocket");
    ASSERT_EQ(empty.code, 200);
    EXPECT_TRUE(json::parse(empty.data_json).at("winner").is_null());
    // The default week is last week.
    expect_settled(
        node.http("GET", "/v1/rank/weekstar/settled", "", {{"channel", "music"}, {"gift", "rose"}}),
        "1", 8, "101", 4);
    EXPECT_EQ(node.metrics().get("weeks_settled"), 2u);  // 2026-W52 (catch-up at start) and W53
}

TEST(RankSettlementTest, SettlingAgainChangesNothing) {
    ManualClock clock;
    clock.now_ms = kBoundary - 1000;
    Node node(clock);
    node.configure(kMusic);
    play_week(node, kWeekStart);
    clock.now_ms = kBoundary + 1;
    ASSERT_TRUE(wait_until([&] { return node.settled("2026-W53").code == 200; }));
    const auto first = node.settled("2026-W53").data_json;

    // A late event would change the winner, but the week is settled.
    node.gift("late", 2, 202, 10, kBoundary - 500);
    EXPECT_EQ(node.metrics().get("late_events"), 1u);
    node.plugin().on_job("rank", "settle-2026-W53", "2026-W53");
    EXPECT_EQ(node.settled("2026-W53").data_json, first);
    // Even a re-run that finds the week unmarked (a node died before marking it) keeps each
    // board's first result.
    node.store().del("weekstar:settled_week:2026-W53");
    node.plugin().on_job("rank", "settle-2026-W53", "2026-W53");
    EXPECT_EQ(node.settled("2026-W53").data_json, first);
}

TEST(RankSettlementTest, AnEarlyJobWaitsForTheBoundary) {
    ManualClock clock;
    clock.now_ms = kBoundary - 60'000;
    Node node(clock);
    node.configure(kMusic);
    play_week(node, kWeekStart);
    // A node whose clock is behind runs the job early: it must come back, not settle.
    node.plugin().on_job("rank", "settle-2026-W53", "2026-W53");
    EXPECT_EQ(node.settled("2026-W53").code, 404);
    clock.now_ms = kBoundary;
    ASSERT_TRUE(wait_until([&] { return node.settled("2026-W53").code == 200; }));
}

TEST(RankSettlementTest, AFixedOffsetZoneSettlesAtItsOwnMidnight) {
    ManualClock clock;
    const std::int64_t boundary = utc_ms(2027, 1, 3, 16);  // Monday 00:00 in +08:00
    clock.now_ms = boundary - 1000;
    Node node(clock, {{"timezone", "+08:00"}});
    node.configure(kMusic);
    play_week(node, boundary - kMsPerWeek);
    clock.now_ms = boundary;
    ASSERT_TRUE(wait_until([&] { return node.settled("2026-W53").code == 200; }));
    expect_settled(node.settled("2026-W53"), "1", 8, "101", 4);
}

TEST(RankSettlementTest, ANamedZoneWithoutDaylightSavingSettlesAtItsMidnight) {
    ManualClock clock;
    const std::int64_t boundary = utc_ms(2027, 1, 3, 16);  // Monday 00:00 in Asia/Shanghai
    clock.now_ms = boundary - 1000;
    Node node(clock, {{"timezone", "Asia/Shanghai"}});  // the system's tzdata
    node.configure(kMusic);
    play_week(node, boundary - kMsPerWeek);
    clock.now_ms = boundary - 1;
    EXPECT_EQ(node.settled("2026-W53").code, 404) << "not before Shanghai's midnight";
    clock.now_ms = boundary;
    ASSERT_TRUE(wait_until([&] { return node.settled("2026-W53").code == 200; }));
    expect_settled(node.settled("2026-W53"), "1", 8, "101", 4);
}

TEST(RankSettlementTest, ZonesThatCannotBeAFixedOffsetRefuseToStart) {
    for (const char* tz : {"Europe/Berlin", "Mars/Olympus", "../../etc/passwd", "+25:00"}) {
        ManualClock clock;
        RankPlugin plugin(clock.fn());
        MemoryStore store("plugin:rank:");
        MemoryJobQueue queue(clock.fn());
        RecordingPusher pusher;
        sdk::Context ctx;
        ctx.store = &store;
        ctx.jobs = &queue;
        ctx.push = &pusher;
        ctx.config = {{"timezone", tz}};
        EXPECT_THROW(plugin.start(ctx), std::invalid_argument) << tz;
    }
}

// A TZif file's header and a footer: the parts zone_fixed_offset reads.
void write_zone(const std::string& dir, const std::string& name, char version,
                const std::string& footer) {
    std::string data = "TZif";
    data += version;
    data.append(39, '\0');  // the rest of the header: no transitions, nothing we read
    if (!footer.empty()) data += "\n" + footer + "\n";
    std::ofstream(dir + "/" + name, std::ios::binary) << data;
}

TEST(ZoneInfoTest, ReadsTheFutureRuleOfATzifFile) {
    char tmpl[] = "/tmp/lp-zoneinfo-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    write_zone(dir, "Fixed", '2', "CST-8");
    write_zone(dir, "Quoted", '3', "<+0530>-5:30");
    write_zone(dir, "West", '2', "EST5");
    write_zone(dir, "Summer", '2', "CET-1CEST,M3.5.0,M10.5.0/3");
    write_zone(dir, "Old", '\0', "");
    EXPECT_EQ(zone_fixed_offset("Fixed", dir).offset_ms, 8 * 3600 * 1000);
    EXPECT_EQ(zone_fixed_offset("Quoted", dir).offset_ms, (5 * 3600 + 30 * 60) * 1000);
    EXPECT_EQ(zone_fixed_offset("West", dir).offset_ms, -5 * 3600 * 1000);
    const auto summer = zone_fixed_offset("Summer", dir);
    EXPECT_FALSE(summer.offset_ms);
    EXPECT_NE(summer.why.find("daylight saving"), std::string::npos) << summer.why;
    EXPECT_FALSE(zone_fixed_offset("Old", dir).offset_ms) << "version 1: no footer";
    EXPECT_FALSE(zone_fixed_offset("Missing", dir).offset_ms);
    EXPECT_FALSE(zone_fixed_offset("../Fixed", dir).offset_ms) << "never outside the directory";
    EXPECT_FALSE(zone_fixed_offset("/etc/passwd", dir).offset_ms);
    EXPECT_EQ(posix_tz_fixed_offset("UTC0").offset_ms, 0);
    EXPECT_FALSE(posix_tz_fixed_offset("X-8").offset_ms) << "an abbreviation has 3+ letters";
    std::filesystem::remove_all(dir);
    // And the real tz database (tzdata, installed by scripts/install-deps.sh).
    EXPECT_EQ(zone_fixed_offset("Asia/Shanghai").offset_ms, 8 * 3600 * 1000);
    EXPECT_EQ(zone_fixed_offset("Asia/Kolkata").offset_ms, (5 * 3600 + 30 * 60) * 1000);
    EXPECT_EQ(zone_fixed_offset("UTC").offset_ms, 0);
    EXPECT_FALSE(zone_fixed_offset("America/New_York").offset_ms);
}

// ---------------------------------------------------------------- rank.update pushes

TEST(RankUpdateTest, TheReceiversRoomGetsItsRankAtMostTwiceASecondAndTheLastChangeAlways) {
    ManualClock clock;
    clock.now_ms = kWed;
    Node node(clock);
    node.configure(kMusic);
    node.gift("base", 2, 201, 100, kWed);  // anchor 2 leads
    const auto start = std::chrono::steady_clock::now();
    // 30 gifts to anchor 1 over ~1.5 s.
    for (int i = 0; i < 30; ++i) {
        node.gift("u" + std::to_string(i), 1, 101, 5, kWed + i);
        std::this_thread::sleep_for(50ms);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(wait_until([&] {
        auto p = node.pusher().pushes();
        return !p.empty() && num(p.back().payload.at("score")) == 150;
    }));
    std::vector<RoomPush> room1;
    for (auto& p : node.pusher().pushes()) {
        EXPECT_EQ(p.type, "rank.update");
        EXPECT_EQ(p.qos, 0);
        if (p.room == 1001) room1.push_back(p);
    }
    // <= 2 per second over the burst (plus the leading edge), and the final state shown.
    EXPECT_LE(room1.size(), static_cast<std::size_t>(2 * seconds + 2));
    EXPECT_GE(room1.size(), 2u);
    const auto& last = room1.back().payload;
    EXPECT_EQ(text(last.at("user_id")), "1");
    EXPECT_EQ(num(last.at("score")), 150);
    EXPECT_EQ(num(last.at("rank")), 1);
    EXPECT_EQ(text(last.at("week")), "2026-W53");
    EXPECT_EQ(text(last.at("gift_id")), "rose");
}

TEST(RankUpdateTest, NoPushesWhenBothSwitchesAreOff) {
    ManualClock clock;
    clock.now_ms = kWed;
    Node node(clock);
    node.configure(R"({"channel_id":"music","gifts":["rose"],"web":false,"app":false})");
    node.gift("q", 1, 101, 1, kWed);
    std::this_thread::sleep_for(150ms);
    EXPECT_TRUE(node.pusher().pushes().empty());
    EXPECT_EQ(entries(node.board()), (Entries{{"1", 1, 1}}));
}

}  // namespace
}  // namespace lp::plugins
