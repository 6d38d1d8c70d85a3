// load-test/plugin_receiver: see plugin_receiver.hpp.
#include "load-test/plugin_receiver.hpp"

#include <algorithm>
#include <limits>
#include <string_view>

namespace lp::load {

void PluginReceiver::prepare(const PluginCheckOptions& options, std::uint32_t connections) {
    opts_ = options;
    if (opts_.latency_sample == 0) opts_.latency_sample = 1;
    switch (opts_.scenario) {
        case PluginScenario::Gift:
            deliveries.assign(opts_.events->size(), 0);
            break;
        case PluginScenario::Pk:
            covered.assign(connections, 0);
            first_seen_ns.assign(opts_.events->size(), 0);
            score_key_ = "\"" + std::to_string(opts_.score_anchor) + "\":";
            break;
        case PluginScenario::Feed:
            items.assign(connections, 0);
            item_ids.assign(connections, 0);
            item_first_ns.assign(connections, 0);
            item_first_wall_ns.assign(connections, 0);
            item_ts_ms.assign(connections, -1);
            break;
        case PluginScenario::None:
            break;
    }
}

void PluginReceiver::on_push(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                             std::int64_t wall_ns) {
    switch (opts_.scenario) {
        case PluginScenario::Gift:
            if (f.type == "gift.effect") return on_gift_effect(f, now_ns);
            break;
        case PluginScenario::Pk:
            if (f.type == "pk.score") return on_pk_score(conn, f, now_ns);
            break;
        case PluginScenario::Feed:
            if (f.type == "feed.item") return on_feed_item(conn, f, now_ns, wall_ns);
            break;
        case PluginScenario::None:
            return;
    }
    ++other_types;
}

void PluginReceiver::note_time(std::int64_t now_ns) noexcept {
    if (first_ns == 0) first_ns = now_ns;
    last_ns = now_ns;
}

void PluginReceiver::on_gift_effect(const PushFields& f, std::int64_t now_ns) {
    ++matched;
    auto i = opts_.events->index_in(f.payload);
    if (!i) {
        ++unmatched;
        return;
    }
    note_time(now_ns);
    if (deliveries[*i]++ == 0) opts_.events->mark_seen(*i);
    if (++latency_countdown_ < opts_.latency_sample) return;
    latency_countdown_ = 0;
    std::int64_t sent = opts_.events->sent_ns(*i);
    if (sent == 0) {
        ++unstamped;
        return;
    }
    latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - sent)));
}

void PluginReceiver::on_pk_score(std::uint32_t conn, const PushFields& f, std::int64_t now_ns) {
    ++matched;
    // {"pk_id":"1","state":1,"scores":{"<from>":N,"<to>":M},...}
    std::size_t scores = f.payload.find("\"scores\":{");
    auto score = scores == std::string_view::npos ? std::nullopt
                                                  : json_uint_after(f.payload, score_key_, scores);
    const std::uint64_t n = opts_.events->size();
    if (!score || opts_.points_per_event <= 0 ||
        *score > n * static_cast<std::uint64_t>(opts_.points_per_event)) {
        ++unmatched;
        return;
    }
    note_time(now_ns);
    max_score = std::max(max_score, *score);
    const auto now_covered =
        static_cast<std::uint32_t>(*score / static_cast<std::uint64_t>(opts_.points_per_event));
    std::uint32_t& mine = covered[conn];
    if (now_covered < mine) {
        ++regressions;
        return;
    }
    // Bounded by the events: each is covered once per viewer and once per shard.
    for (std::uint32_t k = mine; k < now_covered; ++k) {
        std::int64_t sent = opts_.events->sent_ns(k);
        if (sent == 0) {
            ++unstamped;
            continue;
        }
        latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - sent)));
    }
    mine = now_covered;
    // Bounded by the events, as above.
    for (; shard_covered_ < now_covered; ++shard_covered_) {
        first_seen_ns[shard_covered_] = now_ns;
        opts_.events->mark_seen(shard_covered_);
    }
}

void PluginReceiver::on_feed_item(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                                  std::int64_t wall_ns) {
    ++matched;
    auto id = json_uint_after(f.payload, "\"item_id\"");
    if (!id) {
        ++unmatched;
        return;
    }
    note_time(now_ns);
    if (items[conn] == 0) {
        item_first_ns[conn] = now_ns;
        item_first_wall_ns[conn] = wall_ns;
        // {"kind":…,"item_id":"N","anchor_id":"A","ts_ms":T}: the publish time, system clock
        auto ts = json_uint_after(f.payload, "\"ts_ms\"");
        item_ts_ms[conn] = ts ? static_cast<std::int64_t>(*ts) : -1;
    }
    if (items[conn] < std::numeric_limits<std::uint16_t>::max()) ++items[conn];
    item_ids[conn] = *id;
}

}  // namespace lp::load
