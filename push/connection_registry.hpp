// push/connection_registry: the internal API's open connections (http_server), so that stop()
// can close them; the connection cap; and which connections are idle, so that at the cap an idle
// one can make room for a new one.
//
// What it owns: the admission decision at max_connections and the idle bookkeeping. What it
// must never do: close a connection busy with a request for a newcomer, or drop the last strong
// reference to a connection under its lock. A template over the connection (anything with a
// close() callable from any thread) so that its policy is unit-tested without sockets
// (tests/push/connection_registry_test.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lp::push {

// Idle means no request in progress: the connection is waiting for (or still reading) a request
// header. At max_connections a new connection closes the connection that has been idle the
// longest and takes its place; only when every connection is busy with a request (reading its
// body, being answered) is the new one refused. So connections that open and send nothing, or
// half a header, cannot keep real callers out: each new caller pushes the oldest of them out,
// and header_timeout_ms closes the rest. A connection busy with a request is never closed for
// a newcomer.
template <class Connection>
class ConnectionRegistry {
public:
    using Clock = std::chrono::steady_clock;

    enum class Admit { Yes, EvictedIdle, OverLimit, Closing };

    Admit admit(const std::shared_ptr<Connection>& c, std::size_t max) {
        std::shared_ptr<Connection> evicted;
        Admit result = Admit::Yes;
        {
            std::lock_guard lock(mutex_);
            if (closing_) return Admit::Closing;
            if (open_.size() >= max) {
                evicted = take_oldest_idle();
                if (!evicted) return Admit::OverLimit;
                result = Admit::EvictedIdle;
            }
            open_.emplace(c.get(), Entry{c, Clock::now(), true});
        }
        if (evicted) evicted->close();
        return result;
    }
    // A connection starts (true) or stops (false) waiting for a request header.
    void set_idle(const Connection* c, bool idle) {
        std::lock_guard lock(mutex_);
        const auto it = open_.find(c);
        if (it == open_.end() || it->second.evicted) return;
        it->second.idle = idle;
        if (idle) it->second.idle_since = Clock::now();
    }
    void remove(const Connection* c) {
        std::lock_guard lock(mutex_);
        open_.erase(c);
    }
    // From now on nothing is admitted; returns everything open.
    std::vector<std::shared_ptr<Connection>> close_all() {
        std::vector<std::shared_ptr<Connection>> all;
        std::lock_guard lock(mutex_);
        closing_ = true;
        for (const auto& [ptr, entry] : open_) {
            if (auto c = entry.connection.lock()) all.push_back(std::move(c));
        }
        return all;
    }

private:
    struct Entry {
        std::weak_ptr<Connection> connection;
        Clock::time_point idle_since;
        bool idle = true;
        bool evicted = false;  // being closed; it still counts until it is gone
    };

    // Linear in the open connections, and only at the cap: 1,024 entries scanned per accept
    // there costs less than keeping an ordered index up to date on every request. No strong
    // reference is dropped under the lock (a last one would run the connection's destructor,
    // which takes it).
    std::shared_ptr<Connection> take_oldest_idle() {
        for (;;) {
            Entry* oldest = nullptr;
            for (auto& [ptr, entry] : open_) {
                if (!entry.idle || entry.evicted) continue;
                if (!oldest || entry.idle_since < oldest->idle_since) oldest = &entry;
            }
            if (!oldest) return nullptr;
            // It keeps its entry (and counts) until its socket is closed, but is not picked
            // again. One already being destroyed is passed over: its destructor removes it.
            oldest->evicted = true;
            if (auto alive = oldest->connection.lock()) return alive;
        }
    }

    std::mutex mutex_;
    bool closing_ = false;
    std::unordered_map<const Connection*, Entry> open_;
};

}  // namespace lp::push
