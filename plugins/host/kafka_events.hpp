// plugins/host/kafka_events: the node's Kafka client, events in (consumer group) and out
// (producer).
//
// What it is for: in cluster mode business services publish events (gift events on `gift`,
// design.md section 6) that the plugins consume (their event_topics()), and the node publishes
// client packets (`room.chat`, ...) for business services. Every node of a cluster joins one
// consumer group, so each event is handled by one node of the cluster.
//
// Delivery: at least once. An offset is stored and committed only after the handler returned
// true for its message (or the message was skipped on purpose: a duplicate or invalid JSON).
// Commits are asynchronous and batched (every `commit_interval`), plus a bounded synchronous one
// when partitions are revoked and on stop(). A node that dies between handling and committing
// hands the event to the next owner of the partition again: handlers must be idempotent (the
// FirstTime dedupe, keyed by the event's "event_id", catches most of these).
//
// A handler that fails (returns false or throws) blocks its partition: the message is retried
// (the partition is paused and the consumer seeks back to it) with exponential backoff between
// retry_backoff_min and retry_backoff_max, until it succeeds, and nothing after it in that
// partition is handled meanwhile. That keeps per-key order (events of one room stay in order)
// at the price of head-of-line blocking. Other partitions keep flowing. A message that can never
// succeed must be made to succeed by the handler (log and return true): there is no dead-letter
// topic. Invalid JSON (or a value that is not a JSON object) is the one poison message handled
// here: logged, counted, committed, skipped.
//
// Brokers down: librdkafka reconnects by itself with backoff; start() never waits for a broker
// and never throws because of one. produce() buffers up to `max_produce_queue` messages locally
// (delivered when brokers return, or failed after `message_timeout`). `brokers_up` is refreshed
// from librdkafka's statistics (every `stats_interval`) and dropped to 0 at once on "all
// brokers down"; each connection lost and each "all brokers down" counts one
// `broker_down_events`.
//
// Why the C API of librdkafka (not rdkafkacpp): the mock cluster the tests use is C only; the
// C API gives the bounded close (rd_kafka_consumer_close_queue) and bounded commit
// (rd_kafka_commit_queue) stop() needs, and it hands messages over without a wrapper object
// per message. Ownership is kept in unique_ptrs with the C destroy functions.
//
// Threads: one consumer thread (polls, runs the handler, FirstTime, Forget, the rebalance and
// commit callbacks) and one producer poll thread (delivery reports). librdkafka's log lines
// come from its own threads: the `log` function must be thread-safe. produce() may be called
// from any thread, the handler included.
//
// What it must never do: crash or block start() because of the brokers, commit an offset whose
// message was not handled, or let a poison message stop a partition.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lp::plugins {

// Log levels: syslog severities, the scale librdkafka uses for its own log lines.
inline constexpr int kKafkaLogError = 3;
inline constexpr int kKafkaLogWarning = 4;
inline constexpr int kKafkaLogNotice = 5;
inline constexpr int kKafkaLogInfo = 6;
inline constexpr int kKafkaLogDebug = 7;

struct KafkaOptions {
    std::string brokers;  // host:port[,host:port]
    // One consumer group per cluster: each event handled once per cluster.
    std::string group = "livepush";
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
    std::chrono::milliseconds fetch_wait_max{100};
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
    std::atomic<std::uint64_t> commit_failures{0};     // partition offsets a commit failed for
    // The consumer's position was out of range (events deleted by retention before this group
    // read them, or a topic recreated): it jumped to the earliest offset, skipping what was lost.
    std::atomic<std::uint64_t> offset_resets{0};
    std::atomic<std::int64_t> brokers_up{0};           // brokers connected now (either client)
    std::atomic<std::int64_t> assigned_partitions{0};  // partitions this node consumes now
};

class KafkaEvents {
public:
    // Called on the consumer thread for each message: (topic, key, value JSON). Return true when
    // handled; the offset is committed only after handling (at least once). Return false (or
    // throw) = not handled: counted, and the message is retried (seek back) with backoff. This
    // blocks the message's partition until it succeeds (per-key order is kept), so handlers must
    // be idempotent and must not fail for a reason that will never go away.
    using Handler = std::function<bool(const std::string& topic, const std::string& key,
                                       const std::string& value)>;
    // Dedupe: `first_time(topic, event_id)` is asked for each message whose JSON value has an
    // "event_id" (string or number); false = a duplicate within the window: skipped, committed,
    // counted. It is asked once per message: retries of a failed message do not ask again. It
    // throws when it cannot tell (its store is down): the message is then retried like a failed
    // one.
    using FirstTime = std::function<bool(const std::string& topic, const std::string& event_id)>;
    // Optional undo of FirstTime: called when this node gives up a message FirstTime admitted but
    // the handler never succeeded on (its partition was revoked, or stop() came, mid-retry), so
    // that the partition's next owner does not take it for a duplicate.
    using Forget = std::function<void(const std::string& topic, const std::string& event_id)>;

    // Throws std::invalid_argument for options that make no sense (no brokers, a backoff_min
    // not in (0, backoff_max], a zero max_produce_queue or commit_interval) and
    // std::runtime_error when librdkafka refuses the configuration. Never for an unreachable
    // broker. The producer works from here on: messages produced before start() are buffered.
    KafkaEvents(KafkaOptions opts, Handler handler, FirstTime first_time = {}, Forget forget = {});
    ~KafkaEvents();  // stop()
    KafkaEvents(const KafkaEvents&) = delete;
    KafkaEvents& operator=(const KafkaEvents&) = delete;

    void start();  // consumer thread + producer poll thread; never throws for an unreachable broker
    // Bounded: flushes the producer for at most flush_timeout (2 s) while the consumer commits
    // and leaves the group within close_timeout (3 s); what is still unsent is dropped and
    // counted. Idempotent. Never from the handler (it would wait for its own thread).
    void stop();
    // Async produce (keyed: same key → same partition → ordered; murmur2, the partition a Java
    // producer picks for that key; an empty key spreads). The producer is idempotent, so its own
    // retries neither duplicate nor reorder. False when the local queue is full
    // (produce_queue_full), after stop(), or when librdkafka refuses the message.
    bool produce(const std::string& topic, const std::string& key, const std::string& value);
    const KafkaStats& stats() const;
    bool brokers_up() const;

private:
    struct Clients;  // the librdkafka handles and the consumer's partition state (in the .cpp)
    std::unique_ptr<Clients> c_;
};

}  // namespace lp::plugins
