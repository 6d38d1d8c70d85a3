// livepush-kafka-mock: librdkafka's mock Kafka cluster as a process of its own, for benchmarks.
//
// The gift and pk scenarios of livepush-load measure events that come from Kafka; a real Kafka
// is more machine than a benchmark on one box needs, and librdkafka ships a mock cluster that
// speaks the real protocol on loopback ports chosen at run time (tests/plugins/kafka_mock.hpp
// uses it in-process). This program starts one, creates the topics, prints
// `bootstrap=<host:port,...>` on its own line and runs until SIGINT or SIGTERM. The mock keeps
// every message in memory: a long benchmark grows its RSS by the events' size.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kUsage =
    R"usage(livepush-kafka-mock: librdkafka's mock Kafka cluster, for benchmarks.

usage: livepush-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...

  --brokers N               brokers in the cluster (default 3), on loopback ports of the
                            kernel's choice
  --topic NAME:PARTITIONS   a topic to create (repeatable; replication min(3, brokers));
                            default: gift:8 and livepush.upstream:3
  -h, --help                this text

Prints "bootstrap=<host:port,...>" on stdout once the cluster is up, then runs until SIGINT
or SIGTERM. Example:

  livepush-kafka-mock --topic gift:8 > mock.out &
  livepushd ... --kafka "$(sed -n 's/^bootstrap=//p' mock.out)"
)usage";

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "livepush-kafka-mock: %s (see --help)\n", why.c_str());
    std::exit(2);
}

int parse_count(const std::string& text, const char* what, int max) {
    char* end = nullptr;
    long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > max) {
        usage_error(std::string("bad ") + what + ": " + text);
    }
    return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
    int brokers = 3;
    std::vector<std::pair<std::string, int>> topics;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            return 0;
        }
        if (i + 1 >= argc) usage_error("unknown option or missing value: " + std::string(a));
        std::string v = argv[++i];
        if (a == "--brokers") {
            brokers = parse_count(v, "--brokers", 32);
        } else if (a == "--topic") {
            std::size_t colon = v.rfind(':');
            if (colon == std::string::npos || colon == 0) usage_error("--topic is NAME:PARTITIONS");
            topics.emplace_back(v.substr(0, colon),
                                parse_count(v.substr(colon + 1), "partition count", 1024));
        } else {
            usage_error("unknown option " + std::string(a));
        }
    }
    if (topics.empty()) topics = {{"gift", 8}, {"livepush.upstream", 3}};

    // The host instance only carries the cluster: keep it quiet.
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        std::fprintf(stderr, "livepush-kafka-mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (!cluster) {
        std::fprintf(stderr, "livepush-kafka-mock: rd_kafka_mock_cluster_new failed\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    const int replication = brokers < 3 ? brokers : 3;
    for (const auto& [name, partitions] : topics) {
        if (rd_kafka_resp_err_t err =
                rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, replication)) {
            std::fprintf(stderr, "livepush-kafka-mock: topic %s: %s\n", name.c_str(),
                         rd_kafka_err2str(err));
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(rk);
            return 1;
        }
    }

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    for (const auto& [name, partitions] : topics) {
        std::printf("topic=%s partitions=%d\n", name.c_str(), partitions);
    }
    std::fflush(stdout);
    // The brokers run on the mock's own threads; this one only waits for the signal.
    while (!g_stop) pause();

    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
