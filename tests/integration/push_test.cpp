// tests/integration/push_test: the push API and delivery semantics end to end, against a real
// livepushd: user/users/room/broadcast pushes over every wire form, coalescing order, qos1
// retries, acks, the inbox (cap, TTL, replay after reconnect), room recovery, im.send to an
// offline user, and metrics that move.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"
#include "tests/integration/eventually.hpp"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::client::Options;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::json_u64;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::post_json;
using lp::testing::token_for;
using namespace std::chrono_literals;

Options opts(const NodeProcess& n, Transport t = Transport::Tcp, bool json_body = false,
             bool text = false) {
    Options o = lp::testing::client_options(n, t);
    o.json_body = json_body;
    o.ws_text = text;
    return o;
}

std::unique_ptr<Connection> login(const Options& o, std::uint64_t user,
                                  const std::string& platform = "android") {
    return lp::testing::login_with(o, token_for(user), platform);
}

void enter(Connection& c, std::uint64_t room) {
    auto r = c.biz("room.enter", lp::testing::room_json(room));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code(), 0) << r->message();
}

std::uint64_t inbox_of(HttpClient& api, std::uint64_t user) {
    auto res = api.get("/v1/users/" + std::to_string(user));
    EXPECT_EQ(res.status, 200);
    return json_u64(res.json().at("inbox"));
}

// ------------------------------------------------------------------ the API end to end

TEST(PushApi, UserPushReachesEverySessionOfTheUserAndOfflineReachesNone) {
    NodeProcess node({"--loops", "2"});
    HttpClient api(node.api_port());
    auto app = login(opts(node), 50, "android");
    auto web = login(opts(node, Transport::Ws), 50, "web");
    auto r = post_json(api, "/v1/push/user", R"({"user_id":50,"type":"notice","payload":{"n":1}})");
    EXPECT_EQ(json_u64(r.at("sessions")), 2u);
    for (auto* c : {app.get(), web.get()}) {
        auto p = c->next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type(), "notice");
        EXPECT_EQ(p->payload(), R"({"n":1})");
        EXPECT_EQ(std::to_string(p->msg_id()), std::string(r.at("msg_id").as_string()));
    }
    auto off = post_json(api, "/v1/push/user", R"({"user_id":51,"type":"notice","payload":1})");
    EXPECT_EQ(json_u64(off.at("sessions")), 0u);
    EXPECT_EQ(json_u64(off.at("stored")), 0u) << "qos0 to an offline user is not stored";
}

TEST(PushApi, UsersAndBroadcastReachTheRightSessions) {
    NodeProcess node({"--loops", "2"});
    HttpClient api(node.api_port());
    std::vector<std::unique_ptr<Connection>> c;
    for (int i = 0; i < 6; ++i)
        c.push_back(login(opts(node, i % 2 ? Transport::Ws : Transport::Tcp), 60 + i));
    auto r = post_json(api, "/v1/push/users",
                       R"({"user_ids":[60,61,62,"62",99],"type":"u","payload":"x"})");
    EXPECT_EQ(json_u64(r.at("sessions")), 3u);
    for (int i = 0; i < 3; ++i) {
        auto p = c[i]->next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type(), "u");
    }
    auto b = post_json(api, "/v1/push/broadcast", R"({"type":"all","payload":{},"exclude":[65]})");
    EXPECT_GE(json_u64(b.at("sessions")), 6u);
    for (int i = 0; i < 6; ++i) {
        ASSERT_TRUE(c[i]->heartbeat());
        std::optional<pb::Push> p;
        while ((p = c[i]->next_push(1000ms)) && p->type() != "all") {
        }
        if (i == 5)
            EXPECT_FALSE(p) << "an excluded user got the broadcast";
        else
            EXPECT_TRUE(p) << "user " << 60 + i << " missed the broadcast";
    }
}

TEST(PushApi, ErrorsAreJsonWithTheRightStatus) {
    NodeProcess node({"--api-key", "k3y", "--api-max-body-bytes", "1024"});
    HttpClient api(node.api_port(), "k3y");
    HttpClient nokey(node.api_port());
    HttpClient badkey(node.api_port(), "wrong");
    auto expect_error = [](const lp::testing::HttpResponse& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        auto j = r.json().as_object();
        EXPECT_TRUE(j.contains("error")) << r.body;
        EXPECT_TRUE(j.contains("code")) << r.body;
    };
    expect_error(nokey.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})"), 401);
    expect_error(badkey.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})"), 401);
    expect_error(api.post("/v1/push/user", R"({"user_id":1,"type":)"), 400);
    expect_error(api.post("/v1/push/user", R"({"user_id":"abc","type":"t","payload":1})"), 400);
    expect_error(api.post("/v1/push/room", R"({"room_id":1,"type":"t","payload":1,"qos":1})"), 400);
    expect_error(api.post("/v1/push/user", "{\"user_id\":1,\"type\":\"t\",\"payload\":\"" +
                                               std::string(4096, 'x') + "\"}"),
                 413);
    expect_error(api.get("/v1/nothing/here"), 404);
    expect_error(api.get("/v1/push/user"), 405);
    EXPECT_EQ(nokey.get("/healthz").status, 200) << "healthz needs no key";
    EXPECT_EQ(api.get("/readyz").status, 200);
    EXPECT_EQ(api.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").status, 200)
        << "the node keeps serving after all those errors";
}

TEST(PushApi, UserRoomViewsAndKick) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto c = login(opts(node, Transport::Ws), 70, "web");
    enter(*c, 700);
    ASSERT_TRUE(c->biz("scene.set", R"({"scene":"lobby"})"));
    auto u = api.get("/v1/users/70");
    ASSERT_EQ(u.status, 200);
    auto uj = u.json().as_object();
    EXPECT_TRUE(uj.at("online").as_bool());
    ASSERT_EQ(uj.at("sessions").as_array().size(), 1u);
    auto s = uj.at("sessions").as_array()[0].as_object();
    EXPECT_EQ(s.at("platform").as_string(), "web");
    EXPECT_EQ(s.at("transport").as_string(), "ws");
    EXPECT_EQ(s.at("scene").as_string(), "lobby");
    ASSERT_EQ(s.at("rooms").as_array().size(), 1u);
    EXPECT_EQ(json_u64(s.at("rooms").as_array()[0]), 700u);
    auto room = api.get("/v1/rooms/700").json().as_object();
    EXPECT_EQ(json_u64(room.at("online")), 1u);
    EXPECT_FALSE(api.get("/v1/users/71").json().at("online").as_bool());

    auto k = post_json(api, "/v1/users/70/kick", R"({"reason":"banned"})");
    EXPECT_EQ(json_u64(k.at("kicked")), 1u);
    auto kick = c->wait_code(Code::Kick);
    ASSERT_TRUE(kick);
    pb::Kick kk;
    ASSERT_TRUE(kick->parse(kk));
    EXPECT_EQ(kk.reason(), "banned");
    EXPECT_TRUE(c->wait_closed(3000ms));
}

// ------------------------------------------------------------------ rooms

TEST(RoomPush, ReachesEveryMemberOnceOverEveryWireFormAndNobodyElse) {
    NodeProcess node({"--loops", "2"});
    HttpClient api(node.api_port());
    std::vector<std::unique_ptr<Connection>> members, outsiders;
    for (int i = 0; i < 40; ++i) {
        Options o = i % 5 == 0   ? opts(node)
                    : i % 5 == 1 ? opts(node, Transport::Tcp, true)
                    : i % 5 == 2 ? opts(node, Transport::Ws)
                    : i % 5 == 3 ? opts(node, Transport::Ws, true)
                                 : opts(node, Transport::Ws, false, true);
        members.push_back(login(o, 1000 + i));
        enter(*members.back(), 5);
    }
    for (int i = 0; i < 10; ++i) {
        outsiders.push_back(login(opts(node, i % 2 ? Transport::Ws : Transport::Tcp), 2000 + i));
        if (i % 2) enter(*outsiders.back(), 6);
    }
    auto r =
        post_json(api, "/v1/push/room",
                  R"({"room_id":5,"type":"gift.effect","payload":{"gift":9},"exclude":[1003]})");
    EXPECT_EQ(json_u64(r.at("room_seq")), 1u);
    for (int i = 0; i < 40; ++i) {
        auto p = members[i]->next_push(i == 3 ? 300ms : 5000ms);
        if (i == 3) {
            EXPECT_FALSE(p) << "excluded user 1003 got the room push";
            continue;
        }
        ASSERT_TRUE(p) << "member " << i;
        EXPECT_EQ(p->type(), "gift.effect");
        EXPECT_EQ(p->room_id(), 5u);
        EXPECT_EQ(p->room_seq(), 1u);
        EXPECT_EQ(p->payload(), R"({"gift":9})");
    }
    for (auto& m : members) {
        ASSERT_TRUE(m->heartbeat());
        EXPECT_FALSE(m->next_push(0ms)) << "a member got the push twice";
    }
    for (auto& o : outsiders) {
        ASSERT_TRUE(o->heartbeat());
        EXPECT_FALSE(o->next_push(0ms)) << "a non-member got the room push";
    }
}

TEST(RoomPush, CoalescedBatchesKeepRoomSeqOrder) {
    // Every message to every member: the viewer budget (docs/rooms.md) is off here.
    NodeProcess node(
        {"--loops", "1", "--room-coalesce-ms", "10", "--set", "room.viewer_budget_per_s=0"});
    HttpClient api(node.api_port());
    std::vector<std::unique_ptr<Connection>> members;
    for (int i = 0; i < 20; ++i) {
        members.push_back(
            login(opts(node, i % 2 ? Transport::Ws : Transport::Tcp, i % 4 == 1), 3000 + i));
        enter(*members.back(), 8);
    }
    constexpr int kMessages = 300;
    for (int i = 1; i <= kMessages; ++i)
        post_json(api, "/v1/push/room",
                  "{\"room_id\":8,\"type\":\"tick\",\"payload\":" + std::to_string(i) + "}");
    for (auto& m : members) {
        for (int i = 1; i <= kMessages; ++i) {
            auto p = m->next_push();
            ASSERT_TRUE(p) << "message " << i;
            ASSERT_EQ(p->room_seq(), static_cast<std::uint64_t>(i));
            ASSERT_EQ(p->payload(), std::to_string(i));
        }
    }
    auto metrics = api.get("/metrics").body;
    double batches = metric_value(metrics, "livepush_room_batches_total");
    double deliveries = metric_value(metrics, "livepush_deliveries_total{kind=\"room\"}");
    EXPECT_EQ(deliveries, 20.0 * kMessages);
    EXPECT_GT(batches, 0);
    EXPECT_LT(batches, kMessages) << "messages within the window must share a batch";
}

TEST(RoomPush, ABatchBiggerThanTheQueueBoundKicksNobodyButASessionThatStopsReadingIs) {
    // A batch is exactly 40 messages (--room-coalesce-max), never cut by the window (a minute,
    // longer than the test): how the pushes are spread in time cannot split or merge batches.
    constexpr int kBatch = 40;
    // The viewer budget is off: this pins the queue bound, not what a budget would shed.
    NodeProcess node({"--loops", "1", "--send-queue-max-bytes", "262144", "--room-coalesce-ms",
                      "60000", "--room-coalesce-max", std::to_string(kBatch), "--set",
                      "room.viewer_budget_per_s=0"});
    HttpClient api(node.api_port());
    auto reader = login(opts(node), 4000);
    auto sleeper = login(opts(node), 4001);
    enter(*reader, 40);
    enter(*sleeper, 40);
    // The reader reads all the time, on its own thread; the sleeper never reads.
    std::atomic<bool> stop{false};
    std::atomic<int> read{0};
    std::atomic<bool> reader_kicked{false};
    std::thread reading([&] {
        while (!stop) {
            auto f = reader->recv(100ms);
            if (!f) continue;
            if (f->code() == Code::Push) ++read;
            if (f->code() == Code::Kick) reader_kicked = true;
        }
    });
    const std::string big = "\"" + std::string(16000, 'x') + "\"";
    auto push = [&] {
        post_json(api, "/v1/push/room", "{\"room_id\":40,\"type\":\"b\",\"payload\":" + big + "}");
    };
    // The reader has read everything so far (or was kicked, which fails below).
    auto reader_caught_up = [&](int pushed) {
        return lp::testing::eventually(
            [&] { return read.load() >= pushed || reader_kicked.load(); }, 20000ms);
    };
    // 40 x 16 KB: one 640 KB batch, over the 256 KB bound, queued to sessions that had read
    // everything: nobody is slow yet.
    for (int i = 0; i < kBatch; ++i) push();
    EXPECT_TRUE(reader_caught_up(kBatch)) << "the first batch reached the reader";
    EXPECT_EQ(metric_value(api.get("/metrics").body, "livepush_slow_consumer_kicks_total"), 0)
        << "one big batch to sessions with empty queues is not slowness";
    // The room keeps going (16 MB): the sleeper's kernel buffers fill, then its queue. The
    // room goes at the reader's pace (each batch once it has read the one before): a reader
    // that a loaded machine starves of CPU falls behind an unpaced room, and a session that
    // has not read what is queued when the next batch comes is slow by definition. Paced,
    // every batch reaches the reader's empty queue and the sleeper's full one.
    int pushed = kBatch;
    for (int b = 0; b < 1000 / kBatch && !reader_kicked; ++b) {
        for (int i = 0; i < kBatch; ++i) push();
        pushed += kBatch;
        if (!reader_caught_up(pushed)) break;
    }
    stop = true;
    reading.join();
    auto m = api.get("/metrics").body;
    EXPECT_EQ(metric_value(m, "livepush_slow_consumer_kicks_total"), 1)
        << "the sleeper, and only it";
    EXPECT_FALSE(reader_kicked) << "a session that reads is never kicked";
    EXPECT_GE(read.load(), 1040);
    // The sleeper is closed. Its KICK sits behind everything it did not read: it arrives only
    // if the client drains its socket before the server's close linger ends, so it is checked
    // when it came, not required.
    bool closed = false;
    auto until = std::chrono::steady_clock::now() + 30s;
    while (!closed && std::chrono::steady_clock::now() < until) {
        auto f = sleeper->recv(1000ms);
        if (!f) {
            closed = !sleeper->is_open();
            continue;
        }
        if (f->code() == Code::Kick) {
            pb::Kick k;
            ASSERT_TRUE(f->parse(k));
            EXPECT_EQ(k.reason(), "slow");
        }
    }
    EXPECT_TRUE(closed) << "a session over its send-queue bound is closed";
}

// ------------------------------------------------------------------ qos1

TEST(Qos1, NeverAckingClientGetsMaxAttemptsCopiesThenTheInboxHasIt) {
    NodeProcess node({"--delivery-retry-ms", "100", "--delivery-max-attempts", "3"});
    HttpClient api(node.api_port());
    auto c = login(opts(node), 80);
    auto r = post_json(api, "/v1/push/user",
                       R"({"user_id":80,"type":"pk.result","payload":{"win":true},"qos":1})");
    std::uint64_t id = std::stoull(std::string(r.at("msg_id").as_string()));
    int copies = 0;
    auto until = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < until) {
        auto f = c->wait_code(Code::Push, 200ms);
        if (!f) continue;
        pb::Push p;
        ASSERT_TRUE(f->parse(p));
        EXPECT_EQ(p.msg_id(), id) << "every copy carries the same msg_id";
        EXPECT_TRUE(f->header.flags & lp::codec::kAckRequired);
        ++copies;
    }
    EXPECT_EQ(copies, 3);
    EXPECT_EQ(inbox_of(api, 80), 1u) << "after max_attempts the message waits in the inbox";
    auto m = api.get("/metrics").body;
    EXPECT_EQ(metric_value(m, "livepush_qos1_retries_total"), 2);
    EXPECT_EQ(metric_value(m, "livepush_qos1_to_inbox_total{reason=\"max_attempts\"}"), 1);
}

TEST(Qos1, AckingClientReceivesExactlyOnce) {
    NodeProcess node({"--delivery-retry-ms", "100"});
    HttpClient api(node.api_port());
    auto c = login(opts(node, Transport::Ws, false, true), 81);  // text envelopes carry flags too
    post_json(api, "/v1/push/user", R"({"user_id":81,"type":"t","payload":1,"qos":1})");
    auto f = c->wait_code(Code::Push);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->header.flags & lp::codec::kAckRequired);
    pb::Push p;
    ASSERT_TRUE(f->parse(p));
    c->ack({p.msg_id()});
    std::this_thread::sleep_for(800ms);
    EXPECT_FALSE(c->next_push(0ms)) << "an acked message must not be resent";
    EXPECT_EQ(inbox_of(api, 81), 0u);
    EXPECT_EQ(metric_value(api.get("/metrics").body, "livepush_acks_total"), 1);
}

TEST(Qos1, DisconnectWithMessagesInFlightThenReconnectGetsAllInOrder) {
    NodeProcess node({"--delivery-window", "4", "--delivery-retry-ms", "5000"});
    HttpClient api(node.api_port());
    std::vector<std::uint64_t> sent;
    {
        auto c = login(opts(node), 82);
        for (int i = 0; i < 10; ++i) {
            auto r = post_json(
                api, "/v1/push/user",
                "{\"user_id\":82,\"type\":\"m\",\"payload\":" + std::to_string(i) + ",\"qos\":1}");
            sent.push_back(std::stoull(std::string(r.at("msg_id").as_string())));
        }
        // The window is 4: exactly the first four arrive while none is acked.
        for (int i = 0; i < 4; ++i) {
            auto p = c->next_push();
            ASSERT_TRUE(p);
            EXPECT_EQ(p->msg_id(), sent[i]);
        }
        EXPECT_FALSE(c->next_push(300ms)) << "the window must hold the rest";
        c->ack({sent[0]});
        auto fifth = c->next_push();
        ASSERT_TRUE(fifth) << "an ack opens the window";
        EXPECT_EQ(fifth->msg_id(), sent[4]);
        c->close();  // disconnect with 1..4 in flight and 5..9 waiting
    }
    std::this_thread::sleep_for(200ms);
    for (int i = 10; i < 13; ++i) {  // and three more while offline
        auto r = post_json(
            api, "/v1/push/user",
            "{\"user_id\":82,\"type\":\"m\",\"payload\":" + std::to_string(i) + ",\"qos\":1}");
        EXPECT_EQ(json_u64(r.at("stored")), 1u);
        sent.push_back(std::stoull(std::string(r.at("msg_id").as_string())));
    }
    EXPECT_EQ(inbox_of(api, 82), 12u);
    auto c = login(opts(node), 82);
    for (std::size_t i = 1; i < sent.size(); ++i) {
        auto p = c->next_push();
        ASSERT_TRUE(p) << "message " << i << " lost";
        ASSERT_EQ(p->msg_id(), sent[i]) << "out of order at " << i;
        c->ack({p->msg_id()});
    }
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(inbox_of(api, 82), 0u) << "acked inbox messages are removed";
}

TEST(Inbox, CapKeepsTheNewestAndTtlDropsExpired) {
    NodeProcess node({"--inbox-max", "3"});
    HttpClient api(node.api_port());
    for (int i = 1; i <= 5; ++i)
        post_json(
            api, "/v1/push/user",
            "{\"user_id\":90,\"type\":\"m\",\"payload\":" + std::to_string(i) + ",\"qos\":1}");
    post_json(api, "/v1/push/user",
              R"({"user_id":91,"type":"short","payload":1,"qos":1,"ttl_s":1})");
    post_json(api, "/v1/push/user", R"({"user_id":91,"type":"long","payload":2,"qos":1})");
    EXPECT_EQ(inbox_of(api, 90), 3u);
    auto c = login(opts(node), 90);
    for (int i = 3; i <= 5; ++i) {
        auto p = c->next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->payload(), std::to_string(i)) << "the oldest are dropped at the cap";
    }
    std::this_thread::sleep_for(1500ms);
    auto d = login(opts(node), 91);
    auto p = d->next_push();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type(), "long") << "a message past its ttl_s is never delivered";
    EXPECT_FALSE(d->next_push(300ms));
    EXPECT_GE(
        metric_value(api.get("/metrics").body, "livepush_inbox_dropped_total{reason=\"cap\"}"), 2);
}

TEST(ImSend, ToAnOfflineUserIsDeliveredAtItsLogin) {
    NodeProcess node;
    auto a = login(opts(node), 100);
    auto r = a->biz("im.send", R"({"to":101,"payload":{"text":"hi B","price":1.5}})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code(), 0) << r->message();
    EXPECT_NE(r->msg_id(), 0u);
    auto b = login(opts(node, Transport::Ws), 101);
    auto f = b->wait_code(Code::Push);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->header.flags & lp::codec::kAckRequired) << "private messages are qos1";
    pb::Push p;
    ASSERT_TRUE(f->parse(p));
    EXPECT_EQ(p.type(), "im.message");
    EXPECT_EQ(p.msg_id(), r->msg_id());
    auto body = json::parse(p.payload()).as_object();
    EXPECT_EQ(body.at("from").as_string(), "100");
    EXPECT_EQ(body.at("payload").at("text").as_string(), "hi B");
    EXPECT_NE(p.payload().find(R"("price":1.5})"), std::string::npos)
        << "a decimal stays a plain number, not 1.5E0: " << p.payload();
}

// ------------------------------------------------------------------ recovery

TEST(Recovery, ReEnterWithLastSeqReplaysTheGapInOrder) {
    NodeProcess node({"--loops", "2"});
    HttpClient api(node.api_port());
    auto stay = login(opts(node), 110);
    enter(*stay, 11);
    auto b = login(opts(node, Transport::Ws), 111);
    enter(*b, 11);
    post_json(api, "/v1/push/room", R"({"room_id":11,"type":"t","payload":1})");
    auto first = b->next_push();
    ASSERT_TRUE(first);
    std::uint64_t last_seq = first->room_seq();
    ASSERT_TRUE(b->biz("room.leave", R"({"room_id":11})"));
    std::vector<pb::Push> originals;
    for (int i = 2; i <= 6; ++i)
        post_json(api, "/v1/push/room",
                  "{\"room_id\":11,\"type\":\"t\",\"payload\":" + std::to_string(i) + "}");
    for (int i = 1; i <= 6; ++i) {
        auto p = stay->next_push();
        ASSERT_TRUE(p);
        if (p->room_seq() > last_seq) originals.push_back(*p);
    }
    ASSERT_EQ(originals.size(), 5u);
    auto r = b->biz("room.enter", "{\"room_id\":11,\"last_seq\":" + std::to_string(last_seq) + "}");
    ASSERT_TRUE(r);
    auto data = json::parse(r->data()).as_object();
    EXPECT_TRUE(data.at("recovered").as_bool());
    EXPECT_EQ(json_u64(data.at("replayed")), 5u);
    for (const auto& o : originals) {
        auto p = b->next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->room_seq(), o.room_seq());
        EXPECT_EQ(p->msg_id(), o.msg_id()) << "recovery resends the original PUSH";
        EXPECT_EQ(p->payload(), o.payload());
    }
    post_json(api, "/v1/push/room", R"({"room_id":11,"type":"t","payload":7})");
    auto live = b->next_push();
    ASSERT_TRUE(live);
    EXPECT_EQ(live->room_seq(), originals.back().room_seq() + 1)
        << "live messages follow the replay";
}

TEST(Recovery, AGapOlderThanTheHistoryIsReportedNotFilled) {
    NodeProcess node({"--room-history-max", "3"});
    HttpClient api(node.api_port());
    auto stay = login(opts(node), 120);
    enter(*stay, 12);
    auto epoch = json_u64(api.get("/v1/rooms/12").json().at("epoch"));
    for (int i = 0; i < 10; ++i)
        post_json(api, "/v1/push/room", R"({"room_id":12,"type":"t","payload":0})");
    auto b = login(opts(node), 121);
    auto r = b->biz("room.enter", R"({"room_id":12,"last_seq":2})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 0) << "the client is in the room even when the gap cannot be filled";
    auto data = json::parse(r->data()).as_object();
    EXPECT_FALSE(data.at("recovered").as_bool());
    EXPECT_EQ(json_u64(data.at("room_seq")), 10u);
    EXPECT_FALSE(b->next_push(300ms)) << "nothing is replayed for an unfillable gap";
    auto c = login(opts(node), 122);
    auto wrong =
        c->biz("room.enter",
               "{\"room_id\":12,\"last_seq\":9,\"epoch\":" + std::to_string(epoch + 1) + "}");
    ASSERT_TRUE(wrong);
    EXPECT_FALSE(json::parse(wrong->data()).at("recovered").as_bool())
        << "another epoch is another room";
    auto ok = c->biz("room.enter",
                     "{\"room_id\":12,\"last_seq\":8,\"epoch\":" + std::to_string(epoch) + "}");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(json::parse(ok->data()).at("recovered").as_bool());
}

TEST(Recovery, LoginWithResumeReplaysAfterLoginResult) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto stay = login(opts(node), 130);
    enter(*stay, 13);
    for (int i = 1; i <= 4; ++i)
        post_json(api, "/v1/push/room",
                  "{\"room_id\":13,\"type\":\"t\",\"payload\":" + std::to_string(i) + "}");
    Connection c(opts(node, Transport::Ws, true));
    ASSERT_FALSE(c.connect());
    pb::RoomResume resume;
    resume.set_room_id(13);
    resume.set_last_seq(1);
    auto r = c.login(token_for(131), "android", "", &resume);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code(), 0);
    for (std::uint64_t seq = 2; seq <= 4; ++seq) {
        auto p = c.next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->room_seq(), seq);
    }
    EXPECT_EQ(json_u64(api.get("/v1/rooms/13").json().at("online")), 2u)
        << "resume also re-enters the room";
}

// ------------------------------------------------------------------ metrics

TEST(Metrics, CountersMoveAsClientsAndServicesAct) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto before = api.get("/metrics");
    ASSERT_EQ(before.status, 200);
    EXPECT_NE(before.content_type.find("text/plain"), std::string::npos);
    EXPECT_EQ(metric_value(before.body, "livepush_logins_total{result=\"ok\"}"), 0);
    auto c = login(opts(node, Transport::Ws), 140);
    Connection bad(opts(node));
    ASSERT_FALSE(bad.connect());
    bad.login(token_for(141, -100));
    enter(*c, 14);
    post_json(api, "/v1/push/room", R"({"room_id":14,"type":"t","payload":1})");
    ASSERT_TRUE(c->next_push());
    ASSERT_TRUE(c->heartbeat());
    auto m = api.get("/metrics").body;
    EXPECT_EQ(metric_value(m, "livepush_logins_total{result=\"ok\"}"), 1);
    EXPECT_EQ(metric_value(m, "livepush_logins_total{result=\"failed\",reason=\"expired\"}"), 1);
    EXPECT_EQ(metric_value(m, "livepush_sessions{transport=\"ws\",tls=\"false\"}"), 1);
    EXPECT_EQ(metric_value(m, "livepush_pushes_total{qos=\"0\",target=\"room\"}"), 1);
    EXPECT_EQ(metric_value(m, "livepush_rooms"), 1);
    EXPECT_EQ(metric_value(m, "livepush_room_members"), 1);
    EXPECT_GE(metric_value(m, "livepush_heartbeats_total"), 1);
    EXPECT_GT(metric_value(m, "livepush_bytes_out_total"), 0);
    EXPECT_NE(m.find("livepush_api_request_duration_seconds_bucket"), std::string::npos);
}

}  // namespace
