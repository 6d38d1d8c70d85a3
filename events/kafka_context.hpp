// events/kafka_context: what one node's Kafka producer and consumer share: the options, the
// counters, the log sink and the view of which brokers are up.
//
// What it is for: the node's producer (events/kafka_producer) and consumer
// (events/kafka_consumer) are separate clients of librdkafka, but an operator sees one Kafka
// link per node: one set of counters (livepush_kafka_*), one `brokers_up` (the brokers either
// client is connected to). Both clients are built on one KafkaContext, which must outlive them.
//
// Brokers down: librdkafka reconnects by itself with backoff. `brokers_up` is refreshed from
// each client's statistics (every `stats_interval`) and dropped to 0 at once on "all brokers
// down"; each connection lost and each "all brokers down" counts one `broker_down_events`.
//
// What it owns: the validated options, KafkaStats, the broker ids each client last saw UP.
// What it must never do: include librdkafka (its users outside events/ see std types only) or
// know what the events mean (topics and handlers are the caller's).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "events/defaults.hpp"

namespace lp::events {

// Log levels: syslog severities, the scale librdkafka uses for its own log lines.
inline constexpr int kKafkaLogError = 3;
inline constexpr int kKafkaLogWarning = 4;
inline constexpr int kKafkaLogNotice = 5;
inline constexpr int kKafkaLogInfo = 6;
inline constexpr int kKafkaLogDebug = 7;

struct KafkaOptions {
    std::string brokers;  // host:port[,host:port]
    // One consumer group per cluster: each event handled once per cluster.
    std::string group{kDefaultKafkaGroup};
    std::string client_id;  // node id
    // Consumed (from the plugins' event_topics(); empty = {"gift"}). A KafkaEvents without a
    // handler only produces.
    std::vector<std::string> topics;
    // Backoff of a failed handler's retries (doubling per attempt) and of librdkafka's
    // reconnects to a broker that went away.
    std::chrono::milliseconds retry_backoff_min{200}, retry_backoff_max{10000};
    std::size_t max_produce_queue = 100000;  // messages buffered while brokers are down

    // (level, line); called from several threads, librdkafka's own included. Empty = stderr.
    std::function<void(int level, std::string_view line)> log;
    // Handled offsets are committed (asynchronously) this often.
    std::chrono::milliseconds commit_interval{200};
    // A node that stops heartbeating loses its partitions after this long.
    std::chrono::milliseconds session_timeout{10000};
    std::chrono::milliseconds heartbeat_interval{3000};
    // The longest a fetch waits at the broker for data (librdkafka's default is 500 ms; a
    // broker answers as soon as there is data, but some, the mock cluster among them, make an
    // idle partition's next event wait out the rest of the window).
    std::chrono::milliseconds fetch_wait_max = kDefaultFetchWaitMax;
    // Eager by default: a rebalance (a node joins or leaves) pauses the whole group for a moment.
    // "cooperative-sticky" (only the partitions that move pause) works too, but our librdkafka
    // (2.0; fixed upstream in 2025, librdkafka#4059) takes a commit that overlaps a rebalance
    // for a lost assignment: with a commit every commit_interval that costs an extra rebalance
    // now and then (seen in the tests), and some events handled twice.
    std::string assignment_strategy = "range,roundrobin";
    // A produced message not delivered after this long fails (produce_failures).
    std::chrono::milliseconds message_timeout{300000};
    // How often brokers_up is refreshed from librdkafka's statistics.
    std::chrono::milliseconds stats_interval{1000};
    // stop(): the producer's flush, and (at the same time) the consumer's final commit and
    // group leave, each bounded by these.
    std::chrono::milliseconds flush_timeout{2000};
    std::chrono::milliseconds close_timeout{3000};
    // Extra librdkafka properties for both clients (security.protocol, sasl.*, ...). Applied
    // last: they override the values above.
    std::map<std::string, std::string> rdkafka_config;
};

struct KafkaStats {
    // Messages taken from Kafka (a retried one each time it comes back).
    std::atomic<std::uint64_t> consumed{0};
    std::atomic<std::uint64_t> handled{0};           // handler returned true
    std::atomic<std::uint64_t> handler_failures{0};  // handler (or first_time) failed, per attempt
    std::atomic<std::uint64_t> duplicates{0};        // first_time said false: skipped
    std::atomic<std::uint64_t> invalid_json{0};      // not a JSON object: skipped
    std::atomic<std::uint64_t> committed{0};         // partition offsets committed successfully
    std::atomic<std::uint64_t> produced{0};          // delivered to a broker
    // Refused by produce() (stopped, ...) or not delivered (message_timeout, purged at stop).
    std::atomic<std::uint64_t> produce_failures{0};
    std::atomic<std::uint64_t> produce_queue_full{0};  // produce() refused: local queue full
    // Connections lost, and "all brokers down" events (not the refused reconnects of an
    // outage already counted).
    std::atomic<std::uint64_t> broker_down_events{0};
    std::atomic<std::uint64_t> commit_failures{0};  // partition offsets a commit failed for
    // The consumer's position was out of range (events deleted by retention before this group
    // read them, or a topic recreated): it jumped to the earliest offset, skipping what was lost.
    std::atomic<std::uint64_t> offset_resets{0};
    std::atomic<std::int64_t> brokers_up{0};           // brokers connected now (either client)
    std::atomic<std::int64_t> assigned_partitions{0};  // partitions this node consumes now
    // Messages between the partitions' ends (high watermarks) and this group's committed
    // offsets, summed over the partitions this node consumes whose lag librdkafka knows (a
    // partition with no commit yet has none); from the consumer's statistics, every
    // stats_interval. A lower bound while a partition is paused (its end is the last fetched).
    std::atomic<std::int64_t> consumer_lag{0};
};

class KafkaContext {
public:
    // Throws std::invalid_argument for options that make no sense (no brokers, a backoff_min
    // not in (0, backoff_max], a zero max_produce_queue or commit_interval). Empty topics
    // become {"gift"}.
    explicit KafkaContext(KafkaOptions opts);
    KafkaContext(const KafkaContext&) = delete;
    KafkaContext& operator=(const KafkaContext&) = delete;

    const KafkaOptions& options() const noexcept { return opt_; }
    KafkaStats& stats() noexcept { return stats_; }
    const KafkaStats& stats() const noexcept { return stats_; }
    // To options().log, or one whole line on stderr without it. Any thread.
    void log(int level, std::string_view line) const;

    // The broker view, fed by librdkafka's callbacks of either client (any thread).
    // The broker ids one client's latest statistics show UP.
    void brokers_seen_up(bool producer_side, std::set<std::int32_t> up);
    void all_brokers_down(bool producer_side);
    // A lost connection: true when it counts as a down event (it does not while that client's
    // "all brokers down" is still on: the counter says how often, not how long).
    bool transport_error(bool producer_side);

private:
    struct ClientBrokers {
        std::set<std::int32_t> up;
        bool all_down = false;  // since "all brokers down", until a broker is seen UP again
    };
    void update_brokers_up();  // mu_ held

    KafkaOptions opt_;
    KafkaStats stats_;
    std::mutex mu_;
    ClientBrokers producer_brokers_, consumer_brokers_;
};

}  // namespace lp::events
