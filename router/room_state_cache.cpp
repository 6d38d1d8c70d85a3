// router/room_state_cache: see room_state_cache.hpp.
#include "router/room_state_cache.hpp"

#include <boost/json.hpp>

namespace lp::router {

namespace json = boost::json;

void RoomStateCache::merge(std::map<std::string, Item>& into, const std::string& key, Item item) {
    auto it = into.find(key);
    if (it == into.end())
        into.emplace(key, std::move(item));
    else if (item.version > it->second.version)
        it->second = std::move(item);
}

void RoomStateCache::observe(std::uint64_t room, std::string_view payload) {
    {
        std::lock_guard lock(mu_);
        if (!rooms_.count(room)) return;  // cheap check before parsing
    }
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    if (ec || !v.is_object()) return;
    const json::object& o = v.get_object();
    const json::value* key = o.if_contains("key");
    const json::value* version = o.if_contains("version");
    const json::value* value = o.if_contains("value");
    if (!key || !key->is_string() || !version || !value) return;
    Item item;
    if (version->is_uint64())
        item.version = version->get_uint64();
    else if (version->is_int64() && version->get_int64() > 0)
        item.version = static_cast<std::uint64_t>(version->get_int64());
    else
        return;
    if (!value->is_null()) item.value = *value;
    const std::string k(key->get_string());
    std::lock_guard lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    if (it->second.loading) merge(it->second.seen_while_loading, k, item);
    merge(it->second.items, k, std::move(item));
}

void RoomStateCache::ensure(std::uint64_t room, bool reload, std::function<void(bool)> done) {
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(mu_);
        Entry& e = rooms_[room];
        e.used = std::chrono::steady_clock::now();
        if (e.loading) {
            e.waiters.push_back(std::move(done));
            return;
        }
        if (e.generation != 0 && !reload) {
            // Loaded before: answer outside the lock.
        } else {
            e.loading = true;
            e.generation = generation = ++generations_;
            e.seen_while_loading.clear();
            e.waiters.push_back(std::move(done));
            ++loads_;
        }
    }
    if (generation == 0) return done(true);
    store_.get(room, [this, room, generation](RoomStateSnapshot s) {
        loaded(room, generation, std::move(s));
    });
}

void RoomStateCache::loaded(std::uint64_t room, std::uint64_t generation, RoomStateSnapshot s) {
    std::vector<std::function<void(bool)>> waiters;
    {
        std::lock_guard lock(mu_);
        auto it = rooms_.find(room);
        if (it == rooms_.end() || it->second.generation != generation) return;
        Entry& e = it->second;
        waiters.swap(e.waiters);
        e.loading = false;
        if (!s.ok) {
            rooms_.erase(it);  // the next enter tries again
        } else {
            std::map<std::string, Item> items;
            for (auto& [key, stored] : s.items) {
                boost::system::error_code ec;
                json::value v = json::parse(stored.value, ec);
                if (ec) continue;  // only the service writes: valid JSON
                items[key] = {std::move(v), stored.version};
            }
            for (auto& [key, item] : e.seen_while_loading) merge(items, key, std::move(item));
            e.seen_while_loading.clear();
            e.items = std::move(items);
        }
    }
    for (auto& w : waiters) w(s.ok);
}

bool RoomStateCache::ready(std::uint64_t room) const {
    std::lock_guard lock(mu_);
    auto it = rooms_.find(room);
    return it != rooms_.end() && !it->second.loading && it->second.generation != 0;
}

std::optional<json::object> RoomStateCache::snapshot(std::uint64_t room) {
    std::lock_guard lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end() || it->second.generation == 0) return std::nullopt;
    it->second.used = std::chrono::steady_clock::now();
    json::object out;
    for (const auto& [key, item] : it->second.items) {
        if (!item.value) continue;
        json::object one;
        one["value"] = *item.value;
        one["version"] = item.version;
        out[key] = std::move(one);
    }
    return out;
}

void RoomStateCache::sweep(const std::function<bool(std::uint64_t)>& has_members,
                           std::chrono::steady_clock::duration idle) {
    std::vector<std::uint64_t> rooms;
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mu_);
        for (const auto& [room, e] : rooms_)
            if (!e.loading && now - e.used >= idle) rooms.push_back(room);
    }
    // has_members takes the hub's room lock: never while holding mu_ (observe runs under it).
    std::vector<std::uint64_t> drop;
    for (auto room : rooms)
        if (!has_members(room)) drop.push_back(room);
    std::lock_guard lock(mu_);
    for (auto room : drop) {
        auto it = rooms_.find(room);
        if (it != rooms_.end() && !it->second.loading && now - it->second.used >= idle)
            rooms_.erase(it);
    }
}

std::size_t RoomStateCache::rooms() const {
    std::lock_guard lock(mu_);
    return rooms_.size();
}

std::uint64_t RoomStateCache::loads() const {
    std::lock_guard lock(mu_);
    return loads_;
}

}  // namespace lp::router
