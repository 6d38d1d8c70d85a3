// events/kafka_consumer: the node's Kafka consumer (events in, one consumer group per cluster).
//
// What it is for: in cluster mode business services publish events (gift events on `gift`,
// design.md section 6) that the caller's handler takes (the node hands them to the plugins).
// Every node of a cluster joins one consumer group, so each event is handled by one node of the
// cluster. What an event means, and who handles it, is the caller's: this class sees a topic, a
// key and a JSON object.
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
// Brokers down: librdkafka reconnects by itself; start() never waits for a broker and never
// throws because of one. The counters and the broker view are the KafkaContext's.
//
// Threads: one consumer thread (polls, runs the handler, FirstTime, Forget, the rebalance and
// commit callbacks). librdkafka's log lines come from its own threads.
//
// What it owns: the librdkafka consumer handle, its thread and each assigned partition's
// state (next offset to commit, the message being retried).
// What it must never do: crash or block start() because of the brokers, commit an offset whose
// message was not handled, or let a poison message stop a partition.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "events/kafka_context.hpp"

namespace lp::events {

class KafkaConsumer {
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

    // Subscribes to ctx.options().topics at start(). Throws std::runtime_error when librdkafka
    // refuses the configuration; never for an unreachable broker.
    KafkaConsumer(KafkaContext& ctx, Handler handler, FirstTime first_time = {},
                  Forget forget = {});
    ~KafkaConsumer();  // stop()
    KafkaConsumer(const KafkaConsumer&) = delete;
    KafkaConsumer& operator=(const KafkaConsumer&) = delete;

    void start();  // the consumer thread; never throws for an unreachable broker
    // Tells the consumer thread to commit and leave the group (within close_timeout), without
    // waiting: the node flushes its producer meanwhile. Cheap, idempotent.
    void request_stop();
    // request_stop(), then waits for the thread and destroys the client. Idempotent. Never from
    // the handler (it would wait for its own thread).
    void stop();

private:
    struct State;  // the librdkafka handle and the partitions' state (in the .cpp)
    std::unique_ptr<State> s_;
};

}  // namespace lp::events
