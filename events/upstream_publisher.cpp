// events/upstream_publisher: see upstream_publisher.hpp.
#include "events/upstream_publisher.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace lp::events {

UpstreamRecord UpstreamPublisher::record(std::string_view node_id, std::uint64_t user_id,
                                         const std::string& type, const std::string& data_json,
                                         std::uint64_t ts_ms) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(data_json, ec);
    UpstreamRecord r;
    r.key = std::to_string(user_id);
    if (!ec && parsed.is_object()) {
        if (auto* room = parsed.get_object().if_contains("room_id"))
            r.key =
                room->is_string() ? std::string(room->get_string()) : boost::json::serialize(*room);
    }
    boost::json::object v;
    v["type"] = type;
    v["user_id"] = std::to_string(user_id);
    v["node"] = node_id;
    v["ts_ms"] = ts_ms;
    v["data"] = ec ? boost::json::value(data_json) : parsed;
    r.value = boost::json::serialize(v);
    return r;
}

bool UpstreamPublisher::publish(std::uint64_t user_id, const std::string& type,
                                const std::string& data_json, std::uint64_t ts_ms) const {
    const UpstreamRecord r = record(node_id_, user_id, type, data_json, ts_ms);
    return producer_->produce(topic_, r.key, r.value);
}

}  // namespace lp::events
