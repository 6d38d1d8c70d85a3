// tests/plugins/room_hook_runner_test: the room hooks on the real plugin host and its runner,
// without a node: filters chain in load order (a rewrite feeds the next, the first deny ends
// it), a filter past plugins.filter_timeout_ms passes the original text when failing open and
// is refused when failing closed (its late answer dropped and counted), a filter that throws
// follows the same policy, visits reach only plugins that asked for them, in order per user,
// and a plugin declaring no hooks leaves the host with none (chat stays synchronous).
#include "plugins/host/room_hook_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "codec/prometheus_text.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "sdk_doubles.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::plugins {
namespace {

using namespace std::chrono_literals;
using Outcome = RoomHookRunner::Outcome;

// Rewrites `from` to `to`; "deny" denies, "slow" sleeps 300 ms, "boom" throws.
class Filter final : public sdk::Plugin {
public:
    Filter(std::string name, std::string from, std::string to)
        : name_(std::move(name)), from_(std::move(from)), to_(std::move(to)) {}
    std::string name() const override { return name_; }
    void start(sdk::Context&) override {}
    sdk::RoomHooks room_hooks() const override { return {true, true}; }
    void on_room_enter(const sdk::RoomVisit& v) override {
        std::lock_guard lock(mu);
        visits.push_back("+" + std::to_string(v.room_id) + v.role);
    }
    void on_room_leave(const sdk::RoomVisit& v) override {
        std::lock_guard lock(mu);
        visits.push_back("-" + std::to_string(v.room_id));
    }
    sdk::ChatVerdict filter_chat(const sdk::ChatToFilter& c) override {
        ++seen;
        if (c.text.find("boom") != std::string::npos) throw std::runtime_error("boom");
        if (c.text.find("deny") != std::string::npos) return sdk::ChatVerdict::deny("no: " + name_);
        if (c.text.find("slow") != std::string::npos) std::this_thread::sleep_for(300ms);
        auto at = c.text.find(from_);
        if (at == std::string::npos) return sdk::ChatVerdict::allow();
        std::string out = c.text;
        out.replace(at, from_.size(), to_);
        return sdk::ChatVerdict::rewrite(out);
    }
    std::mutex mu;
    std::vector<std::string> visits;
    std::atomic<int> seen{0};

private:
    std::string name_, from_, to_;
};

class NoHooks final : public sdk::Plugin {
public:
    std::string name() const override { return "plain"; }
    void start(sdk::Context&) override {}
};

class RoomHookRunnerTest : public ::testing::Test {
protected:
    void make(std::vector<std::string> enabled, RoomHookOptions o = {}) {
        HostOptions ho;
        ho.node_id = "t";
        ho.enabled = std::move(enabled);
        host_ = std::make_unique<PluginHost>(ho, push_, memory_stores(), jobs_, events_);
        host_->add_builtin("a", [this] {
            auto p = std::make_unique<Filter>("a", "cat", "dog");
            a_ = p.get();
            return p;
        });
        host_->add_builtin("b", [this] {
            auto p = std::make_unique<Filter>("b", "dog", "bird");
            b_ = p.get();
            return p;
        });
        host_->add_builtin("plain", [] { return std::make_unique<NoHooks>(); });
        host_->load();
        host_->start();
        runner_ = std::make_unique<RoomHookRunner>(*host_, o);
    }

    RoomHookRunner::FilterResult judge(const std::string& text, std::uint64_t user = 7) {
        std::promise<RoomHookRunner::FilterResult> got;
        auto f = got.get_future();
        sdk::ChatToFilter c;
        c.user_id = user;
        c.room_id = 1;
        c.text = text;
        runner_->filter_chat(c, [&got](RoomHookRunner::FilterResult r) { got.set_value(r); });
        EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
        return f.get();
    }

    double metric(const std::string& line) {
        codec::PromText m;
        runner_->write_metrics(m);
        return prom_value(m.take(), line);
    }

    NoPush push_;
    NoEvents events_;
    MemoryJobQueue jobs_;
    std::unique_ptr<PluginHost> host_;
    std::unique_ptr<RoomHookRunner> runner_;
    Filter* a_ = nullptr;
    Filter* b_ = nullptr;
};

TEST_F(RoomHookRunnerTest, FiltersChainInLoadOrderAndTheFirstDenyEndsIt) {
    make({"a", "b"});
    auto r = judge("my cat");
    EXPECT_EQ(r.outcome, Outcome::Rewritten);
    EXPECT_TRUE(r.pass);
    EXPECT_EQ(r.text, "my bird") << "b saw a's rewrite";
    r = judge("hello");
    EXPECT_EQ(r.outcome, Outcome::Allowed);
    EXPECT_EQ(r.text, "hello");
    const int b_seen = b_->seen;
    r = judge("deny this");
    EXPECT_EQ(r.outcome, Outcome::Denied);
    EXPECT_FALSE(r.pass);
    EXPECT_EQ(r.reason, "no: a");
    EXPECT_EQ(b_->seen, b_seen) << "after a deny, the next filter is not asked";
    EXPECT_EQ(metric(R"(livepush_chat_filter_total{result="rewritten"})"), 1);
    EXPECT_EQ(metric(R"(livepush_chat_filter_total{result="allowed"})"), 1);
    EXPECT_EQ(metric(R"(livepush_chat_filter_total{result="denied"})"), 1);
}

TEST_F(RoomHookRunnerTest, PastTheTimeoutFailOpenPassesTheOriginalAndDropsTheLateAnswer) {
    RoomHookOptions o;
    o.filter_timeout = 50ms;
    o.fail_open = true;
    make({"a"}, o);
    auto r = judge("slow cat");
    EXPECT_EQ(r.outcome, Outcome::TimedOut);
    EXPECT_TRUE(r.pass);
    EXPECT_EQ(r.text, "slow cat") << "unjudged: the original text, not the late rewrite";
    EXPECT_TRUE(testing::eventually([&] { return metric("livepush_chat_filter_late_total") == 1; },
                                    5000ms));
    EXPECT_EQ(metric(R"(livepush_chat_filter_total{result="timeout"})"), 1);
}

TEST_F(RoomHookRunnerTest, PastTheTimeoutFailClosedRefusesAndAThrowingFilterToo) {
    RoomHookOptions o;
    o.filter_timeout = 50ms;
    o.fail_open = false;
    make({"a"}, o);
    auto r = judge("slow");
    EXPECT_EQ(r.outcome, Outcome::TimedOut);
    EXPECT_FALSE(r.pass);
    EXPECT_NE(r.reason.find("plugins.filter_timeout_ms"), std::string::npos) << r.reason;
    // Once the sleeper is done: a chat queued behind it on its worker would time out too.
    ASSERT_TRUE(testing::eventually([&] { return metric("livepush_chat_filter_late_total") == 1; },
                                    5000ms));
    r = judge("boom");
    EXPECT_EQ(r.outcome, Outcome::Failed);
    EXPECT_FALSE(r.pass);
    EXPECT_EQ(metric(R"(livepush_chat_filter_total{result="failed"})"), 1);
}

TEST_F(RoomHookRunnerTest, VisitsReachThePluginsInOrderAndAPluginWithoutHooksAddsNone) {
    make({"a", "plain"});
    EXPECT_TRUE(runner_->wants_room_visits());
    runner_->entered({7, 1, "viewer"});
    runner_->entered({7, 2, "guest"});
    runner_->left({7, 1, "viewer"});
    ASSERT_TRUE(testing::eventually(
        [&] {
            std::lock_guard lock(a_->mu);
            return a_->visits.size() == 3;
        },
        5000ms));
    std::lock_guard lock(a_->mu);
    EXPECT_EQ(a_->visits, (std::vector<std::string>{"+1viewer", "+2guest", "-1"}));
}

TEST_F(RoomHookRunnerTest, WithoutAHookingPluginTheHostHasNoHooks) {
    make({"plain"});
    EXPECT_FALSE(host_->wants_room_visits());
    EXPECT_FALSE(host_->filters_chat());
}

}  // namespace
}  // namespace lp::plugins
