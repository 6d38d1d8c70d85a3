// events/rdkafka_conf: see rdkafka_conf.hpp.
#include "events/rdkafka_conf.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <set>
#include <stdexcept>
#include <utility>

namespace lp::events::detail {

namespace {

void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    auto* c = static_cast<RdKafkaClient*>(rd_kafka_opaque(rk));
    if (!c) return;
    // librdkafka 2.0 reports a reset forced by an error (offset out of range: events deleted
    // before this group read them) only as this warning, not as an error event (that takes
    // auto.offset.reset=error, which would stall the partition); a group's first start, with no
    // committed offset, resets at debug level and is not counted.
    if (level <= 4 && std::string_view(fac) == "OFFSET" &&
        std::string_view(buf).find("offset reset") != std::string_view::npos)
        c->ctx.stats().offset_resets.fetch_add(1, std::memory_order_relaxed);
    std::string line = "rdkafka ";
    line += rd_kafka_name(rk);
    line += ' ';
    line += fac;
    line += ": ";
    line += buf;
    c->ctx.log(level, line);
}

void on_error(rd_kafka_t* rk, int err_int, const char* reason, void* opaque) {
    KafkaContext& ctx = static_cast<RdKafkaClient*>(opaque)->ctx;
    const auto err = static_cast<rd_kafka_resp_err_t>(err_int);
    const bool producer_side = rd_kafka_type(rk) == RD_KAFKA_PRODUCER;
    const std::string who = producer_side ? "kafka producer: " : "kafka consumer: ";
    switch (err) {
        case RD_KAFKA_RESP_ERR__TRANSPORT:
            // A connection lost, or a reconnect attempt refused. librdkafka logs it itself (FAIL).
            if (ctx.transport_error(producer_side)) {
                ctx.stats().broker_down_events.fetch_add(1, std::memory_order_relaxed);
            }
            ctx.log(kKafkaLogDebug, who + "broker connection lost: " + reason);
            break;
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
            ctx.stats().broker_down_events.fetch_add(1, std::memory_order_relaxed);
            ctx.all_brokers_down(producer_side);
            ctx.log(kKafkaLogWarning,
                    who + "all brokers down (librdkafka keeps retrying): " + reason);
            break;
        case RD_KAFKA_RESP_ERR__FATAL: {
            char why[512];
            const rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
            ctx.log(kKafkaLogError, who + "fatal error " + rd_kafka_err2name(orig) + ": " + why +
                                        " (this client stops working; restart the node)");
            break;
        }
        default:
            ctx.log(kKafkaLogWarning, who + rd_kafka_err2name(err) + ": " + (reason ? reason : ""));
    }
}

// The consumer's lag: `consumer_lag` (end - committed offset, -1 when unknown) of every real
// partition (not librdkafka's internal -1) in the statistics' topics. librdkafka lists the
// partitions this client fetches; those it only knows of have no committed offset, hence -1.
std::int64_t consumer_lag(const boost::json::object& root) {
    const boost::json::value* topics = root.if_contains("topics");
    if (!topics || !topics->is_object()) return 0;
    std::int64_t lag = 0;
    for (const auto& [topic, t] : topics->get_object()) {
        const boost::json::value* parts =
            t.is_object() ? t.get_object().if_contains("partitions") : nullptr;
        if (!parts || !parts->is_object()) continue;
        for (const auto& [id, p] : parts->get_object()) {
            if (id == "-1" || !p.is_object()) continue;
            const boost::json::value* l = p.get_object().if_contains("consumer_lag");
            if (l && l->is_int64() && l->get_int64() > 0) lag += l->get_int64();
        }
    }
    return lag;
}

// Counts the brokers (by id) in state UP in one client's statistics. A connection to a
// bootstrap address only (id not known yet) counts as one broker. The consumer's statistics
// also give its lag.
int on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque) {
    KafkaContext& ctx = static_cast<RdKafkaClient*>(opaque)->ctx;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(std::string_view(json, len), ec);
    const boost::json::object* root = ec ? nullptr : v.if_object();
    if (root && rd_kafka_type(rk) == RD_KAFKA_CONSUMER)
        ctx.stats().consumer_lag.store(
            ctx.stats().assigned_partitions.load(std::memory_order_relaxed) > 0
                ? consumer_lag(*root)
                : 0,
            std::memory_order_relaxed);
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
    ctx.brokers_seen_up(rd_kafka_type(rk) == RD_KAFKA_PRODUCER, std::move(up));
    return 0;  // librdkafka frees the JSON
}

}  // namespace

std::string tp_name(std::string_view topic, std::int32_t partition, std::int64_t offset) {
    std::string s(topic);
    s += '[' + std::to_string(partition) + ']';
    if (offset >= 0) s += '@' + std::to_string(offset);
    return s;
}

void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        throw std::runtime_error("kafka: " + name + "=" + value + ": " + errstr);
    }
}

ConfPtr base_conf(RdKafkaClient& client) {
    const KafkaOptions& opt = client.ctx.options();
    ConfPtr conf(rd_kafka_conf_new());
    set(conf.get(), "bootstrap.servers", opt.brokers);
    set(conf.get(), "client.id", opt.client_id.empty() ? "livepush" : opt.client_id);
    set(conf.get(), "statistics.interval.ms", std::to_string(to_ms(opt.stats_interval)));
    // Reconnecting to a broker that went away backs off like everything else here.
    set(conf.get(), "reconnect.backoff.ms", std::to_string(to_ms(opt.retry_backoff_min)));
    set(conf.get(), "reconnect.backoff.max.ms", std::to_string(to_ms(opt.retry_backoff_max)));
    rd_kafka_conf_set_opaque(conf.get(), &client);
    rd_kafka_conf_set_log_cb(conf.get(), &on_log);
    rd_kafka_conf_set_error_cb(conf.get(), &on_error);
    rd_kafka_conf_set_stats_cb(conf.get(), &on_stats);
    return conf;
}

void apply_extra(rd_kafka_conf_t* conf, const KafkaOptions& opt) {
    for (const auto& [k, v] : opt.rdkafka_config) set(conf, k, v);
}

}  // namespace lp::events::detail
