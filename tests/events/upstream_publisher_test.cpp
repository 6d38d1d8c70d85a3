// tests/events/upstream_publisher: the records the gateway's client packets become on
// kafka.upstream_topic (key and value), and that publish() puts them there through the
// node's producer (librdkafka's mock cluster, read back by a consumer of our own).
#include "events/upstream_publisher.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "events/kafka_consumer.hpp"
#include "events/kafka_context.hpp"
#include "events/kafka_producer.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/plugins/kafka_mock.hpp"

namespace lp::events {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using lp::testing::eventually;

TEST(UpstreamPublisher, KeyIsTheRoomIdWhenTheDataHasOneElseTheUserId) {
    EXPECT_EQ(
        UpstreamPublisher::record("n1", 42, "room.chat", R"({"room_id":5,"text":"hi"})", 1).key,
        "5");
    EXPECT_EQ(UpstreamPublisher::record("n1", 42, "room.chat", R"({"room_id":"r-7"})", 1).key,
              "r-7");
    EXPECT_EQ(
        UpstreamPublisher::record("n1", 42, "room.chat", R"({"room_id":18446744073709551615})", 1)
            .key,
        "18446744073709551615");
    EXPECT_EQ(UpstreamPublisher::record("n1", 42, "pk.vote", R"({"side":1})", 1).key, "42");
    EXPECT_EQ(UpstreamPublisher::record("n1", 42, "pk.vote", R"([5])", 1).key, "42");
    EXPECT_EQ(UpstreamPublisher::record("n1", 42, "pk.vote", "not json", 1).key, "42");
}

TEST(UpstreamPublisher, ValueCarriesTypeUserNodeTimeAndThePacketData) {
    const UpstreamRecord r = UpstreamPublisher::record(
        "node-a", 42, "room.chat", R"({"room_id":5,"text":"hi"})", 1700000000123);
    const json::object v = json::parse(r.value).as_object();
    EXPECT_EQ(v.size(), 5u);
    EXPECT_EQ(v.at("type").as_string(), "room.chat");
    EXPECT_EQ(v.at("user_id").as_string(), "42") << "a decimal string, as ids are on the wire";
    EXPECT_EQ(v.at("node").as_string(), "node-a");
    EXPECT_EQ(v.at("ts_ms").to_number<std::uint64_t>(), 1700000000123u);
    EXPECT_EQ(v.at("data"), json::parse(R"({"room_id":5,"text":"hi"})")) << "JSON, not a string";

    const UpstreamRecord text = UpstreamPublisher::record("node-a", 42, "x", "not json", 1);
    EXPECT_EQ(json::parse(text.value).at("data").as_string(), "not json");
}

TEST(UpstreamPublisher, PublishesOnTheUpstreamTopicThroughTheProducer) {
    test::KafkaMockCluster kafka(1);
    kafka.create_topic("livepush.upstream", 3);
    KafkaOptions o;
    o.brokers = kafka.bootstraps();
    o.client_id = "node-a";
    o.topics = {"livepush.upstream"};
    o.session_timeout = 4000ms;
    o.heartbeat_interval = 300ms;
    o.rdkafka_config["fetch.wait.max.ms"] = "50";
    o.log = [](int, std::string_view) {};
    KafkaContext ctx(o);
    KafkaProducer producer(ctx);
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> got;  // key, value
    KafkaConsumer consumer(
        ctx, [&](const std::string& topic, const std::string& key, const std::string& value) {
            std::lock_guard lock(mu);
            if (topic == "livepush.upstream") got.emplace_back(key, value);
            return true;
        });
    producer.start();
    consumer.start();

    const UpstreamPublisher up(producer, "livepush.upstream", "node-a");
    ASSERT_TRUE(up.publish(42, "room.chat", R"({"room_id":5,"text":"upstream please"})", 7));
    ASSERT_TRUE(eventually(
        [&] {
            std::lock_guard lock(mu);
            return !got.empty();
        },
        15s));
    std::lock_guard lock(mu);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, "5");
    EXPECT_EQ(got[0].second,
              UpstreamPublisher::record("node-a", 42, "room.chat",
                                        R"({"room_id":5,"text":"upstream please"})", 7)
                  .value);
    // (The delivery report may come after the consumer has the message already.)
    EXPECT_TRUE(eventually([&] { return ctx.stats().produced == 1; }, 5s));
}

}  // namespace
}  // namespace lp::events
