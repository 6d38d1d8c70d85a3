// tests/plugins/plugin_host_test: the host's dispatch and guards, on its real memory store and
// job queue: BIZ types, routes, event topics and job topics reach the plugin that owns them;
// event ids are de-duplicated within the window and forget() undoes a mark (a Kafka partition
// that moved away mid-retry); a plugin that throws is counted and isolated; one whose start()
// throws is disabled; two plugins claiming one BIZ type are refused at load.
#include "plugins/host/plugin_host.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "codec/prometheus_text.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "sdk_doubles.hpp"

namespace lp::plugins {
namespace {

// Counts what reaches it; "boom" anywhere makes it throw.
class Recorder final : public sdk::Plugin {
public:
    explicit Recorder(std::string name, std::string biz = "rec.do", bool fail_start = false)
        : name_(std::move(name)), biz_(std::move(biz)), fail_start_(fail_start) {}
    std::string name() const override { return name_; }
    std::vector<std::string> biz_types() const override { return {biz_}; }
    std::vector<std::string> guest_biz_types() const override { return guest_types; }
    std::vector<sdk::Route> routes() const override { return {{"POST", "/v1/" + name_ + "/do"}}; }
    std::vector<std::string> event_topics() const override { return {"gift"}; }
    std::vector<std::string> job_topics() const override { return {name_ + "-job"}; }
    void start(sdk::Context& ctx) override {
        if (fail_start_) throw std::runtime_error("no config");
        ctx_ = &ctx;
    }
    sdk::Reply on_biz(const sdk::BizRequest& req) override {
        if (req.data_json.find("boom") != std::string::npos) throw std::runtime_error("boom");
        ++biz;
        return {0, {}, "{\"user\":" + std::to_string(req.user_id) + "}"};
    }
    sdk::Reply on_http(const sdk::HttpRequest& req) override {
        if (req.body.find("boom") != std::string::npos) throw std::logic_error("boom");
        ++http;
        return {200, {}, "{}"};
    }
    void on_event(const std::string&, const std::string&, const std::string& value) override {
        if (value.find("boom") != std::string::npos) throw std::runtime_error("boom");
        ++events;
    }
    void on_job(const std::string&, const std::string&, const std::string& body) override {
        if (body == "boom") throw 42;  // not even an exception type
        ++jobs;
    }

    std::atomic<int> biz{0}, http{0}, events{0}, jobs{0};
    std::vector<std::string> guest_types;  // opened to guests

private:
    std::string name_, biz_;
    bool fail_start_;
    sdk::Context* ctx_ = nullptr;
};

class PluginHostTest : public ::testing::Test {
protected:
    PluginHost& host(std::vector<std::string> enabled) {
        HostOptions o;
        o.node_id = "t";
        o.enabled = std::move(enabled);
        host_ = std::make_unique<PluginHost>(o, push_, memory_stores(), jobs_, events_);
        host_->add_builtin("rec", [this] {
            auto p = std::make_unique<Recorder>("rec");
            rec_ = p.get();
            return p;
        });
        host_->add_builtin("other", [this] {
            auto p = std::make_unique<Recorder>("other", "other.do");
            other_ = p.get();
            return p;
        });
        host_->add_builtin("same-biz",
                           [] { return std::make_unique<Recorder>("same-biz", "rec.do"); });
        host_->add_builtin("broken",
                           [] { return std::make_unique<Recorder>("broken", "broken.do", true); });
        host_->add_builtin("guest-open", [] {
            auto p = std::make_unique<Recorder>("guest-open", "open.do");
            p->guest_types = {"open.do"};
            return p;
        });
        host_->add_builtin("guest-stranger", [] {  // opens a type it does not own
            auto p = std::make_unique<Recorder>("guest-stranger", "stranger.do");
            p->guest_types = {"rec.do"};
            return p;
        });
        return *host_;
    }

    double metric(const std::string& line) {
        codec::PromText m;
        host_->write_metrics(m);
        return prom_value(m.take(), line);
    }

    NoPush push_;
    NoEvents events_;
    MemoryJobQueue jobs_;
    std::unique_ptr<PluginHost> host_;
    Recorder* rec_ = nullptr;
    Recorder* other_ = nullptr;
};

TEST_F(PluginHostTest, EachKindOfCallReachesItsOwner) {
    auto& h = host({"rec", "other"});
    h.load();
    h.start();
    auto r = h.biz({7, "viewer", "other.do", "{}"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.data_json, "{\"user\":7}");
    EXPECT_EQ(other_->biz, 1);
    EXPECT_EQ(rec_->biz, 0);
    EXPECT_NE(h.biz({7, "viewer", "nobody.do", "{}"}).code, 0)
        << "an unknown BIZ type is an error reply";
    EXPECT_EQ(h.http("rec", {"POST", "/v1/rec/do", {}, "{}"}).code, 200);
    EXPECT_EQ(rec_->http, 1);
    EXPECT_TRUE(h.job("rec-job", "1", "x"));
    EXPECT_EQ(rec_->jobs, 1);
    EXPECT_EQ(other_->jobs, 0);
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"e1"})"));
    EXPECT_EQ(rec_->events, 1) << "every consumer of a topic gets the event";
    EXPECT_EQ(other_->events, 1);
    EXPECT_TRUE(h.event("unknown-topic", "k", "{}")) << "nobody consumes it: nothing to do";
}

TEST_F(PluginHostTest, AnEventIdIsHandledOnceUntilForgotten) {
    auto& h = host({"rec"});
    h.load();
    h.start();
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"e1","n":1})"));
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"e1","n":2})"));
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":7})"));
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"7"})")) << "a number and its text are one id";
    EXPECT_EQ(rec_->events, 2);
    EXPECT_EQ(metric("livepush_events_duplicates_total"), 2);
    // Kafka's path: first_time() admits, the partition moves away before it was handled, and
    // forget() lets the partition's next owner handle it.
    EXPECT_TRUE(h.first_time("gift", "e2"));
    EXPECT_FALSE(h.first_time("gift", "e2"));
    h.forget("gift", "e2");
    EXPECT_TRUE(h.first_time("gift", "e2")) << "forgotten: the next owner may handle it";
    EXPECT_TRUE(h.event("gift", "k", R"({"no_id":1})"));
    EXPECT_TRUE(h.event("gift", "k", R"({"no_id":1})"));
    EXPECT_EQ(rec_->events, 4) << "events without an id are never taken for duplicates";
}

TEST_F(PluginHostTest, NumbersBeyondTheDoubleRangeNeverReachAPlugin) {
    // Boost.JSON reads 1e400 as infinity and writes it back as "Infinity", not JSON: a plugin
    // that parsed and re-serialized such input would push invalid JSON to clients.
    auto& h = host({"rec"});
    h.load();
    h.start();
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"inf","value":1e400})"))
        << "dropped, not retried";
    EXPECT_EQ(rec_->events, 0);
    EXPECT_EQ(metric("livepush_events_invalid_total"), 1);
    EXPECT_EQ(h.http("rec", {"POST", "/v1/rec/do", {}, R"({"a":[1,-1e999]})"}).code, 400);
    EXPECT_EQ(rec_->http, 0);
    EXPECT_EQ(h.http("rec", {"POST", "/v1/rec/do", {}, R"({"a":1e308})"}).code, 200)
        << "finite is fine";
    EXPECT_TRUE(h.event("gift", "k", R"({"event_id":"ok","value":1e308})"));
    EXPECT_EQ(rec_->events, 1);
}

TEST_F(PluginHostTest, AThrowingPluginIsCountedAndKeepsServing) {
    auto& h = host({"rec"});
    h.load();
    h.start();
    auto r = h.biz({1, "viewer", "rec.do", "\"boom\""});
    EXPECT_NE(r.code, 0) << "an error reply, not an exception";
    EXPECT_EQ(h.http("rec", {"POST", "/v1/rec/do", {}, "boom"}).code, 500);
    EXPECT_FALSE(h.event("gift", "k", R"({"event_id":"b","x":"boom"})"));
    EXPECT_FALSE(h.job("rec-job", "1", "boom")) << "a throw of a non-exception is caught too";
    EXPECT_EQ(metric("livepush_plugin_failures_total{plugin=\"rec\"}"), 4);
    EXPECT_EQ(h.biz({1, "viewer", "rec.do", "{}"}).code, 0) << "and it keeps serving";
    EXPECT_EQ(metric("livepush_plugin_enabled{plugin=\"rec\"}"), 1);
}

TEST_F(PluginHostTest, APluginWhoseStartThrowsIsDisabledAlone) {
    auto& h = host({"rec", "broken"});
    h.load();
    h.start();
    EXPECT_EQ(metric("livepush_plugin_enabled{plugin=\"broken\"}"), 0);
    EXPECT_EQ(metric("livepush_plugin_enabled{plugin=\"rec\"}"), 1);
    EXPECT_NE(h.biz({1, "viewer", "broken.do", "{}"}).code, 0);
    EXPECT_EQ(h.biz({1, "viewer", "rec.do", "{}"}).code, 0);
}

TEST_F(PluginHostTest, ConflictsAndUnknownNamesAreRefusedAtLoad) {
    EXPECT_THROW(host({"rec", "same-biz"}).load(), std::runtime_error) << "two owners of rec.do";
    EXPECT_THROW(host({"nonexistent"}).load(), std::runtime_error);
}

TEST_F(PluginHostTest, APluginOpensOnlyItsOwnBizTypesToGuests) {
    auto& h = host({"rec", "guest-open"});
    h.load();
    EXPECT_TRUE(h.open_to_guests("open.do"));
    EXPECT_FALSE(h.open_to_guests("rec.do")) << "closed unless the plugin lists it";
    EXPECT_FALSE(h.open_to_guests("unknown.do"));
    EXPECT_THROW(host({"rec", "guest-stranger"}).load(), std::runtime_error)
        << "rec.do is rec's, not the stranger's";
    EXPECT_THROW(host({"guest-stranger"}).load(), std::runtime_error) << "a type nobody declares";
}

// ---------------------------------------------------------------- plugin workers

TEST(KeyedWorkersTest, OneKeysTasksRunInOrderOthersAlongside) {
    KeyedWorkers w(2, 1000);
    std::uint64_t other = 2;
    while (w.worker_of(other) == w.worker_of(1)) ++other;
    std::mutex mu;
    std::vector<int> order;
    std::atomic<bool> other_ran{false};
    std::atomic<bool> first_saw_other{false};
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(w.submit(1, [&, i] {
            if (i == 0) {  // blocks key 1's worker until the other key's task has run
                for (int spin = 0; spin < 5000 && !other_ran; ++spin)
                    std::this_thread::sleep_for(std::chrono::milliseconds(1));
                first_saw_other = other_ran.load();
            }
            std::lock_guard lk(mu);
            order.push_back(i);
        }));
    }
    ASSERT_TRUE(w.submit(other, [&] { other_ran = true; }));
    w.stop();
    std::vector<int> expected(50);
    for (int i = 0; i < 50; ++i) expected[i] = i;
    EXPECT_EQ(order, expected) << "one key's tasks run one at a time, in submit order";
    EXPECT_TRUE(first_saw_other) << "a key on another worker is not held up by a slow one";
    EXPECT_EQ(w.stats().run, 51u);
    EXPECT_EQ(w.stats().queued, 0u);
}

TEST(KeyedWorkersTest, AFullQueueRefusesAndStopRunsWhatWasQueued) {
    KeyedWorkers w(1, 2);
    std::mutex gate_mu;
    std::condition_variable gate_cv;
    bool open = false;
    std::atomic<int> ran{0};
    ASSERT_TRUE(w.submit(1, [&] {
        std::unique_lock lk(gate_mu);
        gate_cv.wait(lk, [&] { return open; });
        ran++;
    }));
    // The first task is running (or about to): two more fit, the next does not.
    for (int spin = 0; spin < 1000 && w.stats().queued != 0; ++spin)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(w.submit(1, [&] { ran++; }));
    EXPECT_TRUE(w.submit(2, [&] { throw std::runtime_error("a task that throws"); }));
    EXPECT_FALSE(w.submit(3, [&] { ran++; })) << "max_queue waiting: refused";
    EXPECT_EQ(w.stats().rejected, 1u);
    {
        std::lock_guard lk(gate_mu);
        open = true;
    }
    gate_cv.notify_all();
    w.stop();
    EXPECT_EQ(ran.load(), 2) << "what was queued ran; a throwing task did not stop the worker";
    EXPECT_FALSE(w.submit(1, [] {})) << "stopped: refused";
    EXPECT_THROW(KeyedWorkers(0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace lp::plugins
