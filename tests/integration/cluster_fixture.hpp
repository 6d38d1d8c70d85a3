// tests/integration/cluster_fixture: three real livepushd nodes sharing a real redis-server on
// loopback, for the cluster suites (cluster_test, plugin_cluster_test). Each test gets a fresh
// redis-server and its own nodes; a node can be restarted with the same node id.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "redis_server.hpp"
#include "test_clients.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::testing {

class ClusterFixture : public ::testing::Test {
protected:
    static constexpr int kNodes = 3;

    void SetUp() override { redis_ = std::make_unique<RedisServer>(redis_args()); }
    virtual std::vector<std::string> redis_args() { return {}; }

    // Starts n1..n3 with `extra` flags and waits until each sees all three.
    void start_nodes(std::vector<std::string> extra = {}) {
        extra_ = std::move(extra);
        for (int i = 0; i < kNodes; ++i) start_node(i);
        for (int i = 0; i < kNodes; ++i) {
            ASSERT_TRUE(eventually([&] { return metric(i, "livepush_cluster_nodes") == kNodes; },
                                   std::chrono::milliseconds(5000)))
                << "node " << i + 1 << " does not see " << kNodes << " nodes";
        }
    }

    // (Re)starts node i with its id, the shared Redis and the flags start_nodes was given.
    void start_node(int i) {
        api_[i].reset();
        nodes_[i].reset();
        std::vector<std::string> args = {
            "--redis",       "127.0.0.1:" + std::to_string(redis_->port()),
            "--node-id",     "n" + std::to_string(i + 1),
            "--link-listen", "127.0.0.1:0",
            "--loops",       "1"};
        args.insert(args.end(), extra_.begin(), extra_.end());
        nodes_[i] = std::make_unique<NodeProcess>(args);
        api_[i] = std::make_unique<HttpClient>(nodes_[i]->api_port());
    }

    double metric(int node, const std::string& name) {
        return metric_value(api_[node]->get("/metrics").body, name);
    }

    std::unique_ptr<client::Connection> login(int node, std::uint64_t user,
                                              const std::string& platform = "android",
                                              client::Transport t = client::Transport::Tcp,
                                              const std::string& role = "viewer") {
        return login_with(client_options(*nodes_[node], t), token_for(user, 3600, role), platform);
    }

    boost::json::object post(int node, const std::string& path, const std::string& body,
                             int status = 200) {
        return post_json(*api_[node], path, body, status);
    }

    // True once `node` sees `user` online: a login's route is bound in Redis after LOGIN_RESULT,
    // so a push through another node sent sooner finds no route.
    bool routed(int node, std::uint64_t user) {
        return eventually(
            [&] {
                auto r = api_[node]->get("/v1/users/" + std::to_string(user));
                if (r.status != 200) return false;
                const boost::json::value body = r.json();  // kept: `online` points into it
                const auto* online =
                    body.is_object() ? body.as_object().if_contains("online") : nullptr;
                return online && online->is_bool() && online->as_bool();
            },
            std::chrono::milliseconds(10000));
    }

    boost::json::object get(int node, const std::string& path) {
        return api_[node]->get(path).json().as_object();
    }

    // The first room id from `from` (up to `from + span`) whose home is node `home` (0-based),
    // or 0 if none is: lets a test pick which node is the room's home.
    std::uint64_t room_homed_at(int home, std::uint64_t from, std::uint64_t span = 300) {
        const std::string name = "n" + std::to_string(home + 1);
        for (std::uint64_t r = from; r < from + span; ++r)
            if (get(0, "/v1/rooms/" + std::to_string(r)).at("home").as_string() == name) return r;
        return 0;
    }

    std::unique_ptr<RedisServer> redis_;
    std::array<std::unique_ptr<NodeProcess>, kNodes> nodes_;
    std::array<std::unique_ptr<HttpClient>, kNodes> api_;

private:
    std::vector<std::string> extra_;
};

}  // namespace lp::testing
