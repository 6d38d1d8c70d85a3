// tests/plugins/shared_redis: one real redis-server per test process, and clients connected to it.
//
// The server starts on first use (a test binary that only lists its tests starts none) and is
// stopped when the process exits; every test flushes it first, so tests never see each other's
// keys.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "redis/client.hpp"
#include "redis_server.hpp"

namespace lp::plugins::test {

inline lp::testing::RedisServer& shared_redis() {
    static const auto server = std::make_unique<lp::testing::RedisServer>();
    return *server;
}

// A started client of shared_redis(), connected when this returns.
inline std::unique_ptr<redis::Client> connected_client() {
    using namespace std::chrono_literals;
    redis::Client::Options o;
    o.host = shared_redis().host();
    o.port = shared_redis().port();
    o.command_timeout = 2000ms;  // sanitizer builds on a shared machine are slow
    auto client = std::make_unique<redis::Client>(o);
    client->start();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!client->connected()) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("redis: no connection");
        std::this_thread::sleep_for(2ms);
    }
    return client;
}

// Empties the shared server (every test starts from nothing).
inline void flush_redis(redis::Client& client) {
    using namespace std::chrono_literals;
    if (!client.command_sync({"FLUSHALL"}, 5000ms).is_status("OK")) {
        throw std::runtime_error("redis: FLUSHALL failed");
    }
}

}  // namespace lp::plugins::test
