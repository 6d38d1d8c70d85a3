// router/room_state_store: see room_state_store.hpp (the memory store).
#include "router/room_state_store.hpp"

namespace lp::router {

void MemoryRoomStateStore::set(std::uint64_t room, const std::string& key, const std::string& value,
                               RoomStateBounds bounds, std::function<void(RoomStateWrite)> done) {
    RoomStateWrite w;
    {
        std::lock_guard lock(mu_);
        Room& r = rooms_[room];
        auto it = r.items.find(key);
        const std::uint64_t old = it == r.items.end() ? 0 : it->second.value.size();
        if (it == r.items.end() && r.items.size() >= bounds.max_keys) {
            w.status = RoomStateWrite::Status::TooManyKeys;
        } else if (r.bytes - old + value.size() > bounds.max_bytes) {
            w.status = RoomStateWrite::Status::TooManyBytes;
        } else {
            w.version = ++r.version;
            r.bytes = r.bytes - old + value.size();
            r.items[key] = {value, w.version};
        }
    }
    done(std::move(w));
}

void MemoryRoomStateStore::erase(std::uint64_t room, const std::string& key,
                                 std::function<void(RoomStateWrite)> done) {
    RoomStateWrite w;
    {
        std::lock_guard lock(mu_);
        auto r = rooms_.find(room);
        auto it = r == rooms_.end() ? std::map<std::string, RoomStateItem>::iterator{}
                                    : r->second.items.find(key);
        if (r == rooms_.end() || it == r->second.items.end()) {
            w.status = RoomStateWrite::Status::Absent;
        } else {
            r->second.bytes -= it->second.value.size();
            r->second.items.erase(it);
            w.version = ++r->second.version;
        }
    }
    done(std::move(w));
}

void MemoryRoomStateStore::get(std::uint64_t room, std::function<void(RoomStateSnapshot)> done) {
    RoomStateSnapshot s;
    {
        std::lock_guard lock(mu_);
        if (auto r = rooms_.find(room); r != rooms_.end()) {
            s.items = r->second.items;
            s.version = r->second.version;
        }
    }
    done(std::move(s));
}

}  // namespace lp::router
