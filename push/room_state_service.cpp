// push/room_state_service: see room_state_service.hpp.
#include "push/room_state_service.hpp"

#include <boost/json.hpp>
#include <future>
#include <memory>

#include "codec/wall_clock.hpp"

namespace lp::push {

namespace json = boost::json;

namespace {

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

}  // namespace

RoomStateService::RoomStateService(RoomStateLimits limits, router::RoomStateStore& store,
                                   router::Routing& routing,
                                   std::function<std::uint64_t()> next_msg_id)
    : limits_(limits), store_(store), routing_(routing), next_msg_id_(std::move(next_msg_id)) {}

RoomStateService::Result RoomStateService::refuse(int status, int code, std::string why,
                                                  std::size_t bytes) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    refused_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    return {status, code, std::move(why), 0};
}

void RoomStateService::set_async(std::uint64_t room, std::string_view key,
                                 std::string_view value_json, std::function<void(Result)> done) {
    if (!done) done = [](Result) {};
    if (room == 0) return done({400, 400, "room id must be non-zero", 0});
    bool key_ok = !key.empty() && key.size() <= limits_.max_key_bytes;
    for (char c : key) key_ok &= key_char(c);
    if (!key_ok)
        return done(refuse(400, kRoomStateBadKey,
                           "state key must be 1.." + std::to_string(limits_.max_key_bytes) +
                               " characters of A-Z a-z 0-9 _ - . : (room.state_max_key_bytes)",
                           value_json.size()));
    // Judged on the bytes as sent, before parsing: an oversized value costs no parse.
    if (value_json.size() > limits_.max_value_bytes)
        return done(refuse(413, kRoomStateFull,
                           "state value is " + std::to_string(value_json.size()) +
                               " bytes, over room.state_max_value_bytes (" +
                               std::to_string(limits_.max_value_bytes) + ")",
                           value_json.size()));
    boost::system::error_code ec;
    json::value v = json::parse(value_json, ec);
    if (ec) return done({400, 400, "state value must be a JSON value: " + ec.message(), 0});
    if (v.is_null()) return done({400, 400, "a null state value: use DELETE to remove a key", 0});
    std::string compact = json::serialize(v);
    std::string k(key);
    store_.set(room, k, compact, {limits_.max_keys, limits_.max_room_bytes},
               [this, room, k, compact, done = std::move(done)](router::RoomStateWrite w) {
                   using S = router::RoomStateWrite::Status;
                   if (w.status == S::TooManyKeys)
                       return done(refuse(409, kRoomStateFull,
                                          "room " + std::to_string(room) + " has " +
                                              std::to_string(limits_.max_keys) +
                                              " state keys already (room.state_max_keys); "
                                              "delete one first",
                                          compact.size()));
                   if (w.status == S::TooManyBytes)
                       return done(refuse(409, kRoomStateFull,
                                          "room " + std::to_string(room) +
                                              "'s state values would pass "
                                              "room.state_max_room_bytes (" +
                                              std::to_string(limits_.max_room_bytes) +
                                              "); delete or shrink a key first",
                                          compact.size()));
                   if (w.status != S::Ok) {
                       unavailable_.fetch_add(1, std::memory_order_relaxed);
                       return done({503, 503, "room state store unavailable: " + w.error, 0});
                   }
                   sets_.fetch_add(1, std::memory_order_relaxed);
                   publish(room, k, compact, w.version);
                   done({200, 0, {}, w.version});
               });
}

void RoomStateService::erase_async(std::uint64_t room, std::string_view key,
                                   std::function<void(Result)> done) {
    if (!done) done = [](Result) {};
    if (room == 0) return done({400, 400, "room id must be non-zero", 0});
    std::string k(key);
    store_.erase(room, k, [this, room, k, done = std::move(done)](router::RoomStateWrite w) {
        using S = router::RoomStateWrite::Status;
        if (w.status == S::Absent)
            return done({404, 404,
                         "room " + std::to_string(room) + " has no state key " +
                             json::serialize(json::string(k)),
                         0});
        if (w.status != S::Ok) {
            unavailable_.fetch_add(1, std::memory_order_relaxed);
            return done({503, 503, "room state store unavailable: " + w.error, 0});
        }
        deletes_.fetch_add(1, std::memory_order_relaxed);
        publish(room, k, "null", w.version);
        done({200, 0, {}, w.version});
    });
}

RoomStateService::Result RoomStateService::wait(
    const std::function<void(std::function<void(Result)>)>& start) {
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    start([promise](Result r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kStoreWait) != std::future_status::ready)
        return {503, 503, "room state store did not answer in time", 0};
    return future.get();
}

RoomStateService::Result RoomStateService::set(std::uint64_t room, std::string_view key,
                                               std::string_view value_json) {
    return wait([&](std::function<void(Result)> done) {
        set_async(room, key, value_json, std::move(done));
    });
}

RoomStateService::Result RoomStateService::erase(std::uint64_t room, std::string_view key) {
    return wait([&](std::function<void(Result)> done) { erase_async(room, key, std::move(done)); });
}

RoomStateService::Read RoomStateService::get(std::uint64_t room) {
    auto promise = std::make_shared<std::promise<router::RoomStateSnapshot>>();
    auto future = promise->get_future();
    store_.get(room, [promise](router::RoomStateSnapshot s) { promise->set_value(std::move(s)); });
    Read out;
    if (future.wait_for(kStoreWait) != std::future_status::ready) {
        out.status = 503;
        out.error = "room state store did not answer in time";
        return out;
    }
    router::RoomStateSnapshot s = future.get();
    if (!s.ok) {
        out.status = 503;
        out.error = "room state store unavailable: " + s.error;
        return out;
    }
    out.json = "{";
    for (const auto& [key, item] : s.items) {
        if (out.json.size() > 1) out.json += ',';
        out.json += json::serialize(json::string(key));
        out.json +=
            ":{\"value\":" + item.value + ",\"version\":" + std::to_string(item.version) + '}';
    }
    out.json += '}';
    return out;
}

void RoomStateService::publish(std::uint64_t room, const std::string& key,
                               const std::string& value_json, std::uint64_t version) {
    std::string payload = "{\"key\":" + json::serialize(json::string(key)) +
                          ",\"value\":" + value_json + ",\"version\":" + std::to_string(version) +
                          '}';
    // Message class: high (never shed). w14-budget: set the RoomMessage's class field here.
    routing_.publish_room(
        {room, next_msg_id_(), "room.state", std::move(payload), codec::wall_ms(), {}});
}

void RoomStateService::write_metrics(codec::PromText& m) const {
    auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    m.counter("livepush_room_state_writes_total",
              "room state changes stored and pushed as room.state, by kind", v(sets_),
              "kind=\"set\"");
    m.counter("livepush_room_state_writes_total",
              "room state changes stored and pushed as room.state, by kind", v(deletes_),
              "kind=\"delete\"");
    m.counter("livepush_room_state_refused_total",
              "room state writes refused by a bound (key, value bytes, keys per room)",
              v(refused_));
    m.counter("livepush_room_state_refused_bytes_total",
              "bytes of the values of refused room state writes", v(refused_bytes_));
    m.counter("livepush_room_state_unavailable_total",
              "room state writes that failed because the store did not answer", v(unavailable_));
}

}  // namespace lp::push
