// tests/plugins/kafka_mock: librdkafka's in-process mock Kafka cluster, for tests.
//
// The brokers listen on loopback ports chosen at run time and speak the real protocol, so any
// client (our KafkaEvents, kcat in another process) can use bootstraps(). The cluster lives in
// threads of a librdkafka instance of its own. Destroying it takes a second (the mock's thread
// polls once a second), so the destructor leaves that to a background thread and the process
// waits for all of them at exit: tests do not pay the second each.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lp::test {

// Joins the background destructions at exit.
class KafkaMockReaper {
public:
    static KafkaMockReaper& instance() {
        static KafkaMockReaper reaper;
        return reaper;
    }
    void destroy_later(rd_kafka_t* rk, rd_kafka_mock_cluster_t* cluster) {
        std::lock_guard lock(mu_);
        threads_.emplace_back([rk, cluster] {
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(rk);
        });
    }
    ~KafkaMockReaper() {
        for (std::thread& t : threads_) t.join();
    }

private:
    std::mutex mu_;
    std::vector<std::thread> threads_;
};

class KafkaMockCluster {
public:
    explicit KafkaMockCluster(int brokers = 3) : brokers_(brokers) {
        char errstr[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        // The host instance only carries the cluster: keep it quiet.
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
        rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!rk_) {
            rd_kafka_conf_destroy(conf);
            throw std::runtime_error(std::string("mock cluster host: ") + errstr);
        }
        cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
        if (!cluster_) {
            rd_kafka_destroy(rk_);
            throw std::runtime_error("rd_kafka_mock_cluster_new failed");
        }
    }
    ~KafkaMockCluster() { KafkaMockReaper::instance().destroy_later(rk_, cluster_); }
    KafkaMockCluster(const KafkaMockCluster&) = delete;
    KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

    std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
    int brokers() const { return brokers_; }

    void create_topic(const std::string& topic, int partitions, int replication = 3) {
        if (rd_kafka_resp_err_t err =
                rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication)) {
            throw std::runtime_error("mock topic " + topic + ": " + rd_kafka_err2str(err));
        }
    }

    // Down: the broker drops its connections and refuses new ones.
    void set_broker_up(int broker_id, bool up) {
        if (up) {
            rd_kafka_mock_broker_set_up(cluster_, broker_id);
        } else {
            rd_kafka_mock_broker_set_down(cluster_, broker_id);
        }
    }
    void set_all_brokers_up(bool up) {
        for (int id = 1; id <= brokers_; ++id) set_broker_up(id, up);
    }

    rd_kafka_mock_cluster_t* get() const { return cluster_; }

private:
    int brokers_;
    rd_kafka_t* rk_ = nullptr;
    rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace lp::test
