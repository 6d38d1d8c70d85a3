// load-test/kafka_gift_producer: see kafka_gift_producer.hpp.
#include "load-test/kafka_gift_producer.hpp"

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "load-test/clocks.hpp"

namespace lp::load {
namespace {

constexpr int kPollEvery = 100;  // produce calls between two non-blocking polls

}  // namespace

struct KafkaGiftProducer::Impl {
    Impl(KafkaProducerOptions o, GiftEventPlan& p) : opts(std::move(o)), plan(p) {
        char errstr[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        auto set = [&](const char* name, const std::string& value) {
            if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof errstr) !=
                RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(conf);
                throw std::runtime_error(std::string("kafka producer: ") + name + ": " + errstr);
            }
        };
        set("bootstrap.servers", opts.brokers);
        set("client.id", "livepush-load");
        set("acks", "1");
        set("linger.ms", std::to_string(opts.linger_ms));
        set("batch.num.messages", "10000");
        set("queue.buffering.max.messages", "1000000");
        set("queue.buffering.max.kbytes", "1048576");
        set("enable.idempotence", "false");
        set("log_level", "3");
        rd_kafka_conf_set_opaque(conf, this);
        rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!rk) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(std::string("kafka producer: ") + errstr);
        }
        topic = rd_kafka_topic_new(rk, opts.topic.c_str(), nullptr);
        if (!topic) {
            rd_kafka_destroy(rk);
            throw std::runtime_error("kafka producer: topic " + opts.topic);
        }
    }

    ~Impl() {
        if (topic) rd_kafka_topic_destroy(topic);
        if (rk) rd_kafka_destroy(rk);
    }

    // Called from rd_kafka_poll() / rd_kafka_flush() on the producing thread.
    static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
        auto* self = static_cast<Impl*>(opaque);
        if (m->err) {
            ++self->results.failed;
            if (self->results.first_error.empty())
                self->results.first_error = rd_kafka_err2str(m->err);
        } else {
            ++self->results.delivered;
            self->results.last_delivery_ns = steady_ns();
        }
        self->delivered.store(self->results.delivered, std::memory_order_relaxed);
    }

    void produce_all() {
        const std::uint64_t n = plan.size();
        const std::int64_t start = steady_ns();
        const double interval_ns = opts.rate > 0 ? 1e9 / opts.rate : 0;
        std::string body;
        std::string key;
        results.first_produce_ns = start;
        // Bounded by the plan's events; each waits at most for its due time or queue room.
        for (std::uint64_t i = 0; i < n && !stopping.load(std::memory_order_relaxed); ++i) {
            if (interval_ns > 0) {
                auto due = start + static_cast<std::int64_t>(double(i) * interval_ns);
                std::int64_t ahead = due - steady_ns();
                // Waiting time serves delivery reports; the last sub-millisecond is slept.
                if (ahead >= 1000000) {
                    rd_kafka_poll(rk, static_cast<int>(ahead / 1000000));
                    ahead = due - steady_ns();
                }
                if (ahead > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(ahead));
            }
            plan.write_event(i, wall_ms(), body);
            key = std::to_string(plan.room_of(i));
            plan.stamp_sent(i, steady_ns());
            // Bounded: a full queue empties as the brokers acknowledge, or the run's stop
            // (or its hard timeout) ends the wait.
            while (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, body.data(),
                                    body.size(), key.data(), key.size(), nullptr) != 0) {
                rd_kafka_resp_err_t err = rd_kafka_last_error();
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    ++results.failed;
                    if (results.first_error.empty()) results.first_error = rd_kafka_err2str(err);
                    break;
                }
                ++results.queue_full_waits;
                rd_kafka_poll(rk, 10);
                if (stopping.load(std::memory_order_relaxed)) return;
            }
            ++results.produced;
            produced.store(results.produced, std::memory_order_relaxed);
            results.last_produce_ns = steady_ns();
            if (i % kPollEvery == 0) rd_kafka_poll(rk, 0);
        }
        // Delivery reports of the last batches; bounded by the flush timeout.
        rd_kafka_flush(rk, static_cast<int>(opts.flush_timeout_ms));
    }

    KafkaProducerOptions opts;
    GiftEventPlan& plan;
    rd_kafka_t* rk = nullptr;
    rd_kafka_topic_t* topic = nullptr;
    std::thread thread;
    KafkaProducerResults results;
    std::atomic<bool> stopping{false};
    std::atomic<bool> finished{false};
    std::atomic<std::uint64_t> produced{0};
    std::atomic<std::uint64_t> delivered{0};
};

KafkaGiftProducer::KafkaGiftProducer(KafkaProducerOptions options, GiftEventPlan& plan)
    : impl_(std::make_unique<Impl>(std::move(options), plan)) {}

KafkaGiftProducer::~KafkaGiftProducer() {
    stop();
}

void KafkaGiftProducer::start() {
    Impl& i = *impl_;
    if (i.thread.joinable()) return;
    i.thread = std::thread([&i] {
        i.produce_all();
        i.finished.store(true, std::memory_order_release);
    });
}

bool KafkaGiftProducer::finished() const noexcept {
    return impl_->finished.load(std::memory_order_acquire);
}
std::uint64_t KafkaGiftProducer::produced() const noexcept {
    return impl_->produced.load(std::memory_order_relaxed);
}
std::uint64_t KafkaGiftProducer::delivered() const noexcept {
    return impl_->delivered.load(std::memory_order_relaxed);
}

void KafkaGiftProducer::stop() {
    Impl& i = *impl_;
    if (!i.thread.joinable()) return;
    i.stopping.store(true, std::memory_order_relaxed);
    i.thread.join();
}

const KafkaProducerResults& KafkaGiftProducer::results() const noexcept {
    return impl_->results;
}

}  // namespace lp::load
