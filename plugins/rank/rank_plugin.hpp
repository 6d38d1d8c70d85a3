// plugins/rank/rank_plugin: week-star leaderboards (周星榜, domain.md "Week-star leaderboard").
//
// What it is for: per (ISO week, channel, gift) a real-time board ranks receivers (anchors) by
// how many of the channel's week-star gifts they received; equal counts rank by who reached the
// count first, to 10 ms (weekstar_score.hpp). At Sunday 24:00 (server time zone) the week is
// settled: each board's winner, with the winner's top supporter (the sender who gave the winner the
// most, first-to-reach on ties), is frozen into a settled record.
//
// In:  `gift` events {event_id, room_id, anchor_id, sender_id, channel_id, gift_id, count,
//      value, ts_ms}; the event's ts_ms decides its week, and only gifts configured for that
//      week count (channel_config.hpp). Idempotent per event_id (a set_if_absent mark per board).
// Out: `rank.update` pushes (qos0) to the receiver's room, paced per board (update_throttle.hpp);
//      HTTP: POST/GET /v1/rank/weekstar/config, GET /v1/rank/weekstar (board, my rank),
//      GET /v1/rank/weekstar/settled.
// Jobs: topic "rank", id "settle-{week}": settles the week at its end and schedules the next.
//
// Switches: web/app hide the board for that platform (GET with platform=web|app answers 403);
// events count either way, so switching a board back on shows the true standings. A channel
// with both switches off gets no rank.update pushes.
//
// Config ([plugins.rank]): timezone ("UTC"; a fixed offset like "+08:00"; or a zone without
// daylight saving like "Asia/Shanghai", zoneinfo.hpp), keep_weeks (5:
// realtime boards live this long after their week), event_ttl_s (691200 = 8 days: the
// idempotency marks), settle_delay_ms (0: settle this long after Sunday 24:00, for late
// events), update_interval_ms (500; at least 500).
//
// Key layout: weekstar_boards.hpp, plus weekstar:config:{channel} (ChannelConfig JSON) and
// weekstar:event:{event_id}:{r|s} (idempotency marks for the receiver and supporter boards).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plugins/rank/channel_config.hpp"
#include "plugins/rank/iso_week.hpp"
#include "plugins/rank/update_throttle.hpp"
#include "plugins/rank/weekstar_boards.hpp"
#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

class RankPlugin final : public sdk::Plugin {
public:
    using Clock = std::function<std::int64_t()>;  // ms since the Unix epoch

    static constexpr const char* kEventTopic = "gift";
    static constexpr const char* kJobTopic = "rank";
    static constexpr const char* kPushType = "rank.update";

    // `clock` is "now" for the current week, settlement times and events without ts_ms;
    // empty = the system clock.
    explicit RankPlugin(Clock clock = {});
    ~RankPlugin() override;

    std::string name() const override { return "rank"; }
    std::vector<sdk::Route> routes() const override;
    std::vector<std::string> event_topics() const override { return {kEventTopic}; }
    std::vector<std::string> job_topics() const override { return {kJobTopic}; }

    void start(sdk::Context& ctx) override;
    void stop() override;

    sdk::Reply on_http(const sdk::HttpRequest& req) override;
    void on_event(const std::string& topic, const std::string& key,
                  const std::string& value_json) override;
    // {"weekstar": bool, "week", "reason"?}: whether on_event would count the gift on a
    // week-star board now, and why not.
    std::string describe_event(const std::string& topic, const std::string& value_json) override;
    void on_job(const std::string& topic, const std::string& id, const std::string& body) override;

    // Pushes the pending rank updates whose window has ended (the plugin's own thread does this
    // every 100 ms; tests may call it).
    void flush_updates();

private:
    struct Gift;
    void on_gift(const Gift& gift);
    // Applies one board side of a gift under its idempotency mark; false when the store failed.
    bool apply_once(const std::string& mark, const std::string& zset_key,
                    const std::string& count_key, const std::string& member, std::int64_t count,
                    std::int64_t slot, const rank::Packing& packing,
                    std::chrono::milliseconds keep);
    void push_updates(const std::vector<rank::RankUpdate>& updates);
    void schedule_settlement(const rank::IsoWeek& week, std::chrono::milliseconds delay);
    void ensure_settlement(const rank::IsoWeek& week);
    std::chrono::milliseconds until_settlement(const rank::IsoWeek& week) const;

    sdk::Reply post_config(const std::string& body);
    sdk::Reply get_config(const std::map<std::string, std::string>& query);
    sdk::Reply get_board(const std::map<std::string, std::string>& query);
    sdk::Reply get_settled(const std::map<std::string, std::string>& query);
    // nullopt: the store failed; inner empty: no config for the channel.
    std::optional<std::optional<rank::ChannelConfig>> load_config(const std::string& channel);

    void flusher_loop();
    std::int64_t steady_ms() const;

    Clock clock_;
    sdk::Context* ctx_ = nullptr;
    std::unique_ptr<rank::WeekstarBoards> boards_;
    rank::WeekCalendar calendar_;
    std::string timezone_ = "UTC";
    std::int64_t keep_weeks_ = 5;
    std::int64_t event_ttl_s_ = 8LL * 24 * 3600;
    std::int64_t settle_delay_ms_ = 0;
    std::unique_ptr<rank::UpdateThrottle> throttle_;
    std::atomic<bool> running_{false};

    std::mutex mu_;  // the sets below and the flusher's wake-up
    std::set<std::string> scheduled_weeks_;
    std::set<std::string> noted_boards_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread flusher_;
};

std::unique_ptr<sdk::Plugin> make_rank_plugin();

}  // namespace lp::plugins
