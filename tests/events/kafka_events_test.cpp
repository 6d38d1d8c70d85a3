// tests/events/kafka_events: the node's Kafka consumer and producer against librdkafka's mock
// cluster (3 brokers, in process, loopback ports chosen at run time), plus kcat as a producer in
// another process. Set LP_KAFKA_TEST_LOG=1 to see the clients' log lines, and
// LP_KAFKA_TEST_DEBUG to a librdkafka debug list ("cgrp,fetch") for theirs.
// LP_KAFKA_TEST_ASSIGNOR=cooperative-sticky runs it all with that assignor (default eager).
#include "events/kafka_events.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/eventually.hpp"
#include "tests/plugins/kafka_mock.hpp"

namespace lp::events {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::KafkaMockCluster;

using lp::testing::eventually;

// The clients' log lines, kept for assertions; printed too with LP_KAFKA_TEST_LOG set.
struct LogLines {
    std::mutex mu;
    std::vector<std::string> lines;
    bool contains(const std::string& s) {
        std::lock_guard lock(mu);
        for (const auto& l : lines) {
            if (l.find(s) != std::string::npos) return true;
        }
        return false;
    }
};

struct Event {
    std::string topic, key, value;
};

// Thread-safe collector of handled events (a trivial handler).
class Sink {
public:
    bool operator()(const std::string& topic, const std::string& key, const std::string& value) {
        std::lock_guard lock(mu_);
        events_.push_back({topic, key, value});
        return true;
    }
    std::size_t size() {
        std::lock_guard lock(mu_);
        return events_.size();
    }
    std::vector<Event> events() {
        std::lock_guard lock(mu_);
        return events_;
    }

private:
    std::mutex mu_;
    std::vector<Event> events_;
};

// FirstTime backed by a set (several "nodes" may share one, as they share Redis).
class Dedupe {
public:
    bool first_time(const std::string& topic, const std::string& id) {
        std::lock_guard lock(mu_);
        return seen_.insert(topic + "/" + id).second;
    }
    void forget(const std::string& topic, const std::string& id) {
        std::lock_guard lock(mu_);
        seen_.erase(topic + "/" + id);
    }

private:
    std::mutex mu_;
    std::set<std::string> seen_;
};

std::string gift(const std::string& event_id, std::uint64_t room = 1, int count = 1) {
    return R"({"event_id":")" + event_id + R"(","room_id":)" + std::to_string(room) +
           R"(,"anchor_id":7,"sender_id":42,"gift_id":3,"count":)" + std::to_string(count) +
           R"(,"value":10,"time":1700000000000})";
}

// The "event_id" of a gift() value (enough for these tests: no JSON library needed).
std::string event_id_of(const std::string& value) {
    const std::string tag = R"("event_id":")";
    const auto at = value.find(tag);
    if (at == std::string::npos) return {};
    const auto from = at + tag.size();
    return value.substr(from, value.find('"', from) - from);
}

class KafkaEventsTest : public ::testing::Test {
protected:
    KafkaEventsTest() { kafka.create_topic("gift", 3); }

    KafkaOptions options(const std::string& node, const std::string& group = "livepush") {
        KafkaOptions o;
        o.brokers = kafka.bootstraps();
        o.group = group;
        o.client_id = node;
        o.topics = {"gift"};
        o.retry_backoff_min = 50ms;
        o.retry_backoff_max = 1000ms;
        // Short group timings so that rebalances take a second, not a minute (the mock
        // coordinator waits session_timeout - 1 s for members to rejoin, and holds a group's
        // first join for 3 s, so the session must outlast that).
        o.session_timeout = 4000ms;
        o.heartbeat_interval = 300ms;
        // The mock broker answers a fetch only when fetch.wait.max.ms is up, even if data came
        // in meanwhile (a real broker answers at once): keep that wait short.
        o.rdkafka_config["fetch.wait.max.ms"] = "50";
        if (const char* debug = std::getenv("LP_KAFKA_TEST_DEBUG"))
            o.rdkafka_config["debug"] = debug;
        if (const char* a = std::getenv("LP_KAFKA_TEST_ASSIGNOR")) o.assignment_strategy = a;
        o.commit_interval = 100ms;
        o.stats_interval = 200ms;
        o.flush_timeout = 1000ms;
        o.close_timeout = 2000ms;
        o.log = [lines = log, print = std::getenv("LP_KAFKA_TEST_LOG") != nullptr, node](
                    int level, std::string_view line) {
            std::string l = node + " " + std::to_string(level) + " " + std::string(line);
            if (print) {
                static const auto t0 = Clock::now();
                std::fprintf(stderr, "%7.3f %s\n",
                             std::chrono::duration<double>(Clock::now() - t0).count(), l.c_str());
            }
            std::lock_guard lock(lines->mu);
            lines->lines.push_back(std::move(l));
        };
        return o;
    }

    static std::unique_ptr<KafkaEvents> node(KafkaOptions o, Sink& sink, Dedupe* dedupe = nullptr) {
        KafkaEvents::FirstTime first;
        KafkaEvents::Forget forget;
        if (dedupe) {
            first = [dedupe](const std::string& t, const std::string& id) {
                return dedupe->first_time(t, id);
            };
            forget = [dedupe](const std::string& t, const std::string& id) {
                dedupe->forget(t, id);
            };
        }
        return std::make_unique<KafkaEvents>(
            std::move(o),
            [&sink](const std::string& t, const std::string& k, const std::string& v) {
                return sink(t, k, v);
            },
            std::move(first), std::move(forget));
    }

    KafkaMockCluster kafka{3};
    std::shared_ptr<LogLines> log = std::make_shared<LogLines>();
};

TEST_F(KafkaEventsTest, ConsumesEventsFromOurOwnProducerInKeyOrder) {
    Sink sink;
    auto n = node(options("node-a"), sink);
    n->start();
    constexpr int kEvents = 30;
    for (int i = 0; i < kEvents; ++i) {
        const std::string room = "room" + std::to_string(i % 3);
        ASSERT_TRUE(n->produce("gift", room, gift("e" + std::to_string(i), i % 3)));
    }
    ASSERT_TRUE(eventually([&] { return sink.size() == kEvents; }, 15s)) << sink.size();
    EXPECT_EQ(n->stats().handled, kEvents);
    EXPECT_EQ(n->stats().consumed, kEvents);
    EXPECT_EQ(n->stats().produced, kEvents);
    EXPECT_EQ(n->stats().offset_resets, 0u) << "a new group's first start is not an offset reset";
    EXPECT_TRUE(n->brokers_up());

    // Same key, same partition: each room's events arrive in the order they were produced.
    std::map<std::string, std::vector<int>> by_room;
    for (const Event& e : sink.events()) {
        EXPECT_EQ(e.topic, "gift");
        by_room[e.key].push_back(std::stoi(event_id_of(e.value).substr(1)));
    }
    ASSERT_EQ(by_room.size(), 3u);
    for (const auto& [room, ids] : by_room) {
        EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << room;
        EXPECT_EQ(ids.size(), kEvents / 3u) << room;
    }
    EXPECT_TRUE(eventually([&] { return n->stats().committed > 0; }, 5s));
}

TEST_F(KafkaEventsTest, HandlesEventsProducedByKcatInAnotherProcess) {
    Sink sink;
    auto n = node(options("node-a"), sink);
    n->start();

    const std::string cmd = "kcat -P -b '" + kafka.bootstraps() + "' -t gift -k room1";
    FILE* kcat = ::popen(cmd.c_str(), "w");
    ASSERT_NE(kcat, nullptr);
    for (int i = 0; i < 5; ++i) {
        const std::string line = gift("kcat-" + std::to_string(i), 1) + "\n";
        std::fwrite(line.data(), 1, line.size(), kcat);
    }
    const int status = ::pclose(kcat);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "kcat failed: " << status;

    ASSERT_TRUE(eventually([&] { return sink.size() == 5; }, 15s)) << sink.size();
    const auto events = sink.events();
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(events[i].key, "room1");
        EXPECT_EQ(event_id_of(events[i].value),
                  "kcat-" + std::to_string(i));  // one partition: in order
    }
}

// Commits `offset` for every partition of topic gift for `group`, as a group member would.
void commit_offset(const std::string& bootstraps, const std::string& group, std::int64_t offset,
                   int partitions) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    ASSERT_NE(rk, nullptr) << err;
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
        rd_kafka_topic_partition_list_add(list, "gift", p)->offset = offset;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 50; ++attempt) {  // the coordinator takes a moment to be known
        e = rd_kafka_commit(rk, list, 0);
        if (!e) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

TEST_F(KafkaEventsTest, AnOutOfRangePositionIsCountedAndResumesFromTheEarliest) {
    // Events the group never read were deleted (retention) or the topic was recreated: the
    // committed offset is past the log's end. The consumer must not stall there; it restarts
    // from the earliest offset, and the jump is counted (an operator must know events may be
    // lost), not only logged.
    const std::string cmd = "kcat -P -b '" + kafka.bootstraps() + "' -t gift -k room1";
    FILE* kcat = ::popen(cmd.c_str(), "w");
    ASSERT_NE(kcat, nullptr);
    for (int i = 0; i < 3; ++i) {
        const std::string line = gift("reset-" + std::to_string(i), 1) + "\n";
        std::fwrite(line.data(), 1, line.size(), kcat);
    }
    ASSERT_EQ(::pclose(kcat), 0);
    commit_offset(kafka.bootstraps(), "reset-group", 1000, 3);

    Sink sink;
    auto n = node(options("node-a", "reset-group"), sink);
    n->start();
    ASSERT_TRUE(eventually([&] { return sink.size() == 3; }, 15s)) << sink.size();
    EXPECT_GE(n->stats().offset_resets, 1u);
}

TEST_F(KafkaEventsTest, TwoNodesInOneGroupHandleEachEventOnce) {
    Sink sink_a, sink_b;
    Dedupe dedupe;  // shared, as the nodes share Redis
    auto a = node(options("node-a"), sink_a, &dedupe);
    auto b = node(options("node-b"), sink_b, &dedupe);
    a->start();
    b->start();
    // Both in the group, the 3 partitions split between them.
    ASSERT_TRUE(eventually(
        [&] {
            const auto pa = a->stats().assigned_partitions.load();
            const auto pb = b->stats().assigned_partitions.load();
            return pa > 0 && pb > 0 && pa + pb == 3;
        },
        20s));

    constexpr int kFirst = 150, kSecond = 150;
    for (int i = 0; i < kFirst; ++i) {
        ASSERT_TRUE(
            a->produce("gift", "room" + std::to_string(i % 10), gift("e" + std::to_string(i))));
    }
    ASSERT_TRUE(eventually([&] { return sink_a.size() + sink_b.size() == kFirst; }, 15s));
    EXPECT_GT(sink_a.size(), 0u);
    EXPECT_GT(sink_b.size(), 0u);
    // Let the periodic commits land: the mock coordinator refuses commits once a rebalance has
    // begun (a real broker takes them until the new generation starts), so a commit still due
    // when b leaves would fail and a would see those events again (its dedupe would catch them).
    std::this_thread::sleep_for(3 * 100ms);

    // Node b leaves: a takes its partitions over from b's committed offsets.
    b->stop();
    ASSERT_TRUE(eventually([&] { return a->stats().assigned_partitions == 3; }, 15s));
    for (int i = kFirst; i < kFirst + kSecond; ++i) {
        ASSERT_TRUE(
            a->produce("gift", "room" + std::to_string(i % 10), gift("e" + std::to_string(i))));
    }
    ASSERT_TRUE(eventually([&] { return sink_a.size() + sink_b.size() >= kFirst + kSecond; }, 15s));
    std::this_thread::sleep_for(300ms);  // anything handled twice would show up by now

    std::set<std::string> ids;
    for (const Event& e : sink_a.events()) ids.insert(event_id_of(e.value));
    for (const Event& e : sink_b.events()) ids.insert(event_id_of(e.value));
    EXPECT_EQ(ids.size(), std::size_t{kFirst + kSecond});
    EXPECT_EQ(sink_a.size() + sink_b.size(), std::size_t{kFirst + kSecond});
    EXPECT_EQ(a->stats().handled + b->stats().handled, std::uint64_t{kFirst + kSecond});
    // Usually b's commit on its way out means a needs no dedupe at all, but under a slow
    // (sanitizer) build that commit can miss the rebalance; the dedupe then drops the repeats,
    // which is the property asserted above: every event handled exactly once.
}

TEST_F(KafkaEventsTest, SameEventIdTwiceIsHandledOnce) {
    Sink sink;
    Dedupe dedupe;
    auto n = node(options("node-a"), sink, &dedupe);
    n->start();
    ASSERT_TRUE(n->produce("gift", "room1", gift("dup-1")));
    ASSERT_TRUE(n->produce("gift", "room1", gift("dup-1", 1, 5)));  // a redelivery upstream
    ASSERT_TRUE(n->produce("gift", "room1", R"({"event_id":12345,"room_id":1})"));  // numeric id
    ASSERT_TRUE(n->produce("gift", "room1", R"({"event_id":12345,"room_id":1})"));
    ASSERT_TRUE(n->produce("gift", "room1", R"({"room_id":1})"));  // no id: nothing to dedupe by
    ASSERT_TRUE(n->produce("gift", "room1", R"({"room_id":1})"));
    ASSERT_TRUE(eventually([&] { return n->stats().handled + n->stats().duplicates == 6; }, 15s));
    EXPECT_EQ(n->stats().handled, 4u);
    EXPECT_EQ(n->stats().duplicates, 2u);
    const auto events = sink.events();
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].value, gift("dup-1"));  // the first one wins
    EXPECT_EQ(events[1].value, R"({"event_id":12345,"room_id":1})");
}

TEST_F(KafkaEventsTest, HandledAndSkippedEventsAreNotSeenAgainByTheNextConsumer) {
    {
        Sink sink;
        auto first = node(options("node-a"), sink);
        first->start();
        for (int i = 0; i < 10; ++i) {
            ASSERT_TRUE(first->produce("gift", "room" + std::to_string(i),
                                       gift("old-" + std::to_string(i))));
        }
        ASSERT_TRUE(first->produce("gift", "room0", "{poison"));  // skipped: committed too
        ASSERT_TRUE(
            eventually([&] { return sink.size() == 10 && first->stats().invalid_json == 1; }, 15s));
        first->stop();  // commits what it handled
        EXPECT_GT(first->stats().committed, 0u);
    }
    Sink sink;
    auto second = node(options("node-b"), sink);
    second->start();
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(
            second->produce("gift", "room" + std::to_string(i), gift("new-" + std::to_string(i))));
    }
    ASSERT_TRUE(eventually([&] { return sink.size() >= 5; }, 15s));
    std::this_thread::sleep_for(300ms);
    ASSERT_EQ(sink.size(), 5u);
    EXPECT_EQ(second->stats().invalid_json, 0u);
    for (const Event& e : sink.events()) EXPECT_EQ(event_id_of(e.value).substr(0, 4), "new-");
}

TEST_F(KafkaEventsTest, FailedHandlerIsRetriedWithBackoffAndBlocksItsPartition) {
    Dedupe dedupe;  // a retried message is not taken for its own duplicate
    std::mutex mu;
    std::vector<std::string> order;
    std::map<std::string, int> attempts;
    std::vector<Clock::time_point> attempt_times;
    auto opts = options("node-a");
    KafkaEvents n(
        opts,
        [&](const std::string&, const std::string&, const std::string& value) {
            std::lock_guard lock(mu);
            const std::string id = event_id_of(value);
            const int attempt = ++attempts[id];
            if (id == "flaky") {
                attempt_times.push_back(Clock::now());
                if (attempt == 2) throw std::runtime_error("store unavailable");
                if (attempt <= 3) return false;
            }
            order.push_back(id);
            return true;
        },
        [&, threw = false](const std::string& t, const std::string& id) mutable {
            if (id == "next" && !threw) {  // the dedupe store is down once: retried too
                threw = true;
                throw std::runtime_error("dedupe store down");
            }
            return dedupe.first_time(t, id);
        });
    n.start();
    ASSERT_TRUE(n.produce("gift", "room1", gift("flaky")));
    ASSERT_TRUE(n.produce("gift", "room1", gift("next")));  // same key: waits for "flaky"
    ASSERT_TRUE(eventually([&] { return n.stats().handled == 2; }, 15s));

    std::lock_guard lock(mu);
    EXPECT_EQ(order, (std::vector<std::string>{"flaky", "next"}));
    EXPECT_EQ(attempts["flaky"], 4);
    EXPECT_EQ(attempts["next"], 1);
    EXPECT_EQ(n.stats().handler_failures, 4u);  // 3 of the handler, 1 of first_time
    EXPECT_EQ(n.stats().duplicates, 0u);
    // Backoff 50, 100, 200 ms (doubling from retry_backoff_min).
    ASSERT_EQ(attempt_times.size(), 4u);
    EXPECT_GE(attempt_times[1] - attempt_times[0], 50ms);
    EXPECT_GE(attempt_times[2] - attempt_times[1], 100ms);
    EXPECT_GE(attempt_times[3] - attempt_times[2], 200ms);
    // ...and not much more: the fetcher is woken at once when the partition resumes.
    EXPECT_LT(attempt_times[3] - attempt_times[0], 1500ms);
    EXPECT_TRUE(log->contains("store unavailable"));
    EXPECT_TRUE(log->contains("dedupe store down"));
}

// livepush_kafka_consumer_lag: a partition blocked by a failing event falls behind by what
// arrives after it, and catches up to 0 once the event succeeds.
TEST_F(KafkaEventsTest, ConsumerLagGrowsBehindABlockedPartitionAndReturnsToZero) {
    std::atomic<bool> stuck_fails{true};
    KafkaEvents n(options("node-a"),
                  [&](const std::string&, const std::string&, const std::string& value) {
                      return !(event_id_of(value) == "stuck" && stuck_fails.load());
                  });
    n.start();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(n.produce("gift", "room1", gift("a" + std::to_string(i))));
    ASSERT_TRUE(eventually([&] { return n.stats().handled == 5; }, 15s));
    // Committed (the lag is measured from the committed offset), and nothing behind.
    ASSERT_TRUE(eventually([&] { return n.stats().committed > 0; }, 5s));
    ASSERT_TRUE(eventually([&] { return n.stats().consumer_lag.load() == 0; }, 5s))
        << n.stats().consumer_lag.load();

    constexpr int kBehind = 20;
    ASSERT_TRUE(n.produce("gift", "room1", gift("stuck")));
    for (int i = 0; i < kBehind; ++i)
        ASSERT_TRUE(n.produce("gift", "room1", gift("b" + std::to_string(i))));
    // The committed offset stays at "stuck": the lag is it and everything after it.
    EXPECT_TRUE(eventually([&] { return n.stats().consumer_lag.load() >= kBehind; }, 15s))
        << n.stats().consumer_lag.load();
    EXPECT_EQ(n.stats().handled, 5u);

    stuck_fails = false;
    ASSERT_TRUE(eventually([&] { return n.stats().handled == 5u + 1 + kBehind; }, 15s))
        << n.stats().handled;
    EXPECT_TRUE(eventually([&] { return n.stats().consumer_lag.load() == 0; }, 10s))
        << n.stats().consumer_lag.load();
}

TEST_F(KafkaEventsTest, InvalidJsonIsSkippedCountedAndDoesNotBlockItsPartition) {
    Sink sink;
    auto n = node(options("node-a"), sink);
    n->start();
    ASSERT_TRUE(n->produce("gift", "room1", "{not json"));
    ASSERT_TRUE(n->produce("gift", "room1", "[1,2,3]"));  // JSON, but not an event
    ASSERT_TRUE(n->produce("gift", "room1", ""));
    ASSERT_TRUE(n->produce("gift", "room1", gift("after-poison")));  // same partition, not blocked
    ASSERT_TRUE(eventually([&] { return sink.size() == 1; }, 15s));
    EXPECT_EQ(n->stats().invalid_json, 3u);
    EXPECT_EQ(n->stats().handler_failures, 0u);
    EXPECT_EQ(event_id_of(sink.events()[0].value), "after-poison");
    EXPECT_TRUE(log->contains("invalid JSON"));
    EXPECT_TRUE(eventually([&] { return n->stats().committed > 0; }, 5s));
}

TEST_F(KafkaEventsTest, BrokersDownBuffersProducesAndDeliversWhenBack) {
    Sink sink;
    auto o = options("node-a");
    o.session_timeout = 6000ms;  // the outage is shorter: the node keeps its partitions
    auto n = node(o, sink);
    n->start();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(n->produce("gift", "room1", gift("before-" + std::to_string(i))));
    ASSERT_TRUE(eventually([&] { return sink.size() == 5; }, 15s));
    ASSERT_TRUE(eventually([&] { return n->brokers_up(); }, 5s));

    kafka.set_all_brokers_up(false);
    ASSERT_TRUE(eventually([&] { return !n->brokers_up(); }, 10s));
    EXPECT_GT(n->stats().broker_down_events, 0u);
    EXPECT_EQ(n->stats().brokers_up, 0);
    for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(
            n->produce("gift", "room" + std::to_string(i), gift("during-" + std::to_string(i))));
    }
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(n->stats().produced, 5u);  // buffered, not lost, not delivered
    EXPECT_EQ(n->stats().produce_failures, 0u);
    // librdkafka reports "all brokers down" from its own threads once every connection failed;
    // on a starved machine that can come after the 300 ms above: wait for it during the outage.
    EXPECT_TRUE(eventually([&] { return log->contains("all brokers down"); }, 15s));

    kafka.set_all_brokers_up(true);
    ASSERT_TRUE(eventually([&] { return sink.size() == 25; }, 20s)) << sink.size();
    // (A delivery report may come after the consumer has the message already.)
    EXPECT_TRUE(eventually([&] { return n->stats().produced == 25; }, 5s)) << n->stats().produced;
    EXPECT_TRUE(eventually([&] { return n->brokers_up(); }, 5s));
    EXPECT_TRUE(log->contains("all brokers down"));
}

TEST_F(KafkaEventsTest, StartNeverWaitsForBrokersAndStopIsBounded) {
    Sink sink;
    auto o = options("node-a");
    o.brokers = "127.0.0.1:1";  // nothing listens there
    o.max_produce_queue = 3;
    o.flush_timeout = 300ms;
    o.close_timeout = 300ms;
    auto n = node(o, sink);

    auto t0 = Clock::now();
    n->start();
    EXPECT_LT(Clock::now() - t0, 200ms);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(n->produce("gift", "room1", gift(std::to_string(i))));
    EXPECT_FALSE(n->produce("gift", "room1", gift("one too many")));
    EXPECT_EQ(n->stats().produce_queue_full, 1u);
    EXPECT_TRUE(eventually([&] { return n->stats().broker_down_events > 0; }, 5s));
    EXPECT_FALSE(n->brokers_up());

    t0 = Clock::now();
    n->stop();
    EXPECT_LT(Clock::now() - t0, 2s);
    EXPECT_EQ(n->stats().produce_failures, 3u);  // the buffered ones, purged at stop
    EXPECT_FALSE(n->produce("gift", "room1", gift("after stop")));
}

TEST_F(KafkaEventsTest, ConsumeThroughputFromMockCluster) {
    constexpr int kEvents = 50000;
    {
        auto o = options("producer");
        auto p = std::make_unique<KafkaEvents>(o, KafkaEvents::Handler{});  // producer only
        p->start();
        for (int i = 0; i < kEvents; ++i) {
            ASSERT_TRUE(p->produce("gift", "room" + std::to_string(i % 100),
                                   gift(std::to_string(i), i % 100)));
        }
        ASSERT_TRUE(eventually([&] { return p->stats().produced == kEvents; }, 20s));
    }
    std::atomic<std::uint64_t> n_handled{0};
    Clock::time_point first{}, last{};
    auto o = options("node-a");
    KafkaEvents n(o, [&](const std::string&, const std::string&, const std::string&) {
        if (n_handled.fetch_add(1) == 0) first = Clock::now();
        last = Clock::now();
        return true;
    });
    n.start();
    ASSERT_TRUE(eventually([&] { return n_handled == kEvents; }, 30s)) << n_handled;
    n.stop();  // joins the consumer thread: first and last are settled
    const double secs = std::chrono::duration<double>(last - first).count();
    std::printf(
        "[ throughput ] %d events in %.3f s: %.0f events/s (mock cluster -> trivial handler)\n",
        kEvents, secs, kEvents / secs);
    EXPECT_EQ(n.stats().invalid_json, 0u);
}

}  // namespace
}  // namespace lp::events
