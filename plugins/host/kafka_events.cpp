// plugins/host/kafka_events: see kafka_events.hpp for the delivery rules and the threads.
#include "plugins/host/kafka_events.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

namespace lp::plugins {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Seeks back to a message being retried that may be answered by later offsets before the
// retry is given up (the message no longer exists).
constexpr int kMaxReseeks = 3;

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* list) const {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
struct QueueDeleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct ErrorDeleter {
    void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

ListPtr new_list(int size) {
    return ListPtr(rd_kafka_topic_partition_list_new(size));
}

int to_ms(milliseconds d) {
    return static_cast<int>(std::clamp<milliseconds::rep>(d.count(), 0, 1 << 30));
}

void stderr_log(int level, std::string_view line) {
    static constexpr const char* kNames[] = {"emerg", "alert",  "crit", "error",
                                             "warn",  "notice", "info", "debug"};
    std::string out = "[kafka] ";
    out += kNames[std::clamp(level, 0, 7)];
    out += ' ';
    out += line;
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stderr);  // one write: lines from threads stay whole
}

std::string tp_name(std::string_view topic, std::int32_t partition, std::int64_t offset = -1) {
    std::string s(topic);
    s += '[' + std::to_string(partition) + ']';
    if (offset >= 0) s += '@' + std::to_string(offset);
    return s;
}

// The value's "event_id" as text ("" when absent or not a string or number). False when the
// value is not a JSON object (`why` says what is wrong).
bool parse_event(std::string_view value, std::string& event_id, std::string& why) {
    unsigned char buffer[4096];
    boost::json::monotonic_resource mr(buffer, sizeof buffer);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(value, ec, &mr);
    if (ec) {
        why = ec.message();
        return false;
    }
    const boost::json::object* obj = v.if_object();
    if (!obj) {
        why = "not a JSON object";
        return false;
    }
    event_id.clear();
    if (const boost::json::value* id = obj->if_contains("event_id")) {
        if (id->is_string()) {
            event_id = id->get_string();
        } else if (id->is_int64()) {
            event_id = std::to_string(id->get_int64());
        } else if (id->is_uint64()) {
            event_id = std::to_string(id->get_uint64());
        } else if (id->is_double()) {
            event_id = boost::json::serialize(*id);
        }
    }
    return true;
}

}  // namespace

// ------------------------------------------------------------------------------ Clients

struct KafkaEvents::Clients {
    using Key = std::pair<std::string, std::int32_t>;  // topic, partition

    // A message the handler failed on: its partition is paused until `due`, then the consumer
    // seeks back to it. Messages of the partition at other offsets are dropped meanwhile.
    struct Retry {
        std::int64_t offset = 0;
        int attempts = 0;
        Clock::time_point due;
        std::string event_id;   // for Forget
        bool admitted = false;  // FirstTime said yes: do not ask again
        int reseeks = 0;        // later offsets seen after the resume (see on_message)
    };
    struct PartitionState {
        std::int64_t next_offset = -1;  // handled (or skipped) up to here: what to commit
        std::int64_t commit_sent = -1;  // the last offset a commit was asked for
        std::optional<Retry> retry;
        bool paused = false;
    };

    KafkaOptions opt;
    Handler handler;
    FirstTime first_time;
    Forget forget;
    KafkaStats stats;

    std::unique_ptr<rd_kafka_t, KafkaDeleter> producer;
    std::unique_ptr<rd_kafka_t, KafkaDeleter> consumer;  // null without a handler

    std::mutex lifecycle_mu;  // start() / stop()
    bool started = false, stopped = false;
    std::atomic<bool> accepting{true};  // produce() allowed
    std::atomic<bool> stop_consumer{false}, stop_poll{false};
    std::thread consumer_thread, poll_thread;
    bool consumer_closed = false;  // set by the consumer thread before it exits

    // brokers_up: broker ids seen UP in each client's latest statistics.
    struct ClientBrokers {
        std::set<std::int32_t> up;
        bool all_down = false;  // since "all brokers down", until a broker is seen UP again
    };
    std::mutex brokers_mu;
    ClientBrokers producer_brokers, consumer_brokers;

    // Consumer thread only.
    std::map<Key, PartitionState> partitions;
    std::size_t paused_count = 0;
    Clock::time_point next_commit;
    rd_kafka_resp_err_t last_consumer_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    Clock::time_point last_consumer_err_at;
    std::uint64_t suppressed_consumer_errs = 0;
    bool sync_commit_done = false;
    std::optional<Clock::time_point> close_deadline;  // set while closing: bounds every commit

    void log(int level, std::string_view line) const {
        if (opt.log) {
            opt.log(level, line);
        } else {
            stderr_log(level, line);
        }
    }

    // ---------------------------------------------------------------- set-up
    ConfPtr base_conf();
    void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);
    void create_producer();
    void create_consumer();

    // ---------------------------------------------------------------- callbacks (static shims)
    static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
    static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
    static int on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque);
    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque);
    static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* offsets, void* opaque);
    static void on_sync_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets, void* opaque);

    void broker_state(bool producer_side, std::set<std::int32_t> up);
    void all_brokers_down(bool producer_side);
    bool transport_error(bool producer_side);
    void update_brokers_up();  // brokers_mu held

    // ---------------------------------------------------------------- consumer thread
    void consume_loop();
    int poll_timeout_ms(Clock::time_point now) const;
    void on_message(const rd_kafka_message_t& m);
    void on_consumer_error(const rd_kafka_message_t& m);
    void mark_done(const Key& key, PartitionState& ps, std::int64_t offset);
    void schedule_retry(const Key& key, PartitionState& ps, std::int64_t offset,
                        const std::string& event_id, bool admitted, const std::string& why);
    void resume_due(Clock::time_point now);
    void pause_or_resume(const Key& key, bool pause);
    void seek(const Key& key, std::int64_t offset);
    void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
    void release(const rd_kafka_topic_partition_list_t* parts, bool commit);
    ListPtr dirty_offsets(const rd_kafka_topic_partition_list_t* only);
    void commit_async();
    void commit_sync(ListPtr offsets, Clock::time_point deadline);
    void commit_result(rd_kafka_resp_err_t err, const rd_kafka_topic_partition_list_t* offsets);
    void close_consumer();
};

void KafkaEvents::Clients::set(rd_kafka_conf_t* conf, const std::string& name,
                               const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        throw std::runtime_error("kafka: " + name + "=" + value + ": " + errstr);
    }
}

ConfPtr KafkaEvents::Clients::base_conf() {
    ConfPtr conf(rd_kafka_conf_new());
    set(conf.get(), "bootstrap.servers", opt.brokers);
    set(conf.get(), "client.id", opt.client_id.empty() ? "livepush" : opt.client_id);
    set(conf.get(), "statistics.interval.ms", std::to_string(to_ms(opt.stats_interval)));
    // Reconnecting to a broker that went away backs off like everything else here.
    set(conf.get(), "reconnect.backoff.ms", std::to_string(to_ms(opt.retry_backoff_min)));
    set(conf.get(), "reconnect.backoff.max.ms", std::to_string(to_ms(opt.retry_backoff_max)));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_log_cb(conf.get(), &on_log);
    rd_kafka_conf_set_error_cb(conf.get(), &on_error);
    rd_kafka_conf_set_stats_cb(conf.get(), &on_stats);
    return conf;
}

void KafkaEvents::Clients::create_producer() {
    ConfPtr conf = base_conf();
    // Idempotence: librdkafka's own retries neither duplicate nor reorder, so a key's messages
    // land in order. murmur2: the partition of a key is the one Java producers pick.
    set(conf.get(), "enable.idempotence", "true");
    set(conf.get(), "partitioner", "murmur2_random");
    set(conf.get(), "queue.buffering.max.messages", std::to_string(opt.max_produce_queue));
    set(conf.get(), "message.timeout.ms", std::to_string(to_ms(opt.message_timeout)));
    set(conf.get(), "retry.backoff.ms", std::to_string(to_ms(opt.retry_backoff_min)));
    for (const auto& [k, v] : opt.rdkafka_config) set(conf.get(), k, v);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &on_delivery);

    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
    if (!rk) throw std::runtime_error(std::string("kafka: producer: ") + errstr);
    conf.release();  // rd_kafka_new owns it now
    producer.reset(rk);
}

void KafkaEvents::Clients::create_consumer() {
    ConfPtr conf = base_conf();
    set(conf.get(), "group.id", opt.group);
    set(conf.get(), "enable.auto.commit", "false");
    set(conf.get(), "enable.auto.offset.store", "false");
    set(conf.get(), "auto.offset.reset", "earliest");
    set(conf.get(), "partition.assignment.strategy", opt.assignment_strategy);
    set(conf.get(), "session.timeout.ms", std::to_string(to_ms(opt.session_timeout)));
    set(conf.get(), "heartbeat.interval.ms", std::to_string(to_ms(opt.heartbeat_interval)));
    set(conf.get(), "fetch.wait.max.ms", std::to_string(to_ms(opt.fetch_wait_max)));
    for (const auto& [k, v] : opt.rdkafka_config) set(conf.get(), k, v);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &on_commit);

    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
    if (!rk) throw std::runtime_error(std::string("kafka: consumer: ") + errstr);
    conf.release();
    consumer.reset(rk);
    // Errors, statistics and rebalances all come out of rd_kafka_consumer_poll().
    rd_kafka_poll_set_consumer(rk);
}

// ------------------------------------------------------------------------------ callbacks

void KafkaEvents::Clients::on_log(const rd_kafka_t* rk, int level, const char* fac,
                                  const char* buf) {
    auto* c = static_cast<Clients*>(rd_kafka_opaque(rk));
    if (!c) return;
    // librdkafka 2.0 reports a reset forced by an error (offset out of range: events deleted
    // before this group read them) only as this warning, not as an error event (that takes
    // auto.offset.reset=error, which would stall the partition); a group's first start, with no
    // committed offset, resets at debug level and is not counted.
    if (level <= 4 && std::string_view(fac) == "OFFSET" && std::string_view(buf).find("offset reset") != std::string_view::npos)
        c->stats.offset_resets.fetch_add(1, std::memory_order_relaxed);
    std::string line = "rdkafka ";
    line += rd_kafka_name(rk);
    line += ' ';
    line += fac;
    line += ": ";
    line += buf;
    c->log(level, line);
}

void KafkaEvents::Clients::on_error(rd_kafka_t* rk, int err_int, const char* reason, void* opaque) {
    auto* c = static_cast<Clients*>(opaque);
    const auto err = static_cast<rd_kafka_resp_err_t>(err_int);
    const bool producer_side = rd_kafka_type(rk) == RD_KAFKA_PRODUCER;
    const std::string who = producer_side ? "kafka producer: " : "kafka consumer: ";
    switch (err) {
        case RD_KAFKA_RESP_ERR__TRANSPORT:
            // A connection lost, or a reconnect attempt refused. librdkafka logs it itself (FAIL).
            if (c->transport_error(producer_side)) {
                c->stats.broker_down_events.fetch_add(1, std::memory_order_relaxed);
            }
            c->log(kKafkaLogDebug, who + "broker connection lost: " + reason);
            break;
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
            c->stats.broker_down_events.fetch_add(1, std::memory_order_relaxed);
            c->all_brokers_down(producer_side);
            c->log(kKafkaLogWarning,
                   who + "all brokers down (librdkafka keeps retrying): " + reason);
            break;
        case RD_KAFKA_RESP_ERR__FATAL: {
            char why[512];
            const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
            c->log(kKafkaLogError, who + "fatal error " + rd_kafka_err2name(orig) + ": " + why +
                                       " (this client stops working; restart the node)");
            break;
        }
        default:
            c->log(kKafkaLogWarning, who + rd_kafka_err2name(err) + ": " + (reason ? reason : ""));
    }
}

// Counts the brokers (by id) in state UP in one client's statistics. A connection to a
// bootstrap address only (id not known yet) counts as one broker.
int KafkaEvents::Clients::on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque) {
    auto* c = static_cast<Clients*>(opaque);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(std::string_view(json, len), ec);
    const boost::json::object* root = ec ? nullptr : v.if_object();
    const boost::json::value* brokers = root ? root->if_contains("brokers") : nullptr;
    if (!brokers || !brokers->is_object()) return 0;
    std::set<std::int32_t> up;
    bool bootstrap_up = false;
    for (const auto& [name, b] : brokers->get_object()) {
        const boost::json::object* bo = b.if_object();
        if (!bo) continue;
        const boost::json::value* state = bo->if_contains("state");
        const boost::json::value* id = bo->if_contains("nodeid");
        const boost::json::value* source = bo->if_contains("source");
        if (!state || !state->is_string() || state->get_string() != "UP") continue;
        if (source && source->is_string() &&
            (source->get_string() == "logical" || source->get_string() == "internal")) {
            continue;
        }
        if (id && id->is_int64() && id->get_int64() >= 0) {
            up.insert(static_cast<std::int32_t>(id->get_int64()));
        } else {
            bootstrap_up = true;
        }
    }
    if (up.empty() && bootstrap_up) up.insert(-1);
    c->broker_state(rd_kafka_type(rk) == RD_KAFKA_PRODUCER, std::move(up));
    return 0;  // librdkafka frees the JSON
}

void KafkaEvents::Clients::broker_state(bool producer_side, std::set<std::int32_t> up) {
    std::lock_guard lock(brokers_mu);
    ClientBrokers& b = producer_side ? producer_brokers : consumer_brokers;
    if (!up.empty()) b.all_down = false;
    b.up = std::move(up);
    update_brokers_up();
}

void KafkaEvents::Clients::all_brokers_down(bool producer_side) {
    std::lock_guard lock(brokers_mu);
    ClientBrokers& b = producer_side ? producer_brokers : consumer_brokers;
    b.all_down = true;
    b.up.clear();
    update_brokers_up();
}

// A lost connection counts as a down event, but the refused reconnects of an outage that is
// counted already (all brokers down) do not: the counter says how often, not how long.
bool KafkaEvents::Clients::transport_error(bool producer_side) {
    std::lock_guard lock(brokers_mu);
    return !(producer_side ? producer_brokers : consumer_brokers).all_down;
}

void KafkaEvents::Clients::update_brokers_up() {
    std::set<std::int32_t> all = producer_brokers.up;
    all.insert(consumer_brokers.up.begin(), consumer_brokers.up.end());
    stats.brokers_up.store(static_cast<std::int64_t>(all.size()), std::memory_order_relaxed);
}

void KafkaEvents::Clients::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* c = static_cast<Clients*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        c->stats.produced.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::uint64_t n = c->stats.produce_failures.fetch_add(1, std::memory_order_relaxed);
    // A line for the first failure and then one per 1000: a broker outage past
    // message_timeout fails every buffered message at once.
    if (n % 1000 == 0) {
        c->log(kKafkaLogError, "kafka producer: message to " +
                                   tp_name(rd_kafka_topic_name(m->rkt), m->partition) +
                                   " not delivered: " + rd_kafka_err2str(m->err) + " (" +
                                   std::to_string(n + 1) + " failures so far)");
    }
}

void KafkaEvents::Clients::on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<Clients*>(opaque)->rebalance(err, parts);
}

void KafkaEvents::Clients::on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    static_cast<Clients*>(opaque)->commit_result(err, offsets);
}

void KafkaEvents::Clients::on_sync_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                                          rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* c = static_cast<Clients*>(opaque);
    c->commit_result(err, offsets);
    c->sync_commit_done = true;
}

// ------------------------------------------------------------------------------ consumer

void KafkaEvents::Clients::consume_loop() {
    next_commit = Clock::now() + opt.commit_interval;
    while (!stop_consumer.load(std::memory_order_acquire)) {
        rd_kafka_message_t* m =
            rd_kafka_consumer_poll(consumer.get(), poll_timeout_ms(Clock::now()));
        if (m) {
            on_message(*m);
            rd_kafka_message_destroy(m);
        }
        const auto now = Clock::now();
        resume_due(now);
        if (now >= next_commit) {
            commit_async();
            next_commit = now + opt.commit_interval;
        }
    }
    close_consumer();
}

int KafkaEvents::Clients::poll_timeout_ms(Clock::time_point now) const {
    Clock::time_point wake = std::min(next_commit, now + milliseconds(100));
    if (paused_count > 0) {
        for (const auto& [key, ps] : partitions) {
            if (ps.retry && ps.paused) wake = std::min(wake, ps.retry->due);
        }
    }
    return wake <= now ? 0 : static_cast<int>(std::chrono::ceil<milliseconds>(wake - now).count());
}

void KafkaEvents::Clients::on_message(const rd_kafka_message_t& m) {
    if (m.err) {
        on_consumer_error(m);
        return;
    }
    const std::string topic = rd_kafka_topic_name(m.rkt);
    const Key key{topic, m.partition};
    auto it = partitions.find(key);
    if (it == partitions.end()) return;  // fetched before a revoke
    PartitionState& ps = it->second;
    if (ps.retry) {
        // Only the message being retried may pass. Later ones were fetched before the seek;
        // earlier ones are handled already.
        if (m.offset < ps.retry->offset) return;
        if (m.offset > ps.retry->offset) {
            if (ps.paused) return;
            if (++ps.retry->reseeks <= kMaxReseeks) {
                seek(key, ps.retry->offset);
                return;
            }
            // Seeking back keeps landing after it: the message is gone (retention, compaction).
            log(kKafkaLogError, "kafka consumer: " + tp_name(topic, m.partition, ps.retry->offset) +
                                    " cannot be fetched again to retry it; giving up on it");
            ps.retry.reset();
        }
    }
    stats.consumed.fetch_add(1, std::memory_order_relaxed);

    const std::string value(static_cast<const char*>(m.payload), m.payload ? m.len : 0);
    std::string event_id, why;
    if (!parse_event(value, event_id, why)) {
        stats.invalid_json.fetch_add(1, std::memory_order_relaxed);
        log(kKafkaLogWarning, "kafka consumer: skipping " + tp_name(topic, m.partition, m.offset) +
                                  ": invalid JSON (" + why + "), " + std::to_string(value.size()) +
                                  " bytes");
        mark_done(key, ps, m.offset);
        return;
    }

    bool admitted = ps.retry && ps.retry->admitted;
    if (!event_id.empty() && first_time && !admitted) {
        bool first = true;
        try {
            first = first_time(topic, event_id);
        } catch (const std::exception& e) {
            why = std::string("first_time threw: ") + e.what();
        } catch (...) {
            why = "first_time threw";
        }
        if (!why.empty()) {  // cannot tell (its store is down, say): retried like a failure
            stats.handler_failures.fetch_add(1, std::memory_order_relaxed);
            schedule_retry(key, ps, m.offset, event_id, false, why);
            return;
        }
        if (!first) {
            stats.duplicates.fetch_add(1, std::memory_order_relaxed);
            mark_done(key, ps, m.offset);
            return;
        }
        admitted = true;
    }

    const std::string msg_key(static_cast<const char*>(m.key), m.key ? m.key_len : 0);
    bool ok = false;
    try {
        ok = handler(topic, msg_key, value);
        if (!ok) why = "handler returned false";
    } catch (const std::exception& e) {
        why = std::string("handler threw: ") + e.what();
    } catch (...) {
        why = "handler threw";
    }
    if (ok) {
        stats.handled.fetch_add(1, std::memory_order_relaxed);
        mark_done(key, ps, m.offset);
        return;
    }
    stats.handler_failures.fetch_add(1, std::memory_order_relaxed);
    schedule_retry(key, ps, m.offset, event_id, admitted, why);
}

void KafkaEvents::Clients::on_consumer_error(const rd_kafka_message_t& m) {
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    // The same error (an unknown topic, say) comes back on every metadata refresh: log it once
    // per 30 s.
    const auto now = Clock::now();
    if (m.err == last_consumer_err && now - last_consumer_err_at < std::chrono::seconds(30)) {
        ++suppressed_consumer_errs;
        return;
    }
    std::string line = "kafka consumer: ";
    if (m.rkt) line += tp_name(rd_kafka_topic_name(m.rkt), m.partition) + ": ";
    line += rd_kafka_err2name(m.err);
    line += ": ";
    line += rd_kafka_message_errstr(&m);
    if (suppressed_consumer_errs > 0 && m.err == last_consumer_err) {
        line += " (" + std::to_string(suppressed_consumer_errs) + " more since the last line)";
    }
    // An offset reset means messages were skipped (retention) or replayed: worth an error.
    log(m.err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ? kKafkaLogError : kKafkaLogWarning, line);
    last_consumer_err = m.err;
    last_consumer_err_at = now;
    suppressed_consumer_errs = 0;
}

void KafkaEvents::Clients::mark_done(const Key& key, PartitionState& ps, std::int64_t offset) {
    ps.retry.reset();
    ps.next_offset = offset + 1;
    // librdkafka's stored offset follows ours (its statistics and a close-time commit use it);
    // the commits themselves name the offsets explicitly.
    ListPtr list = new_list(1);
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
        offset + 1;
    rd_kafka_offsets_store(consumer.get(), list.get());
}

void KafkaEvents::Clients::schedule_retry(const Key& key, PartitionState& ps, std::int64_t offset,
                                          const std::string& event_id, bool admitted,
                                          const std::string& why) {
    const int attempts = ps.retry && ps.retry->offset == offset ? ps.retry->attempts + 1 : 1;
    auto backoff = opt.retry_backoff_min * (std::int64_t{1} << std::min(attempts - 1, 20));
    backoff = std::min(backoff, opt.retry_backoff_max);
    ps.retry = Retry{offset, attempts, Clock::now() + backoff, event_id, admitted};
    // Pause first, then seek: a seek made before a pause is forgotten on resume in some
    // librdkafka versions (librdkafka#3471).
    if (!ps.paused) {
        pause_or_resume(key, true);
        ps.paused = true;
        ++paused_count;
    }
    seek(key, offset);
    log(kKafkaLogWarning, "kafka consumer: " + tp_name(key.first, key.second, offset) +
                              " not handled (" + why + "), attempt " + std::to_string(attempts) +
                              ", retrying in " + std::to_string(backoff.count()) +
                              " ms; the partition waits for it");
}

void KafkaEvents::Clients::resume_due(Clock::time_point now) {
    if (paused_count == 0) return;
    for (auto& [key, ps] : partitions) {
        if (ps.paused && (!ps.retry || ps.retry->due <= now)) {
            pause_or_resume(key, false);
            ps.paused = false;
            --paused_count;
            // librdkafka 2.0's fetcher notices a resume only at its next wake-up (up to 1 s
            // later); a seek (to where it resumes anyway) wakes it at once.
            if (ps.retry) seek(key, ps.retry->offset);
        }
    }
}

void KafkaEvents::Clients::pause_or_resume(const Key& key, bool pause) {
    ListPtr list = new_list(1);
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second);
    const rd_kafka_resp_err_t err = pause ? rd_kafka_pause_partitions(consumer.get(), list.get())
                                          : rd_kafka_resume_partitions(consumer.get(), list.get());
    const rd_kafka_resp_err_t perr = err ? err : list->elems[0].err;
    if (perr) {
        log(kKafkaLogWarning, std::string("kafka consumer: ") + (pause ? "pause " : "resume ") +
                                  tp_name(key.first, key.second) + ": " + rd_kafka_err2str(perr));
    }
}

void KafkaEvents::Clients::seek(const Key& key, std::int64_t offset) {
    ListPtr list = new_list(1);
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = offset;
    // Asynchronous: messages fetched before it are dropped by on_message's retry check anyway.
    ErrorPtr error(rd_kafka_seek_partitions(consumer.get(), list.get(), 0));
    if (error) {
        log(kKafkaLogWarning, "kafka consumer: seek " + tp_name(key.first, key.second, offset) +
                                  ": " + rd_kafka_error_string(error.get()));
    }
}

void KafkaEvents::Clients::rebalance(rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* parts) {
    rd_kafka_t* rk = consumer.get();
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    std::string names;
    for (int i = 0; i < parts->cnt; ++i) {
        if (i) names += ' ';
        names += tp_name(parts->elems[i].topic, parts->elems[i].partition);
    }
    ErrorPtr error;
    rd_kafka_resp_err_t assign_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; ++i) {
            partitions[{parts->elems[i].topic, parts->elems[i].partition}] = PartitionState{};
        }
        stats.assigned_partitions.store(static_cast<std::int64_t>(partitions.size()),
                                        std::memory_order_relaxed);
        log(kKafkaLogInfo,
            "kafka consumer: assigned " + std::to_string(parts->cnt) + " partition(s): " + names);
        if (cooperative) {
            error.reset(rd_kafka_incremental_assign(rk, parts));
        } else {
            assign_err = rd_kafka_assign(rk, parts);
        }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        const bool lost = rd_kafka_assignment_lost(rk);
        log(kKafkaLogInfo, std::string("kafka consumer: ") + (lost ? "lost " : "revoked ") +
                               std::to_string(parts->cnt) + " partition(s): " + names);
        release(parts, !lost);  // lost: someone else owns them already, a commit would fail
        if (cooperative) {
            error.reset(rd_kafka_incremental_unassign(rk, parts));
        } else {
            assign_err = rd_kafka_assign(rk, nullptr);
        }
    } else {
        log(kKafkaLogError, std::string("kafka consumer: rebalance failed: ") +
                                rd_kafka_err2str(err) + "; dropping the assignment");
        release(nullptr, false);
        assign_err = rd_kafka_assign(rk, nullptr);
    }
    if (error || assign_err) {
        log(kKafkaLogError,
            std::string("kafka consumer: (un)assign: ") +
                (error ? rd_kafka_error_string(error.get()) : rd_kafka_err2str(assign_err)));
    }
}

// Gives up partitions (all of them when `parts` is null): commits what was handled, releases
// the FirstTime marks of messages that never succeeded, forgets their state.
void KafkaEvents::Clients::release(const rd_kafka_topic_partition_list_t* parts, bool commit) {
    if (commit) {
        commit_sync(dirty_offsets(parts),
                    close_deadline.value_or(Clock::now() + opt.close_timeout));
    }
    std::vector<Key> keys;
    if (parts) {
        for (int i = 0; i < parts->cnt; ++i) {
            keys.emplace_back(parts->elems[i].topic, parts->elems[i].partition);
        }
    } else {
        for (const auto& [key, ps] : partitions) keys.push_back(key);
    }
    for (const Key& key : keys) {
        auto it = partitions.find(key);
        if (it == partitions.end()) continue;
        PartitionState& ps = it->second;
        if (ps.retry && ps.retry->admitted && forget) {
            try {
                forget(key.first, ps.retry->event_id);
            } catch (const std::exception& e) {
                log(kKafkaLogError, std::string("kafka consumer: forget threw: ") + e.what());
            } catch (...) {
                log(kKafkaLogError, "kafka consumer: forget threw");
            }
        }
        if (ps.paused) {
            // A partition assigned to us again later must not come back paused.
            pause_or_resume(key, false);
            --paused_count;
        }
        partitions.erase(it);
    }
    stats.assigned_partitions.store(static_cast<std::int64_t>(partitions.size()),
                                    std::memory_order_relaxed);
}

// Offsets handled since the last commit request, of `only` (every partition when null).
ListPtr KafkaEvents::Clients::dirty_offsets(const rd_kafka_topic_partition_list_t* only) {
    ListPtr list = new_list(static_cast<int>(partitions.size()));
    for (auto& [key, ps] : partitions) {
        if (ps.next_offset < 0 || ps.next_offset == ps.commit_sent) continue;
        if (only && !rd_kafka_topic_partition_list_find(only, key.first.c_str(), key.second)) {
            continue;
        }
        rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
            ps.next_offset;
        ps.commit_sent = ps.next_offset;
    }
    return list;
}

void KafkaEvents::Clients::commit_async() {
    ListPtr list = dirty_offsets(nullptr);
    if (list->cnt == 0) return;
    const rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), list.get(), 1);
    if (err) commit_result(err, list.get());
}

// Commits `offsets` and waits for the answer until `deadline` at most.
void KafkaEvents::Clients::commit_sync(ListPtr offsets, Clock::time_point deadline) {
    if (offsets->cnt == 0) return;
    QueuePtr q(rd_kafka_queue_new(consumer.get()));
    sync_commit_done = false;
    const rd_kafka_resp_err_t err =
        rd_kafka_commit_queue(consumer.get(), offsets.get(), q.get(), &on_sync_commit, this);
    if (err) {
        commit_result(err, offsets.get());
        return;
    }
    while (!sync_commit_done && Clock::now() < deadline) {
        rd_kafka_queue_poll_callback(q.get(), 50);
    }
    if (!sync_commit_done) {
        log(kKafkaLogWarning, "kafka consumer: commit of " + std::to_string(offsets->cnt) +
                                  " partition offset(s) not confirmed in time; the next owner "
                                  "may handle those events again");
    }
}

void KafkaEvents::Clients::commit_result(rd_kafka_resp_err_t err,
                                         const rd_kafka_topic_partition_list_t* offsets) {
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
    std::uint64_t ok = 0, failed = 0;
    for (int i = 0; offsets && i < offsets->cnt; ++i) {
        const rd_kafka_topic_partition_t& p = offsets->elems[i];
        if (!err && !p.err) {
            ++ok;
            continue;
        }
        ++failed;
        // Ask again at the next tick, unless a newer offset is pending already.
        auto it = partitions.find({p.topic, p.partition});
        if (it != partitions.end() && it->second.commit_sent == p.offset) {
            it->second.commit_sent = -1;
        }
    }
    stats.committed.fetch_add(ok, std::memory_order_relaxed);
    stats.commit_failures.fetch_add(failed, std::memory_order_relaxed);
    if (failed > 0 || (err && (!offsets || offsets->cnt == 0))) {
        const rd_kafka_resp_err_t shown = err ? err : [&] {
            for (int i = 0; i < offsets->cnt; ++i) {
                if (offsets->elems[i].err) return offsets->elems[i].err;
            }
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }();
        log(kKafkaLogWarning, "kafka consumer: commit failed for " + std::to_string(failed) +
                                  " partition(s): " + rd_kafka_err2str(shown) +
                                  " (retried at the next commit)");
    }
}

void KafkaEvents::Clients::close_consumer() {
    const auto deadline = Clock::now() + opt.close_timeout;
    close_deadline = deadline;
    commit_sync(dirty_offsets(nullptr), deadline);
    QueuePtr q(rd_kafka_queue_new(consumer.get()));
    ErrorPtr error(rd_kafka_consumer_close_queue(consumer.get(), q.get()));
    if (error) {
        log(kKafkaLogWarning,
            std::string("kafka consumer: close: ") + rd_kafka_error_string(error.get()));
        return;
    }
    // The revoke of the final rebalance arrives on `q` and runs rebalance() (which commits
    // anything left and releases the partitions).
    while (!rd_kafka_consumer_closed(consumer.get()) && Clock::now() < deadline) {
        rd_kafka_queue_poll_callback(q.get(), 50);
    }
    consumer_closed = rd_kafka_consumer_closed(consumer.get());
    if (!consumer_closed) {
        log(kKafkaLogWarning,
            "kafka consumer: leaving the group did not finish within "
            "close_timeout; the group notices after session_timeout");
    }
}

// ------------------------------------------------------------------------------ KafkaEvents

KafkaEvents::KafkaEvents(KafkaOptions opts, Handler handler, FirstTime first_time, Forget forget)
    : c_(std::make_unique<Clients>()) {
    if (opts.brokers.empty()) throw std::invalid_argument("kafka: no brokers");
    if (opts.topics.empty()) opts.topics = {"gift"};
    if (opts.retry_backoff_min <= milliseconds::zero() ||
        opts.retry_backoff_min > opts.retry_backoff_max) {
        throw std::invalid_argument("kafka: need 0 < retry_backoff_min <= retry_backoff_max");
    }
    if (opts.max_produce_queue == 0) throw std::invalid_argument("kafka: max_produce_queue is 0");
    if (opts.commit_interval <= milliseconds::zero()) {
        throw std::invalid_argument("kafka: commit_interval must be > 0");
    }
    c_->opt = std::move(opts);
    c_->handler = std::move(handler);
    c_->first_time = std::move(first_time);
    c_->forget = std::move(forget);
    c_->create_producer();
    if (c_->handler) c_->create_consumer();
}

KafkaEvents::~KafkaEvents() {
    stop();
    c_->producer.reset();  // while the rest of Clients (its callbacks' state) is still whole
}

void KafkaEvents::start() {
    Clients& c = *c_;
    std::lock_guard lock(c.lifecycle_mu);
    if (c.started || c.stopped) return;
    c.started = true;
    if (c.consumer) {
        ListPtr topics = new_list(static_cast<int>(c.opt.topics.size()));
        for (const std::string& t : c.opt.topics) {
            rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
        }
        // Only fails for a bad topic list; the brokers are not asked here.
        if (rd_kafka_resp_err_t err = rd_kafka_subscribe(c.consumer.get(), topics.get())) {
            c.log(kKafkaLogError,
                  std::string("kafka consumer: subscribe: ") + rd_kafka_err2str(err));
        } else {
            c.consumer_thread = std::thread([&c] { c.consume_loop(); });
        }
    }
    c.poll_thread = std::thread([&c] {
        while (!c.stop_poll.load(std::memory_order_acquire)) rd_kafka_poll(c.producer.get(), 100);
    });
}

void KafkaEvents::stop() {
    Clients& c = *c_;
    std::lock_guard lock(c.lifecycle_mu);
    if (c.stopped) return;
    c.stopped = true;
    c.accepting.store(false, std::memory_order_release);
    c.stop_consumer.store(true, std::memory_order_release);  // commits and closes meanwhile

    c.stop_poll.store(true, std::memory_order_release);
    if (c.poll_thread.joinable()) c.poll_thread.join();
    if (rd_kafka_flush(c.producer.get(), to_ms(c.opt.flush_timeout)) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        const int left = rd_kafka_outq_len(c.producer.get());
        c.log(kKafkaLogWarning, "kafka producer: " + std::to_string(left) +
                                    " message(s) not delivered within flush_timeout, dropped");
        rd_kafka_purge(c.producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        // Their delivery reports (counted as produce_failures) come back through poll.
        const auto until = Clock::now() + milliseconds(500);
        while (rd_kafka_outq_len(c.producer.get()) > 0 && Clock::now() < until) {
            rd_kafka_poll(c.producer.get(), 50);
        }
    }

    if (c.consumer_thread.joinable()) c.consumer_thread.join();
    if (c.consumer) {
        rd_kafka_t* rk = c.consumer.release();
        rd_kafka_destroy_flags(rk, c.consumer_closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
}

bool KafkaEvents::produce(const std::string& topic, const std::string& key,
                          const std::string& value) {
    Clients& c = *c_;
    if (!c.accepting.load(std::memory_order_acquire)) {
        c.stats.produce_failures.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(c.producer.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        c.stats.produce_queue_full.fetch_add(1, std::memory_order_relaxed);
    } else {
        c.stats.produce_failures.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
}

const KafkaStats& KafkaEvents::stats() const {
    return c_->stats;
}

bool KafkaEvents::brokers_up() const {
    return c_->stats.brokers_up.load(std::memory_order_relaxed) > 0;
}

}  // namespace lp::plugins
