// plugins/feed/fanout_task: see fanout_task.hpp.
#include "plugins/feed/fanout_task.hpp"

#include <boost/json.hpp>

#include "plugins/sdk/json_ids.hpp"

namespace lp::plugins::feed {
namespace json = boost::json;

namespace {

// Ids are written as decimal strings, counters as numbers (to_json); either reads back.
std::optional<std::uint64_t> as_u64(const json::object& obj, const char* field) {
    const auto* v = obj.if_contains(field);
    return v ? sdk::json_u64(*v) : std::nullopt;
}

}  // namespace

std::string FanoutTask::to_json() const {
    // Ids as decimal strings, counters as numbers: the API's convention (docs/api.md).
    json::object o;
    o["item_id"] = std::to_string(item_id);
    o["anchor_id"] = std::to_string(anchor_id);
    o["cursor"] = cursor;
    o["batches_done"] = batches_done;
    o["followers_done"] = followers_done;
    o["online"] = online;
    o["total"] = total;
    o["created_ms"] = created_ms;
    o["finished_ms"] = finished_ms;
    o["done"] = done;
    return json::serialize(o);
}

std::optional<FanoutTask> FanoutTask::from_json(const std::string& text) {
    boost::system::error_code ec;
    auto value = json::parse(text, ec);
    if (ec || !value.is_object()) return std::nullopt;
    const auto& o = value.as_object();
    FanoutTask t;
    const auto item = as_u64(o, "item_id");
    const auto anchor = as_u64(o, "anchor_id");
    const auto* cursor = o.if_contains("cursor");
    const auto* done = o.if_contains("done");
    if (!item || !anchor || cursor == nullptr || !cursor->is_string() || done == nullptr ||
        !done->is_bool()) {
        return std::nullopt;
    }
    t.item_id = *item;
    t.anchor_id = *anchor;
    t.cursor = std::string(cursor->as_string());
    t.done = done->as_bool();
    t.batches_done = as_u64(o, "batches_done").value_or(0);
    t.followers_done = as_u64(o, "followers_done").value_or(0);
    t.online = as_u64(o, "online").value_or(0);
    t.total = as_u64(o, "total").value_or(0);
    t.created_ms = static_cast<std::int64_t>(as_u64(o, "created_ms").value_or(0));
    t.finished_ms = static_cast<std::int64_t>(as_u64(o, "finished_ms").value_or(0));
    return t;
}

}  // namespace lp::plugins::feed
