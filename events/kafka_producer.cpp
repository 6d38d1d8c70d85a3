// events/kafka_producer: see kafka_producer.hpp.
#include "events/kafka_producer.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "events/rdkafka_conf.hpp"

namespace lp::events {

using namespace detail;

struct KafkaProducer::State : RdKafkaClient {
    using RdKafkaClient::RdKafkaClient;

    KafkaPtr rk;
    std::mutex lifecycle_mu;  // start() / stop()
    bool started = false, stopped = false;
    std::atomic<bool> accepting{true};  // produce() allowed
    std::atomic<bool> stop_poll{false};
    std::thread poll_thread;

    static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
};

void KafkaProducer::State::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    KafkaContext& ctx = static_cast<RdKafkaClient*>(opaque)->ctx;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        ctx.stats().produced.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const std::uint64_t n = ctx.stats().produce_failures.fetch_add(1, std::memory_order_relaxed);
    // A line for the first failure and then one per 1000: a broker outage past
    // message_timeout fails every buffered message at once.
    if (n % 1000 == 0) {
        ctx.log(kKafkaLogError, "kafka producer: message to " +
                                    tp_name(rd_kafka_topic_name(m->rkt), m->partition) +
                                    " not delivered: " + rd_kafka_err2str(m->err) + " (" +
                                    std::to_string(n + 1) + " failures so far)");
    }
}

KafkaProducer::KafkaProducer(KafkaContext& ctx) : s_(std::make_unique<State>(ctx)) {
    const KafkaOptions& opt = ctx.options();
    ConfPtr conf = base_conf(*s_);
    // Idempotence: librdkafka's own retries neither duplicate nor reorder, so a key's messages
    // land in order. murmur2: the partition of a key is the one Java producers pick.
    set(conf.get(), "enable.idempotence", "true");
    set(conf.get(), "partitioner", "murmur2_random");
    set(conf.get(), "queue.buffering.max.messages", std::to_string(opt.max_produce_queue));
    set(conf.get(), "message.timeout.ms", std::to_string(to_ms(opt.message_timeout)));
    set(conf.get(), "retry.backoff.ms", std::to_string(to_ms(opt.retry_backoff_min)));
    apply_extra(conf.get(), opt);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &State::on_delivery);

    char errstr[512];
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
    if (!rk) throw std::runtime_error(std::string("kafka: producer: ") + errstr);
    conf.release();  // rd_kafka_new owns it now
    s_->rk.reset(rk);
}

KafkaProducer::~KafkaProducer() {
    stop();
    s_->rk.reset();  // while the rest of State (its callbacks' opaque) is still whole
}

void KafkaProducer::start() {
    State& s = *s_;
    std::lock_guard lock(s.lifecycle_mu);
    if (s.started || s.stopped) return;
    s.started = true;
    s.poll_thread = std::thread([&s] {
        while (!s.stop_poll.load(std::memory_order_acquire)) rd_kafka_poll(s.rk.get(), 100);
    });
}

void KafkaProducer::refuse_new() {
    s_->accepting.store(false, std::memory_order_release);
}

void KafkaProducer::stop() {
    State& s = *s_;
    std::lock_guard lock(s.lifecycle_mu);
    if (s.stopped) return;
    s.stopped = true;
    s.accepting.store(false, std::memory_order_release);
    s.stop_poll.store(true, std::memory_order_release);
    if (s.poll_thread.joinable()) s.poll_thread.join();
    const KafkaOptions& opt = s.ctx.options();
    if (rd_kafka_flush(s.rk.get(), to_ms(opt.flush_timeout)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const int left = rd_kafka_outq_len(s.rk.get());
        s.ctx.log(kKafkaLogWarning, "kafka producer: " + std::to_string(left) +
                                        " message(s) not delivered within flush_timeout, dropped");
        rd_kafka_purge(s.rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        // Their delivery reports (counted as produce_failures) come back through poll.
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
        while (rd_kafka_outq_len(s.rk.get()) > 0 && std::chrono::steady_clock::now() < until) {
            rd_kafka_poll(s.rk.get(), 50);
        }
    }
}

bool KafkaProducer::produce(const std::string& topic, const std::string& key,
                            const std::string& value) {
    State& s = *s_;
    KafkaStats& stats = s.ctx.stats();
    if (!s.accepting.load(std::memory_order_acquire)) {
        stats.produce_failures.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(s.rk.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_KEY(key.empty() ? nullptr : key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        stats.produce_queue_full.fetch_add(1, std::memory_order_relaxed);
    } else {
        stats.produce_failures.fetch_add(1, std::memory_order_relaxed);
    }
    return false;
}

}  // namespace lp::events
