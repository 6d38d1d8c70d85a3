// load-test/plugin_receiver: what one load shard's sessions check in the plugin scenarios.
//
//   gift  every `gift.effect` is matched to the event it shows (its payload's event_id): the
//         deliveries of each event are counted (missing and duplicate deliveries follow from
//         the rooms' members), the event is marked seen in the shared plan, and 1 delivery in
//         --latency-sample has its send → receive latency recorded.
//   pk    every `pk.score` carries the scoring anchor's total; the run's events raise it by a
//         fixed number of points each, so a total says how many events it includes. For each
//         viewer, every event that a push newly covers gets a latency (send → first push at
//         that viewer showing it), and the shard keeps when any of its viewers first saw each.
//   feed  every `feed.item` is counted per session, with its item_id, first receipt time
//         (steady and wall clock) and the item's ts_ms (the publish time the plugin stamps).
//
// It lives on the shard's loop thread and is read after join(); the one shared thing is the
// gift event plan (its stamps and seen marks are atomics). Tables are sized in prepare(), before
// the run: receiving never allocates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "load-test/gift_events.hpp"
#include "load-test/latency_histogram.hpp"
#include "load-test/push_fields.hpp"

namespace lp::load {

enum class PluginScenario : std::uint8_t { None, Gift, Pk, Feed };

struct PluginCheckOptions {
    PluginScenario scenario = PluginScenario::None;
    GiftEventPlan* events = nullptr;    // gift, pk; owned by the conductor, outlives the shards
    std::uint64_t score_anchor = 0;     // pk: the anchor the events score for
    std::int64_t points_per_event = 0;  // pk
    std::uint32_t latency_sample = 1;   // gift: record 1 delivery in K
};

class PluginReceiver {
public:
    void prepare(const PluginCheckOptions& options, std::uint32_t connections);

    // A binary PUSH that connection `conn` (shard-local index) received at `now_ns` (steady);
    // `wall_ns` is the same moment on the system clock (feed only; 0 elsewhere).
    void on_push(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                 std::int64_t wall_ns = 0);

    // --- results, after join() ---
    LatencyHistogram latency;       // gift: sampled deliveries; pk: every viewer × event
    std::uint64_t matched = 0;      // gift.effect / pk.score / feed.item pushes read
    std::uint64_t unmatched = 0;    // of those: an event id of another run, an unreadable
                                    // score, more points than the run sent
    std::uint64_t other_types = 0;  // pushes of other types (pk.state, gift.effect in pk, ...)
    std::uint64_t unstamped = 0;    // gift, pk: an event with no send stamp (not yet visible)
    std::int64_t first_ns = 0;      // first and last matched push (steady clock)
    std::int64_t last_ns = 0;

    // gift: deliveries per event index
    std::vector<std::uint32_t> deliveries;
    // pk: events each viewer has seen covered, when this shard first saw each event covered,
    // scores that went down at a viewer, and the highest score seen
    std::vector<std::uint32_t> covered;
    std::vector<std::int64_t> first_seen_ns;
    std::uint64_t regressions = 0;
    std::uint64_t max_score = 0;
    // feed: feed.item receipts per session, the item id of the last one, the first one's time
    // (steady and wall clock, ns) and its ts_ms field (-1: absent)
    std::vector<std::uint16_t> items;
    std::vector<std::uint64_t> item_ids;
    std::vector<std::int64_t> item_first_ns;
    std::vector<std::int64_t> item_first_wall_ns;
    std::vector<std::int64_t> item_ts_ms;

private:
    void on_gift_effect(const PushFields& f, std::int64_t now_ns);
    void on_pk_score(std::uint32_t conn, const PushFields& f, std::int64_t now_ns);
    void on_feed_item(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                      std::int64_t wall_ns);
    void note_time(std::int64_t now_ns) noexcept;

    PluginCheckOptions opts_;
    std::uint32_t latency_countdown_ = 0;
    std::uint64_t shard_covered_ = 0;  // pk: first_seen_ns is set below this
    std::string score_key_;            // pk: "\"<anchor>\":"
};

}  // namespace lp::load
