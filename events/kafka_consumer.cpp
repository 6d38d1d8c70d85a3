// events/kafka_consumer: see kafka_consumer.hpp for the delivery rules and the thread.
//
// Why one file of some 630 lines: it is one state machine, each assigned partition's (handled
// up to, being retried, paused, commit asked for), and its transitions (message, failure,
// resume, rebalance, commit answer, close) all read and write that one map of states.
#include "events/kafka_consumer.hpp"

#include <algorithm>
#include <atomic>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "events/rdkafka_conf.hpp"

namespace lp::events {

using namespace detail;

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Seeks back to a message being retried that may be answered by later offsets before the
// retry is given up (the message no longer exists).
constexpr int kMaxReseeks = 3;

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

// ------------------------------------------------------------------------------ State

struct KafkaConsumer::State : RdKafkaClient {
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

    State(KafkaContext& c, Handler h, FirstTime ft, Forget fg)
        : RdKafkaClient(c),
          opt(c.options()),
          stats(c.stats()),
          handler(std::move(h)),
          first_time(std::move(ft)),
          forget(std::move(fg)) {}

    const KafkaOptions& opt;
    KafkaStats& stats;
    Handler handler;
    FirstTime first_time;
    Forget forget;

    KafkaPtr consumer;

    std::mutex lifecycle_mu;  // start() / stop()
    bool started = false, stopped = false;
    std::atomic<bool> stop_consumer{false};
    std::thread consumer_thread;
    bool consumer_closed = false;  // set by the consumer thread before it exits

    // Consumer thread only.
    std::map<Key, PartitionState> partitions;
    std::size_t paused_count = 0;
    Clock::time_point next_commit;
    rd_kafka_resp_err_t last_consumer_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    Clock::time_point last_consumer_err_at;
    std::uint64_t suppressed_consumer_errs = 0;
    bool sync_commit_done = false;
    std::optional<Clock::time_point> close_deadline;  // set while closing: bounds every commit

    void log(int level, std::string_view line) const { ctx.log(level, line); }

    void create();

    // ---------------------------------------------------------------- callbacks (static shims)
    static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts, void* opaque);
    static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* offsets, void* opaque);
    static void on_sync_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets, void* opaque);

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

void KafkaConsumer::State::create() {
    ConfPtr conf = base_conf(*this);
    set(conf.get(), "group.id", opt.group);
    set(conf.get(), "enable.auto.commit", "false");
    set(conf.get(), "enable.auto.offset.store", "false");
    set(conf.get(), "auto.offset.reset", "earliest");
    set(conf.get(), "partition.assignment.strategy", opt.assignment_strategy);
    set(conf.get(), "session.timeout.ms", std::to_string(to_ms(opt.session_timeout)));
    set(conf.get(), "heartbeat.interval.ms", std::to_string(to_ms(opt.heartbeat_interval)));
    set(conf.get(), "fetch.wait.max.ms", std::to_string(to_ms(opt.fetch_wait_max)));
    apply_extra(conf.get(), opt);
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

void KafkaConsumer::State::on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    static_cast<State*>(static_cast<RdKafkaClient*>(opaque))->rebalance(err, parts);
}

void KafkaConsumer::State::on_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    static_cast<State*>(static_cast<RdKafkaClient*>(opaque))->commit_result(err, offsets);
}

void KafkaConsumer::State::on_sync_commit(rd_kafka_t*, rd_kafka_resp_err_t err,
                                          rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* c = static_cast<State*>(static_cast<RdKafkaClient*>(opaque));
    c->commit_result(err, offsets);
    c->sync_commit_done = true;
}

// ------------------------------------------------------------------------------ consumer

void KafkaConsumer::State::consume_loop() {
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

int KafkaConsumer::State::poll_timeout_ms(Clock::time_point now) const {
    Clock::time_point wake = std::min(next_commit, now + milliseconds(100));
    if (paused_count > 0) {
        for (const auto& [key, ps] : partitions) {
            if (ps.retry && ps.paused) wake = std::min(wake, ps.retry->due);
        }
    }
    return wake <= now ? 0 : static_cast<int>(std::chrono::ceil<milliseconds>(wake - now).count());
}

void KafkaConsumer::State::on_message(const rd_kafka_message_t& m) {
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

void KafkaConsumer::State::on_consumer_error(const rd_kafka_message_t& m) {
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

void KafkaConsumer::State::mark_done(const Key& key, PartitionState& ps, std::int64_t offset) {
    ps.retry.reset();
    ps.next_offset = offset + 1;
    // librdkafka's stored offset follows ours (its statistics and a close-time commit use it);
    // the commits themselves name the offsets explicitly.
    ListPtr list = new_list(1);
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset =
        offset + 1;
    rd_kafka_offsets_store(consumer.get(), list.get());
}

void KafkaConsumer::State::schedule_retry(const Key& key, PartitionState& ps, std::int64_t offset,
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

void KafkaConsumer::State::resume_due(Clock::time_point now) {
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

void KafkaConsumer::State::pause_or_resume(const Key& key, bool pause) {
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

void KafkaConsumer::State::seek(const Key& key, std::int64_t offset) {
    ListPtr list = new_list(1);
    rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = offset;
    // Asynchronous: messages fetched before it are dropped by on_message's retry check anyway.
    ErrorPtr error(rd_kafka_seek_partitions(consumer.get(), list.get(), 0));
    if (error) {
        log(kKafkaLogWarning, "kafka consumer: seek " + tp_name(key.first, key.second, offset) +
                                  ": " + rd_kafka_error_string(error.get()));
    }
}

void KafkaConsumer::State::rebalance(rd_kafka_resp_err_t err,
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
void KafkaConsumer::State::release(const rd_kafka_topic_partition_list_t* parts, bool commit) {
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
ListPtr KafkaConsumer::State::dirty_offsets(const rd_kafka_topic_partition_list_t* only) {
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

void KafkaConsumer::State::commit_async() {
    ListPtr list = dirty_offsets(nullptr);
    if (list->cnt == 0) return;
    const rd_kafka_resp_err_t err = rd_kafka_commit(consumer.get(), list.get(), 1);
    if (err) commit_result(err, list.get());
}

// Commits `offsets` and waits for the answer until `deadline` at most.
void KafkaConsumer::State::commit_sync(ListPtr offsets, Clock::time_point deadline) {
    if (offsets->cnt == 0) return;
    QueuePtr q(rd_kafka_queue_new(consumer.get()));
    sync_commit_done = false;
    const rd_kafka_resp_err_t err = rd_kafka_commit_queue(
        consumer.get(), offsets.get(), q.get(), &on_sync_commit, static_cast<RdKafkaClient*>(this));
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

void KafkaConsumer::State::commit_result(rd_kafka_resp_err_t err,
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

void KafkaConsumer::State::close_consumer() {
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

// ------------------------------------------------------------------------------ KafkaConsumer

KafkaConsumer::KafkaConsumer(KafkaContext& ctx, Handler handler, FirstTime first_time,
                             Forget forget)
    : s_(std::make_unique<State>(ctx, std::move(handler), std::move(first_time),
                                 std::move(forget))) {
    s_->create();
}

KafkaConsumer::~KafkaConsumer() {
    stop();
}

void KafkaConsumer::start() {
    State& s = *s_;
    std::lock_guard lock(s.lifecycle_mu);
    if (s.started || s.stopped) return;
    s.started = true;
    ListPtr topics = new_list(static_cast<int>(s.opt.topics.size()));
    for (const std::string& t : s.opt.topics) {
        rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    }
    // Only fails for a bad topic list; the brokers are not asked here.
    if (rd_kafka_resp_err_t err = rd_kafka_subscribe(s.consumer.get(), topics.get())) {
        s.log(kKafkaLogError, std::string("kafka consumer: subscribe: ") + rd_kafka_err2str(err));
    } else {
        s.consumer_thread = std::thread([&s] { s.consume_loop(); });
    }
}

void KafkaConsumer::request_stop() {
    s_->stop_consumer.store(true, std::memory_order_release);  // commits and closes meanwhile
}

void KafkaConsumer::stop() {
    State& s = *s_;
    std::lock_guard lock(s.lifecycle_mu);
    if (s.stopped) return;
    s.stopped = true;
    s.stop_consumer.store(true, std::memory_order_release);
    if (s.consumer_thread.joinable()) s.consumer_thread.join();
    rd_kafka_t* rk = s.consumer.release();
    rd_kafka_destroy_flags(rk, s.consumer_closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

}  // namespace lp::events
