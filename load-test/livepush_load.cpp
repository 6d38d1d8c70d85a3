// livepush-load: the load generator. Opens N sessions against one livepush node (TCP or
// WebSocket), logs them in with HS256 tokens minted from --secret, and runs a scenario:
//   pingpong  every session keeps --inflight heartbeats in flight; reports PONG/s and latency
//   idle      sessions only keep alive; reports the server's resident memory per session
//   room      sessions enter --rooms rooms; a publisher pushes to the rooms through the HTTP
//             API at --rate; reports deliveries/s, publish-to-receive latency, loss, seq gaps
//   qos1      a publisher pushes qos 1 to the sessions' users through the HTTP API at --rate;
//             sessions ACK every push; reports acks/s, latency, loss and duplicate msg_ids
//   gift, pk, feed  the business plugins' paths (plugin_runs.hpp): gift events from Kafka or
//             the API to gift.effect room pushes, gift events to pk.score, a feed publish to
//             every online follower
// All report the connect + login rate and failures by kind.
//
// This file is the conductor: options, the phase timeline, the report. The connections live in
// load_shard.cpp, one event loop per --threads, because the measuring itself must be cheap: the
// tool has to hold 15,000+ sessions in one process while the server is the thing being measured.
// The HTTP publisher (api_publisher.cpp) runs on a thread of its own; the plugin scenarios'
// timelines are in plugin_runs.cpp. Every phase has a deadline and an alarm backs up the whole
// run, so it always exits by itself.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codec/address.hpp"
#include "load-test/api_publisher.hpp"
#include "load-test/load_shard.hpp"
#include "load-test/plugin_runs.hpp"
#include "load-test/report.hpp"

namespace {

using lp::load::ApiPublisher;
using lp::load::Drop;
using lp::load::Failure;
using lp::load::fmt;
using lp::load::json_string;
using lp::load::LoadOptions;
using lp::load::LoadShard;
using lp::load::num;
using lp::load::own_cpu_s;
using lp::load::pushes_received;
using lp::load::Scenario;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage = R"(livepush-load: an asynchronous load generator for livepush.

usage: livepush-load --secret SECRET [options]

target:
  --host HOST                 server address (default 127.0.0.1)
  --port PORT                 TCP port, or the WebSocket port with --transport ws (default 7000)
  --ports P1,P2,...           cluster: session i connects to the i-th port modulo the list (one
                              node each); room, qos1 and the plugin scenarios still publish
                              through --api on one node
  --transport tcp|ws          raw TCP frames or WebSocket binary messages (default tcp)
  --ws-path PATH              WebSocket path (default /ws)
  --json                      JSON_BODY frames instead of binary protobuf
  --secret SECRET             HS256 secret the server verifies tokens with (required)
  --user-base ID              connection i logs in as user ID+i (default 1000000)
  --user-stride K             connection i logs in as user ID+i×K instead (not with qos1 or
                              pk; feed: spreads the online sessions over the followers)
  --platform NAME             LoginReq.platform (default web)
load:
  --scenario NAME             pingpong, idle, room, qos1, gift, pk or feed (default pingpong)
  --connections N             sessions to open (default 1000)
  --threads N                 event-loop threads, connections split evenly (default 1)
  --source-ips LIST           local addresses to bind round-robin, e.g. 127.0.0.1-127.0.0.8
                              or 127.0.0.2,127.0.0.3 (default: the kernel's choice)
  --connect-concurrency N     connects + logins in progress at once (default 500)
  --connect-timeout-ms N      per-session limit for connect + upgrade + login (default 10000)
  --connect-phase-s S         limit for the whole connect phase (default 120)
  --inflight K                pingpong: heartbeats in flight per session (default 1)
  --warmup-s S                pingpong: ping before measuring (default 2)
  --duration-s S              pingpong: measuring time; idle: holding time; room, qos1:
                              publishing time (default 10)
  --heartbeat-ms N            idle: heartbeat period per session (default 20000)
  --settle-s S                idle: wait after the last login before reading RSS (default 2)
  --server-pid PID            idle: the server process whose VmRSS is read (required for idle;
                              use a fresh server: RSS does not shrink after earlier runs);
                              room, qos1: optional, reports the server's CPU use and RSS
  --timeout-s S               hard limit for the whole run (default: the phases' sum + 30)
  --max-body N                frame body limit (default 65536)
  -h, --help                  this text
room and qos1 (a publisher pushes through the HTTP API; binary bodies only, no --json):
  --api HOST:PORT             the node's HTTP push API (required)
  --api-key KEY               sent as Authorization: Bearer KEY (default: none)
  --api-connections N         keep-alive HTTP connections, one request in flight each (default 4)
  --rate R                    pushes per second, all rooms / users together (default 1000)
  --payload-bytes N           Push.payload: a JSON string of N bytes, quotes included (default 64)
  --rooms R                   room: session i enters room BASE + i % R; pushes go round robin
                              over the rooms (default 1)
  --room-base ID              room: the first room id (default 1)
  --target-order rr|random    qos1: push i goes to user --user-base + i % N, or a random
                              session's user (default rr)
  --latency-sample K          record the latency of 1 push in K (default 1: every push)
  --drain-s S                 after publishing, wait up to S for the last deliveries before
                              counting losses (default 2; gift, pk, feed: give up after S
                              without progress, default 5)
  latency is receive time minus the server's Push.sent_at_ms, a millisecond clock: values read
  up to 1 ms high, and the tool must run on the server's machine (same clock).
gift, pk and feed (the business plugins; binary bodies only, no --json):
  gift                        sessions enter --rooms rooms (as in room); --events gift events
                              {event_id, room_id, anchor_id, sender_id, channel_id, gift_id,
                              count, value, ts_ms} go to Kafka (--kafka) or POST /v1/gift/events
                              (--api) at --rate, event i to room --room-base + i % --rooms;
                              sessions match each gift.effect to its event. Reports events
                              sent, distinct events seen, effects delivered / missing /
                              duplicated, end-to-end events/s (first send to last effect) and
                              send → effect latency; with --api also the node's
                              livepush_kafka_events_total{result="handled"} before and after
  pk                          connections 0 and 1 log in as anchors A = --user-base and B =
                              --user-base + 1 (role anchor) in rooms --room-base and +1, the
                              rest are viewers in the two rooms; through --api the run
                              whitelists A and B, starts a PK (invite, accept), sends --events
                              gift events for A (Kafka or the API) at --rate, and measures each
                              event → the first pk.score showing a score that includes it, at
                              the first viewer and at every viewer; checks the final score
                              (pushed and GET /v1/pk/{id}) and closes the PK. Start the node
                              with a long plugins.pk.scoring_ms
  feed                        before connecting, --followers followers of --feed-anchor are
                              loaded through POST /v1/feed/followers (100,000 per call; ids
                              --follower-base ..., which should hold the sessions' users); the
                              sessions stay outside rooms and ack; one POST /v1/feed/publish,
                              then the time to every session's feed.item, missing and duplicate
                              pushes, and the fan-out task's finished_ms - created_ms; also
                              each push's receive wall clock - the item's ts_ms (the plugin's
                              publish time)
  --events N                  gift, pk: events to send (default gift 100000, pk 20)
  --rate R                    gift, pk: events per second; 0 = as fast as possible (default
                              1000)
  --kafka BROKERS             gift, pk: send the events to Kafka (host:port,...); without it
                              they go to POST /v1/gift/events (needs the gift plugin)
  --kafka-topic NAME          the events' topic (default gift)
  --kafka-linger-ms N         producer batching delay (default 5; included in the latency)
  --senders N                 gift, pk: event i's sender is user --sender-base + i % N, never
                              logged in: its qos1 gift.confirmed goes to the inbox (default 64)
  --sender-base ID            (default 8000000000)
  --gift-value TEXT           each event's value, decimal text (default 1.0 = 10 PK points)
  --followers N               feed: followers to load (default 1000000)
  --follower-base ID          feed: the first follower's user id (default --user-base)
  --feed-anchor ID            feed: the anchor who publishes (default 7000000000)
  --skip-follower-load        feed: the followers are loaded already (a second run)
  --feed-receive-only         feed: this process only adds receivers to another livepush-load
                              process's feed run (one process holds < 20,000 sessions): it
                              loads no followers and publishes nothing (--api not needed);
                              once its sessions are logged in it prints a line starting
                              "ready:" (start the publishing process after it), then waits for
                              each session's feed.item: until all came, --drain-s without
                              progress after the first, or --task-wait-s from the ready line.
                              Reports received / missing / duplicate pushes and receive wall
                              clock - the item's ts_ms (its publish time: same machine, same
                              clock; ms resolution). Its users must be followers the publisher
                              loads and none of the publisher's own, e.g. both --user-stride
                              100 --connections 10000, the publisher --user-base 1000000
                              --followers 1000000 (followers 1000000..1999999) and this one
                              --user-base 1000050 (users 1000050 + i*100, up to 1999950).
                              With --follower-base and --followers it warns as the publisher does
  --task-wait-s S             feed: limit for the fan-out to finish; with --feed-receive-only
                              for the pushes, from the ready line (default 300)

output: human-readable lines, then one line of JSON with every number, for scripts.
exit status: 0 all sessions logged in and stayed (room, qos1: and the API accepted every push,
             none was lost or duplicated; gift, pk, feed: every event or item reached every
             session once, the PK's score is right), 1 otherwise, 2 usage, 3 the hard timeout
             fired.
)";

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "livepush-load: %s (see --help)\n", why.c_str());
    std::exit(2);
}

std::uint64_t parse_uint(const char* flag, const std::string& text, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v > max || text[0] == '-') {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

double parse_seconds(const char* flag, const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > 86400) {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

// "127.0.0.1-127.0.0.8", "127.0.0.1-8", "127.0.0.2,127.0.0.3" or a mix: IPv4 addresses in order.
std::vector<std::string> parse_source_ips(const std::string& list) {
    constexpr std::size_t kMaxSources = 65536;
    std::vector<std::string> out;
    std::size_t start = 0;
    // Bounded by the list's length: each step consumes one comma-separated item.
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (item.empty()) continue;
        std::size_t dash = item.find('-');
        std::string first = item.substr(0, dash);
        in_addr a{}, b{};
        if (inet_pton(AF_INET, first.c_str(), &a) != 1)
            usage_error("bad address in --source-ips: " + first);
        std::uint32_t lo = ntohl(a.s_addr), hi = lo;
        if (dash != std::string::npos) {
            std::string last = item.substr(dash + 1);
            if (last.find('.') == std::string::npos) {
                hi = (lo & 0xFFFFFF00u) |
                     static_cast<std::uint32_t>(parse_uint("--source-ips", last, 255));
            } else if (inet_pton(AF_INET, last.c_str(), &b) == 1) {
                hi = ntohl(b.s_addr);
            } else {
                usage_error("bad address in --source-ips: " + last);
            }
        }
        if (hi < lo || hi - lo >= kMaxSources || out.size() + (hi - lo) >= kMaxSources) {
            usage_error("bad range in --source-ips: " + item);
        }
        for (std::uint64_t v = lo; v <= hi; ++v) {
            in_addr x{htonl(static_cast<std::uint32_t>(v))};
            char text[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &x, text, sizeof text);
            out.emplace_back(text);
        }
    }
    return out;
}

struct RunOptions {
    LoadOptions load;
    double connect_phase_s = 120;
    double warmup_s = 2;
    double duration_s = 10;
    double settle_s = 2;
    double timeout_s = 0;
    int server_pid = 0;
    // room and qos1
    std::string api_host;
    std::uint16_t api_port = 0;
    std::string api_key;
    std::uint32_t api_connections = 4;
    double rate = 1000;
    std::uint32_t payload_bytes = 64;
    bool random_users = false;
    double drain_s = 2;
    bool drain_set = false;
    bool rate_set = false;
    lp::load::PluginRunOptions plugin;  // gift, pk, feed
};

bool is_plugin_scenario(Scenario s) {
    return s == Scenario::Gift || s == Scenario::Pk || s == Scenario::Feed;
}

bool publishes(Scenario s) {
    return s == Scenario::Room || s == Scenario::Qos1;
}

const char* scenario_name(Scenario s) {
    switch (s) {
        case Scenario::PingPong:
            return "pingpong";
        case Scenario::Idle:
            return "idle";
        case Scenario::Room:
            return "room";
        case Scenario::Qos1:
            return "qos1";
        case Scenario::Gift:
            return "gift";
        case Scenario::Pk:
            return "pk";
        case Scenario::Feed:
            return "feed";
    }
    return "unknown";
}

double parse_rate(const char* flag, const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > 10e6) {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

RunOptions parse_options(int argc, char** argv) {
    RunOptions o;
    LoadOptions& l = o.load;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            std::exit(0);
        }
        if (a == "--json") {  // the switches without a value
            l.json_body = true;
            continue;
        }
        if (a == "--skip-follower-load") {
            o.plugin.skip_follower_load = true;
            continue;
        }
        if (a == "--feed-receive-only") {
            o.plugin.feed_receive_only = true;
            continue;
        }
        if (i + 1 >= argc) usage_error("unknown option or missing value: " + std::string(a));
        const char* flag = argv[i];
        std::string v = argv[++i];
        if (a == "--scenario") {
            if (v == "pingpong")
                l.scenario = Scenario::PingPong;
            else if (v == "idle")
                l.scenario = Scenario::Idle;
            else if (v == "room")
                l.scenario = Scenario::Room;
            else if (v == "qos1")
                l.scenario = Scenario::Qos1;
            else if (v == "gift")
                l.scenario = Scenario::Gift;
            else if (v == "pk")
                l.scenario = Scenario::Pk;
            else if (v == "feed")
                l.scenario = Scenario::Feed;
            else
                usage_error("--scenario is pingpong, idle, room, qos1, gift, pk or feed");
        } else if (a == "--host")
            l.host = v;
        else if (a == "--port")
            l.port = static_cast<std::uint16_t>(parse_uint(flag, v, 65535));
        else if (a == "--transport") {
            if (v != "tcp" && v != "ws") usage_error("--transport is tcp or ws");
            l.websocket = v == "ws";
        } else if (a == "--ws-path")
            l.ws_path = v;
        else if (a == "--secret")
            l.secret = v;
        else if (a == "--user-base")
            l.user_base = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--user-stride")
            l.user_stride = parse_uint(flag, v, 1000000);
        else if (a == "--platform")
            l.platform = v;
        else if (a == "--connections")
            l.connections = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        else if (a == "--threads")
            l.threads = static_cast<std::uint32_t>(parse_uint(flag, v, 64));
        else if (a == "--source-ips")
            l.source_ips = parse_source_ips(v);
        else if (a == "--ports") {
            // Cluster: spread the sessions over several nodes (publish through --api on one).
            std::size_t start = 0;
            while (start <= v.size()) {
                auto comma = v.find(',', start);
                std::string item =
                    v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                if (!item.empty())
                    l.ports.push_back(static_cast<std::uint16_t>(parse_uint(flag, item, 65535)));
                if (comma == std::string::npos) break;
                start = comma + 1;
            }
            if (l.ports.empty()) usage_error("--ports needs PORT[,PORT...]");
        } else if (a == "--connect-concurrency")
            l.connect_concurrency = static_cast<std::uint32_t>(parse_uint(flag, v, 100000));
        else if (a == "--connect-timeout-ms")
            l.connect_timeout_ms = static_cast<std::uint32_t>(parse_uint(flag, v, 600000));
        else if (a == "--connect-phase-s")
            o.connect_phase_s = parse_seconds(flag, v);
        else if (a == "--inflight")
            l.inflight = static_cast<std::uint32_t>(parse_uint(flag, v, 1024));
        else if (a == "--warmup-s")
            o.warmup_s = parse_seconds(flag, v);
        else if (a == "--duration-s")
            o.duration_s = parse_seconds(flag, v);
        else if (a == "--heartbeat-ms")
            l.heartbeat_ms = static_cast<std::uint32_t>(parse_uint(flag, v, 3600000));
        else if (a == "--settle-s")
            o.settle_s = parse_seconds(flag, v);
        else if (a == "--server-pid")
            o.server_pid = static_cast<int>(parse_uint(flag, v, 4194304));
        else if (a == "--timeout-s")
            o.timeout_s = parse_seconds(flag, v);
        else if (a == "--max-body")
            l.max_body = static_cast<std::uint32_t>(parse_uint(flag, v, 16u << 20));
        else if (a == "--api") {
            std::string why;
            const auto api = lp::codec::Address::parse(v, lp::codec::PortZero::Refused, &why);
            if (!api) usage_error("--api is HOST:PORT: " + why);
            o.api_host = api->host;
            o.api_port = api->port;
        } else if (a == "--api-key")
            o.api_key = v;
        else if (a == "--api-connections")
            o.api_connections = static_cast<std::uint32_t>(parse_uint(flag, v, 256));
        else if (a == "--rate") {
            o.rate = parse_rate(flag, v);
            o.rate_set = true;
        } else if (a == "--payload-bytes")
            o.payload_bytes = static_cast<std::uint32_t>(parse_uint(flag, v, 60000));
        else if (a == "--rooms")
            l.rooms = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        else if (a == "--room-base")
            l.room_base = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--target-order") {
            if (v != "rr" && v != "random") usage_error("--target-order is rr or random");
            o.random_users = v == "random";
        } else if (a == "--latency-sample")
            l.latency_sample = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        else if (a == "--drain-s") {
            o.drain_s = parse_seconds(flag, v);
            o.drain_set = true;
        } else if (a == "--events")
            o.plugin.events = parse_uint(flag, v, 50000000);
        else if (a == "--kafka")
            o.plugin.kafka_brokers = v;
        else if (a == "--kafka-topic")
            o.plugin.kafka_topic = v;
        else if (a == "--kafka-linger-ms")
            o.plugin.kafka_linger_ms = static_cast<std::uint32_t>(parse_uint(flag, v, 10000));
        else if (a == "--senders")
            o.plugin.senders = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        else if (a == "--sender-base")
            o.plugin.sender_base = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--gift-value")
            o.plugin.gift_value = v;
        else if (a == "--followers")
            o.plugin.followers = parse_uint(flag, v, 100000000);
        else if (a == "--follower-base")
            o.plugin.follower_base = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--feed-anchor")
            o.plugin.feed_anchor = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--task-wait-s")
            o.plugin.task_wait_s = parse_seconds(flag, v);
        else
            usage_error("unknown option " + std::string(a));
    }
    if (l.secret.empty()) usage_error("--secret is required");
    if (l.port == 0) usage_error("--port must be set");
    if (l.connections == 0) usage_error("--connections must be at least 1");
    if (l.threads == 0) l.threads = 1;
    if (l.threads > l.connections) l.threads = l.connections;
    if (l.inflight == 0) l.inflight = 1;
    if (l.connect_concurrency == 0) l.connect_concurrency = 1;
    if (l.heartbeat_ms == 0) usage_error("--heartbeat-ms must be positive");
    if (l.user_stride == 0) usage_error("--user-stride must be at least 1");
    if (l.user_stride != 1 && (l.scenario == Scenario::Qos1 || l.scenario == Scenario::Pk)) {
        usage_error("qos1 and pk need consecutive users: drop --user-stride");
    }
    if (l.scenario == Scenario::Idle && o.server_pid <= 0) usage_error("idle needs --server-pid");
    if (o.plugin.feed_receive_only && l.scenario != Scenario::Feed) {
        usage_error("--feed-receive-only is for --scenario feed");
    }
    if (publishes(l.scenario) && o.rate <= 0) usage_error("room and qos1 need a --rate above 0");
    if (is_plugin_scenario(l.scenario)) {
        if (l.json_body) usage_error("gift, pk and feed read binary bodies only; drop --json");
        if (l.rooms == 0 || l.rooms > l.connections) {
            usage_error("--rooms must be between 1 and --connections");
        }
        if (l.latency_sample == 0) l.latency_sample = 1;
        if (o.plugin.senders == 0) usage_error("--senders must be at least 1");
        if (o.plugin.sender_base == 0) usage_error("--sender-base must be a non-zero user id");
        if (!o.drain_set) o.drain_s = 5;
        o.plugin.api_host = o.api_host;
        o.plugin.api_port = o.api_port;
        o.plugin.api_key = o.api_key;
        o.plugin.api_connections = o.api_connections == 0 ? 1 : o.api_connections;
        o.plugin.rate = o.rate;
        o.plugin.latency_sample = l.latency_sample;
        o.plugin.drain_s = o.drain_s;
        o.plugin.server_pid = o.server_pid;
    }
    if (publishes(l.scenario)) {
        if (o.api_port == 0) usage_error("room and qos1 need --api HOST:PORT");
        if (l.json_body) usage_error("room and qos1 read binary bodies only; drop --json");
        if (o.api_connections == 0) usage_error("--api-connections must be at least 1");
        if (l.rooms == 0 || l.rooms > l.connections) {
            usage_error("--rooms must be between 1 and --connections");
        }
        if (l.latency_sample == 0) l.latency_sample = 1;
        if (o.payload_bytes < 2) usage_error("--payload-bytes must be at least 2 (\"\")");
        // Every push the publisher can send, spread over the shards, with room for an uneven
        // spread (random targets) and for inbox replays of earlier runs.
        double pushes = std::ceil(o.rate * o.duration_s);
        l.received_ids_per_shard = l.scenario == Scenario::Qos1
                                       ? static_cast<std::size_t>(pushes * 1.25 / l.threads) + 4096
                                       : 0;
    }
    if (o.timeout_s == 0) {
        o.timeout_s = o.connect_phase_s + o.warmup_s + o.duration_s + o.settle_s + 30;
        if (publishes(l.scenario)) o.timeout_s += o.drain_s + 10;
        if (l.scenario == Scenario::Gift || l.scenario == Scenario::Pk) {
            // Sending at --rate (or at an assumed 5,000/s floor when unpaced), the drain, set-up.
            double events = o.plugin.events ? double(o.plugin.events)
                                            : (l.scenario == Scenario::Gift ? 100000.0 : 20.0);
            o.timeout_s += events / (o.rate > 0 ? o.rate : 5000) + o.drain_s * 2 + 60;
        } else if (l.scenario == Scenario::Feed) {
            o.timeout_s +=
                double(o.plugin.followers) / 20000 + o.plugin.task_wait_s + o.drain_s + 60;
        }
    }
    return o;
}

void on_hard_timeout(int) {
    static const char msg[] = "livepush-load: hard timeout (--timeout-s) reached, exiting\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

// Raises the open-file limit to the hard limit: every session is a descriptor.
rlim_t raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
    return to_ns > from_ns ? double(to_ns - from_ns) / 1e9 : 0.0;
}

// Sleeps in short steps until `until`, or until done() holds; bounded by `until`.
template <class Done>
void wait_until(Clock::time_point until, const Done& done) {
    while (Clock::now() < until && !done()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void sleep_until(Clock::time_point until) {
    wait_until(until, [] { return false; });
}

struct Totals {
    std::uint32_t logged_in = 0, failed = 0, dropped = 0;
};

Totals totals(const std::vector<std::unique_ptr<LoadShard>>& shards) {
    Totals t;
    for (const auto& s : shards) {
        t.logged_in += s->logged_in();
        t.failed += s->failed();
        t.dropped += s->dropped();
    }
    return t;
}

std::uint64_t unique_ids_received(const std::vector<std::unique_ptr<LoadShard>>& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->unique_ids_received();
    return n;
}

lp::load::PublisherOptions publisher_options(const RunOptions& run) {
    lp::load::PublisherOptions p;
    p.target = run.load.scenario == Scenario::Room ? lp::load::PublishTarget::Room
                                                   : lp::load::PublishTarget::User;
    p.host = run.api_host;
    p.port = run.api_port;
    p.api_key = run.api_key;
    p.connections = run.api_connections;
    p.rate = run.rate;
    p.duration_s = run.duration_s;
    p.payload_bytes = run.payload_bytes;
    p.rooms = run.load.rooms;
    p.room_base = run.load.room_base;
    p.users = run.load.connections;
    p.user_base = run.load.user_base;
    p.random_users = run.random_users;
    return p;
}

// What the room / qos1 timeline measured besides the shards' and the publisher's own results.
struct PublishPhase {
    bool ran = false;
    std::uint32_t api_connected = 0;
    double client_cpu_pct = -1;  // this process, over the publishing window (of one core)
    double server_cpu_pct = -1;  // --server-pid, same window
    long server_rss_kib = -1;    // --server-pid, after the drain
    double drain_s = 0;          // how long the drain wait took
};

// Publishes for --duration-s while the shards measure, then waits up to --drain-s for the
// deliveries still on their way. Every wait is bounded.
PublishPhase run_publish_phase(const RunOptions& run,
                               const std::vector<std::unique_ptr<LoadShard>>& shards,
                               ApiPublisher& publisher) {
    PublishPhase phase;
    phase.api_connected = publisher.connect();
    std::printf("api: %u/%u connections to %s:%u\n", phase.api_connected, run.api_connections,
                run.api_host.c_str(), run.api_port);
    if (phase.api_connected == 0) {
        std::printf("api: no connection to the push API: nothing to measure\n");
        return phase;
    }
    phase.ran = true;
    const bool qos1 = run.load.scenario == Scenario::Qos1;
    long long server_ticks_0 = run.server_pid > 0 ? lp::load::read_cpu_ticks(run.server_pid) : -1;
    double cpu_0 = own_cpu_s();
    Clock::time_point start = Clock::now();
    for (auto& s : shards) s->start_measuring();
    publisher.start();

    // The publisher ends by itself after the window and its last answers (each bounded by the
    // request timeout); this deadline only backs that up.
    Clock::time_point limit =
        start + std::chrono::milliseconds(static_cast<long>((run.duration_s + 7) * 1000));
    Clock::time_point next_progress = start + std::chrono::seconds(1);
    // Bounded by `limit`.
    while (Clock::now() < limit && !publisher.finished()) {
        wait_until(std::min(next_progress, limit), [&] { return publisher.finished(); });
        if (Clock::now() >= next_progress) {
            std::printf("  t=%.0fs sent %llu, accepted %llu, received %llu%s\n",
                        std::chrono::duration<double>(Clock::now() - start).count(),
                        static_cast<unsigned long long>(publisher.sent()),
                        static_cast<unsigned long long>(publisher.accepted()),
                        static_cast<unsigned long long>(qos1 ? unique_ids_received(shards)
                                                             : pushes_received(shards)),
                        qos1 ? " msg_ids" : " pushes");
            std::fflush(stdout);
            next_progress += std::chrono::seconds(1);
        }
    }
    for (auto& s : shards) s->stop_measuring();
    Clock::time_point stopped = Clock::now();
    double window_s = std::chrono::duration<double>(stopped - start).count();
    double cpu_1 = own_cpu_s();
    long long server_ticks_1 = run.server_pid > 0 ? lp::load::read_cpu_ticks(run.server_pid) : -1;
    phase.client_cpu_pct = window_s > 0 ? (cpu_1 - cpu_0) / window_s * 100 : 0;
    if (server_ticks_0 >= 0 && server_ticks_1 >= 0 && window_s > 0) {
        phase.server_cpu_pct =
            double(server_ticks_1 - server_ticks_0) / double(sysconf(_SC_CLK_TCK)) / window_s * 100;
    }
    wait_until(Clock::now() + std::chrono::seconds(5), [&] {
        return std::all_of(shards.begin(), shards.end(),
                           [](const auto& s) { return s->measuring_stopped(); });
    });

    // Drain: room pushes should reach every session the server counted at publish time; qos1
    // pushes each reach one session.
    std::uint64_t expected = publisher.sessions();
    auto all_arrived = [&] {
        return (qos1 ? unique_ids_received(shards) : pushes_received(shards)) >= expected;
    };
    Clock::time_point drain_start = Clock::now();
    wait_until(drain_start + std::chrono::milliseconds(static_cast<long>(run.drain_s * 1000)),
               all_arrived);
    phase.drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
    publisher.stop();
    if (run.server_pid > 0) phase.server_rss_kib = lp::load::read_rss_kib(run.server_pid);
    return phase;
}

// Prints the room / qos1 results and returns their JSON fields (each with a leading comma).
// `clean` becomes false when pushes were refused, unanswered, lost or duplicated.
std::string report_publish(const RunOptions& run,
                           const std::vector<std::unique_ptr<LoadShard>>& shards,
                           const lp::load::PublisherResults& pub, const PublishPhase& phase,
                           bool& clean) {
    const LoadOptions& opts = run.load;
    const bool qos1 = opts.scenario == Scenario::Qos1;
    lp::load::LatencyHistogram latency;
    std::uint64_t received = 0, measured_pushes = 0, unreadable = 0, other_room = 0;
    std::uint64_t seq_duplicates = 0, seq_gaps = 0, seq_missing = 0;
    std::uint64_t acked = 0, acked_measured = 0, ack_frames = 0, ack_required = 0;
    std::uint64_t id_duplicates = 0, wrong_client = 0, untracked = 0, unique_ids = 0;
    double measured_s = 0;
    std::vector<std::uint64_t> members(opts.rooms, 0);
    for (const auto& s : shards) {
        const auto& r = s->results();
        latency.merge(r.delivery_latency);
        received += r.pushes;
        measured_pushes += r.pushes_measured;
        unreadable += r.pushes_unreadable;
        other_room += r.pushes_other_room;
        seq_duplicates += r.seq_duplicates;
        seq_gaps += r.seq_gaps;
        seq_missing += r.seq_missing;
        acked += r.acked_ids;
        acked_measured += r.acked_ids_measured;
        ack_frames += r.ack_frames;
        ack_required += r.ack_required;
        id_duplicates += r.id_duplicates;
        wrong_client += r.id_wrong_client;
        untracked += r.ids_untracked;
        unique_ids += r.received_ids.size();
        measured_s = std::max(measured_s, double(r.measured_ns) / 1e9);
        for (std::size_t k = 0; k < r.room_members.size() && k < members.size(); ++k) {
            members[k] += r.room_members[k];
        }
    }
    auto per_s = [&](std::uint64_t n) { return measured_s > 0 ? double(n) / measured_s : 0.0; };
    auto ms = [](std::uint64_t ns) { return double(ns) / 1e6; };

    // What should have arrived, and what did.
    std::uint64_t expected = 0, lost = 0, unexpected = 0, duplicates = 0;
    std::uint64_t offline = 0, delivered = 0;
    std::uint64_t member_sum = 0;
    if (!qos1) {
        for (std::size_t r = 0; r < members.size(); ++r) {
            expected += pub.accepted_per_room[r] * members[r];
            member_sum += members[r];
        }
        duplicates = seq_duplicates;
        delivered = received - std::min(received, seq_duplicates + other_room + unreadable);
        lost = expected > delivered ? expected - delivered : 0;
        unexpected = delivered > expected ? delivered - expected : 0;
    } else {
        const std::uint32_t shard_count = static_cast<std::uint32_t>(shards.size());
        for (const lp::load::AcceptedPush& a : pub.accepted_ids) {
            const auto& ids =
                shards[lp::load::shard_of(a.user_index, shard_count)]->results().received_ids;
            const lp::load::ReceivedIds::Entry* e = ids.find(a.msg_id);
            if (a.sessions == 0) {
                ++offline;  // went to the inbox: not expected now
                if (e) ++delivered;
                continue;
            }
            ++expected;
            if (e && e->client == lp::load::index_in_shard(a.user_index, shard_count))
                ++delivered;
            else
                ++lost;
        }
        duplicates = id_duplicates;
        unexpected = unique_ids > delivered ? unique_ids - delivered : 0;
    }
    if (lost || duplicates || wrong_client || other_room || pub.accepted == 0 || pub.rejected ||
        pub.failed) {
        clean = false;
    }

    // The publisher.
    // Behind: requests fell due that the publisher never got to send (every connection busy).
    // A request due in the window's last moments may miss it on a busy connection: 0.1% slack.
    double published_per_s = per_s(pub.accepted);
    double sent_per_s = run.duration_s > 0 ? double(pub.sent) / run.duration_s : 0;
    bool behind = pub.due - pub.sent > pub.due / 1000 + phase.api_connected;
    std::printf(
        "publisher: %llu due, %llu sent, %llu accepted (%.0f/s of %.0f/s asked), %llu "
        "rejected, %llu without answer, %u/%u API connections\n",
        static_cast<unsigned long long>(pub.due), static_cast<unsigned long long>(pub.sent),
        static_cast<unsigned long long>(pub.accepted), published_per_s, run.rate,
        static_cast<unsigned long long>(pub.rejected), static_cast<unsigned long long>(pub.failed),
        phase.api_connected, run.api_connections);
    if (behind) {
        std::printf(
            "publisher: could not keep --rate: sent %.0f/s of %.0f/s asked, %llu due "
            "requests never sent (one request in flight per connection: %u connections, "
            "HTTP request p50 %.2f ms, p99 %.2f ms)\n",
            sent_per_s, run.rate, static_cast<unsigned long long>(pub.due - pub.sent),
            phase.api_connected, ms(pub.request_latency.value_at(0.5)),
            ms(pub.request_latency.value_at(0.99)));
    }
    if (!pub.first_error.empty())
        std::printf("publisher: first error: %s\n", pub.first_error.c_str());
    std::string statuses_json = "{";
    for (const auto& [status, n] : pub.statuses) {
        if (statuses_json.size() > 1) statuses_json += ",";
        statuses_json += "\"" + std::to_string(status) + "\":" + num(n);
    }
    statuses_json += "}";

    // The receivers.
    if (!qos1) {
        std::printf(
            "room: %llu members in %u room(s); expected %llu deliveries, received %llu "
            "(%.0f/s in the %.2f s window), lost %llu, duplicates %llu, gaps %llu "
            "(%llu seqs skipped)\n",
            static_cast<unsigned long long>(member_sum), opts.rooms,
            static_cast<unsigned long long>(expected), static_cast<unsigned long long>(received),
            per_s(measured_pushes), measured_s, static_cast<unsigned long long>(lost),
            static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(seq_gaps),
            static_cast<unsigned long long>(seq_missing));
        if (pub.sessions != expected) {
            std::printf("room: the API counted %llu receiving sessions over all accepted pushes\n",
                        static_cast<unsigned long long>(pub.sessions));
        }
    } else {
        std::printf(
            "qos1: %llu accepted for online users, %llu received, lost %llu, duplicates "
            "%llu, at the wrong session %llu, unknown ids %llu; acked %llu ids in %llu "
            "ACKs (%.0f ids/s in the %.2f s window)\n",
            static_cast<unsigned long long>(expected), static_cast<unsigned long long>(delivered),
            static_cast<unsigned long long>(lost), static_cast<unsigned long long>(duplicates),
            static_cast<unsigned long long>(wrong_client),
            static_cast<unsigned long long>(unexpected), static_cast<unsigned long long>(acked),
            static_cast<unsigned long long>(ack_frames), per_s(acked_measured), measured_s);
        if (offline) {
            std::printf("qos1: %llu pushes found their user offline (stored in the inbox)\n",
                        static_cast<unsigned long long>(offline));
        }
        if (untracked) {
            std::printf("qos1: %llu msg_ids not tracked (table full)\n",
                        static_cast<unsigned long long>(untracked));
        }
    }
    if (unreadable || other_room) {
        std::printf("unreadable PUSH bodies %llu, PUSH for another room %llu\n",
                    static_cast<unsigned long long>(unreadable),
                    static_cast<unsigned long long>(other_room));
    }
    std::printf(
        "latency ms (receive - Push.sent_at_ms; 1 ms resolution, reads up to 1 ms high; "
        "%llu samples, 1 in %u): p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n",
        static_cast<unsigned long long>(latency.count()), opts.latency_sample,
        ms(latency.value_at(0.5)), ms(latency.value_at(0.99)), ms(latency.value_at(0.999)),
        ms(latency.max()), latency.mean() / 1e6);
    std::printf("api request ms: p50=%.2f p99=%.2f max=%.2f\n",
                ms(pub.request_latency.value_at(0.5)), ms(pub.request_latency.value_at(0.99)),
                ms(pub.request_latency.max()));
    std::printf("cpu: load tool %.0f%% of a core", phase.client_cpu_pct);
    if (phase.server_cpu_pct >= 0) std::printf(", server %.0f%%", phase.server_cpu_pct);
    if (phase.server_rss_kib >= 0) std::printf("; server VmRSS %ld KiB", phase.server_rss_kib);
    std::printf(" (drain wait %.2f s)\n", phase.drain_s);

    std::string json = ",\"api_connections\":" + std::to_string(phase.api_connected) +
                       ",\"rate\":" + fmt("%.1f", run.rate) +
                       ",\"payload_bytes\":" + std::to_string(run.payload_bytes) +
                       ",\"measured_s\":" + fmt("%.3f", measured_s) + ",\"due\":" + num(pub.due) +
                       ",\"sent\":" + num(pub.sent) + ",\"accepted\":" + num(pub.accepted) +
                       ",\"rejected\":" + num(pub.rejected) + ",\"api_failed\":" + num(pub.failed) +
                       ",\"api_statuses\":" + statuses_json +
                       ",\"api_first_error\":" + json_string(pub.first_error) +
                       ",\"sent_per_s\":" + fmt("%.1f", sent_per_s) +
                       ",\"published_per_s\":" + fmt("%.1f", published_per_s) +
                       ",\"publisher_behind\":" + (behind ? "true" : "false") +
                       ",\"deliveries\":" + num(measured_pushes) +
                       ",\"deliveries_per_s\":" + fmt("%.1f", per_s(measured_pushes)) +
                       ",\"expected\":" + num(expected) + ",\"received\":" + num(received) +
                       ",\"delivered\":" + num(delivered) + ",\"lost\":" + num(lost) +
                       ",\"duplicates\":" + num(duplicates) + ",\"unexpected\":" + num(unexpected) +
                       ",\"unreadable\":" + num(unreadable);
    if (!qos1) {
        json += ",\"rooms\":" + std::to_string(opts.rooms) + ",\"members\":" + num(member_sum) +
                ",\"api_sessions\":" + num(pub.sessions) + ",\"other_room\":" + num(other_room) +
                ",\"gaps\":" + num(seq_gaps) + ",\"seq_missing\":" + num(seq_missing);
    } else {
        json += ",\"acked\":" + num(acked) +
                ",\"acked_per_s\":" + fmt("%.1f", per_s(acked_measured)) +
                ",\"ack_frames\":" + num(ack_frames) + ",\"ack_required\":" + num(ack_required) +
                ",\"wrong_session\":" + num(wrong_client) + ",\"offline\":" + num(offline) +
                ",\"untracked\":" + num(untracked) + ",\"target_order\":\"" +
                (run.random_users ? "random" : "rr") + "\"";
    }
    json += ",\"latency_samples\":" + num(latency.count()) +
            ",\"latency_sample_every\":" + std::to_string(opts.latency_sample) +
            ",\"p50_ms\":" + fmt("%.1f", ms(latency.value_at(0.5))) +
            ",\"p99_ms\":" + fmt("%.1f", ms(latency.value_at(0.99))) +
            ",\"p999_ms\":" + fmt("%.1f", ms(latency.value_at(0.999))) +
            ",\"max_ms\":" + fmt("%.1f", ms(latency.max())) +
            ",\"mean_ms\":" + fmt("%.2f", latency.mean() / 1e6) +
            ",\"api_p50_ms\":" + fmt("%.3f", ms(pub.request_latency.value_at(0.5))) +
            ",\"api_p99_ms\":" + fmt("%.3f", ms(pub.request_latency.value_at(0.99))) +
            ",\"client_cpu_pct\":" + fmt("%.1f", phase.client_cpu_pct) +
            ",\"server_cpu_pct\":" + fmt("%.1f", phase.server_cpu_pct) +
            ",\"server_rss_kib\":" + std::to_string(phase.server_rss_kib) +
            ",\"drain_s\":" + fmt("%.2f", phase.drain_s);
    return json;
}

}  // namespace

int main(int argc, char** argv) {
    RunOptions run = parse_options(argc, argv);
    std::unique_ptr<lp::load::PluginRun> plugin_run;
    if (is_plugin_scenario(run.load.scenario)) {
        try {
            // Sizes what the shards check, so before they exist.
            plugin_run = std::make_unique<lp::load::PluginRun>(run.plugin, run.load);
        } catch (const std::exception& e) {
            usage_error(e.what());
        }
    }
    const LoadOptions& opts = run.load;
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGALRM, on_hard_timeout);
    alarm(std::max(1u, static_cast<unsigned>(std::ceil(run.timeout_s))));

    rlim_t fd_limit = raise_fd_limit();
    const char* scenario = scenario_name(opts.scenario);
    const char* transport = opts.websocket ? "ws" : "tcp";
    std::printf(
        "livepush-load: scenario=%s transport=%s target=%s:%u connections=%u threads=%u "
        "source_ips=%zu fd_limit=%llu\n",
        scenario, transport, opts.host.c_str(), opts.port, opts.connections, opts.threads,
        opts.source_ips.size(), static_cast<unsigned long long>(fd_limit));
    if (publishes(opts.scenario)) {
        std::printf(
            "publisher: api=%s:%u connections=%u rate=%.0f/s duration=%.1fs payload=%u bytes%s\n",
            run.api_host.c_str(), run.api_port, run.api_connections, run.rate, run.duration_s,
            run.payload_bytes,
            opts.scenario == Scenario::Room
                ? (" rooms=" + std::to_string(opts.rooms)).c_str()
                : (run.random_users ? " targets=random" : " targets=round-robin"));
    }
    if (is_plugin_scenario(opts.scenario) && opts.scenario != Scenario::Feed) {
        std::printf("events: %s rate=%.0f/s%s rooms=%u\n",
                    run.plugin.kafka_brokers.empty()
                        ? "POST /v1/gift/events"
                        : ("kafka " + run.plugin.kafka_brokers).c_str(),
                    run.rate, run.rate > 0 ? "" : " (as fast as possible)", opts.rooms);
    }
    if (fd_limit != 0 && opts.connections + 64 > fd_limit) {
        std::printf(
            "warning: %u connections need more descriptors than the limit %llu; expect "
            "'socket' failures\n",
            opts.connections, static_cast<unsigned long long>(fd_limit));
    }

    long rss_baseline = -1;
    if (opts.scenario == Scenario::Idle) {
        rss_baseline = lp::load::read_rss_kib(run.server_pid);
        if (rss_baseline < 0)
            usage_error("cannot read /proc/" + std::to_string(run.server_pid) + "/status");
        std::printf("server pid %d: baseline VmRSS %ld KiB\n", run.server_pid, rss_baseline);
    }

    std::vector<std::unique_ptr<LoadShard>> shards;
    std::unique_ptr<ApiPublisher> publisher;
    try {
        if (publishes(opts.scenario)) {
            publisher = std::make_unique<ApiPublisher>(publisher_options(run));
        }
        for (std::uint32_t s = 0; s < opts.threads; ++s) {
            shards.push_back(std::make_unique<LoadShard>(opts, s, opts.threads));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "livepush-load: %s\n", e.what());
        return 2;
    }
    for (auto& s : shards) s->run();
    if (plugin_run && !plugin_run->before_connect()) {
        for (auto& s : shards) s->shutdown();
        for (auto& s : shards) s->join();
        return 1;
    }

    // --- connect + login ------------------------------------------------------------------
    for (auto& s : shards) s->start_connecting();
    Clock::time_point connect_deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<long>(run.connect_phase_s * 1000));
    auto all_settled = [&] {
        Totals t = totals(shards);
        return t.logged_in + t.failed >= opts.connections;
    };
    Clock::time_point next_progress = Clock::now() + std::chrono::seconds(1);
    // Bounded by the connect-phase deadline.
    while (Clock::now() < connect_deadline && !all_settled()) {
        wait_until(std::min(next_progress, connect_deadline), all_settled);
        if (Clock::now() >= next_progress) {
            Totals t = totals(shards);
            std::printf("  connecting: %u logged in, %u failed of %u\n", t.logged_in, t.failed,
                        opts.connections);
            std::fflush(stdout);
            next_progress += std::chrono::seconds(1);
        }
    }
    if (!all_settled()) {
        std::printf("connect phase limit (%.0f s) reached; giving up on the rest\n",
                    run.connect_phase_s);
        for (auto& s : shards) s->stop_connecting();
        wait_until(Clock::now() + std::chrono::seconds(5), all_settled);
    }
    Totals after_connect = totals(shards);
    std::int64_t first_connect = 0, last_login = 0;
    for (auto& s : shards) {
        std::int64_t f = s->first_connect_ns();
        if (f != 0 && (first_connect == 0 || f < first_connect)) first_connect = f;
        last_login = std::max(last_login, s->last_login_ns());
    }
    double connect_s = seconds_between(first_connect, last_login);
    double logins_per_s = connect_s > 0 ? after_connect.logged_in / connect_s : 0;
    std::printf(
        "connect+login: %u/%u logged in, %u failed, %.3f s from first connect to last "
        "LOGIN_RESULT (%.0f logins/s)\n",
        after_connect.logged_in, opts.connections, after_connect.failed, connect_s, logins_per_s);
    std::string failures_json = "{";
    std::string failures_text;
    for (std::size_t k = 0; k < static_cast<std::size_t>(Failure::Count); ++k) {
        std::uint64_t n = 0;
        for (auto& s : shards) n += s->failures(static_cast<Failure>(k));
        if (failures_json.size() > 1) failures_json += ",";
        failures_json += "\"" + std::string(lp::load::name_of(static_cast<Failure>(k))) +
                         "\":" + std::to_string(n);
        if (n)
            failures_text += " " + std::string(lp::load::name_of(static_cast<Failure>(k))) + "=" +
                             std::to_string(n);
    }
    failures_json += "}";
    if (!failures_text.empty()) std::printf("failures:%s\n", failures_text.c_str());
    std::fflush(stdout);

    // --- the scenario -----------------------------------------------------------------------
    long rss_after = -1, rss_end = -1;
    PublishPhase publish;
    auto seconds = [](double s) { return std::chrono::milliseconds(static_cast<long>(s * 1000)); };
    if (after_connect.logged_in == 0) {
        std::printf("no session logged in: nothing to measure\n");
    } else if (opts.scenario == Scenario::PingPong) {
        for (auto& s : shards) s->start_pinging();
        sleep_until(Clock::now() + seconds(run.warmup_s));
        for (auto& s : shards) s->start_measuring();
        sleep_until(Clock::now() + seconds(run.duration_s));
        for (auto& s : shards) s->stop_measuring();
        wait_until(Clock::now() + std::chrono::seconds(5), [&] {
            return std::all_of(shards.begin(), shards.end(),
                               [](const auto& s) { return s->measuring_stopped(); });
        });
    } else if (publishes(opts.scenario)) {
        publish = run_publish_phase(run, shards, *publisher);
    } else if (plugin_run) {
        plugin_run->run(shards);
    } else {
        Clock::time_point hold_start = Clock::now();
        sleep_until(hold_start + seconds(run.settle_s));
        rss_after = lp::load::read_rss_kib(run.server_pid);
        sleep_until(hold_start + seconds(std::max(run.duration_s, run.settle_s)));
        rss_end = lp::load::read_rss_kib(run.server_pid);
    }
    Totals end_totals = totals(shards);
    // Peak RSS from getrusage: needs no descriptor, which may all be in use by sessions.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    long client_rss = usage.ru_maxrss;
    for (auto& s : shards) s->shutdown();
    for (auto& s : shards) s->join();

    // --- report -----------------------------------------------------------------------------
    lp::load::ShardResults sum;
    double pong_per_s = 0, measured_s = 0;
    for (auto& s : shards) {
        const auto& r = s->results();
        sum.latency.merge(r.latency);
        sum.pongs_measured += r.pongs_measured;
        sum.pongs_total += r.pongs_total;
        sum.unmatched_pongs += r.unmatched_pongs;
        sum.pushes += r.pushes;
        sum.kicks += r.kicks;
        sum.error_frames += r.error_frames;
        sum.ws_pongs_dropped += r.ws_pongs_dropped;
        for (std::size_t k = 0; k < sum.drops.size(); ++k) sum.drops[k] += r.drops[k];
        if (r.measured_ns > 0)
            pong_per_s += double(r.pongs_measured) / (double(r.measured_ns) / 1e9);
        measured_s = std::max(measured_s, double(r.measured_ns) / 1e9);
    }
    std::string drops_json = "{";
    std::string drops_text;
    for (std::size_t k = 0; k < sum.drops.size(); ++k) {
        if (drops_json.size() > 1) drops_json += ",";
        std::string name(lp::load::name_of(static_cast<Drop>(k)));
        drops_json += "\"" + name + "\":" + std::to_string(sum.drops[k]);
        if (sum.drops[k]) drops_text += " " + name + "=" + std::to_string(sum.drops[k]);
    }
    drops_json += "}";
    if (end_totals.dropped)
        std::printf("dropped after login: %u (%s )\n", end_totals.dropped, drops_text.c_str());
    if (sum.kicks || sum.error_frames || sum.pushes) {
        std::printf("received: %llu KICK, %llu ERROR, %llu PUSH\n",
                    static_cast<unsigned long long>(sum.kicks),
                    static_cast<unsigned long long>(sum.error_frames),
                    static_cast<unsigned long long>(sum.pushes));
    }

    auto us = [](std::uint64_t ns) { return double(ns) / 1000.0; };
    std::string json = "{\"scenario\":\"" + std::string(scenario) + "\",\"transport\":\"" +
                       transport + "\",\"connections\":" + std::to_string(opts.connections) +
                       ",\"threads\":" + std::to_string(opts.threads) +
                       ",\"logged_in\":" + std::to_string(after_connect.logged_in) +
                       ",\"failed\":" + std::to_string(after_connect.failed) +
                       ",\"connect_login_s\":" + fmt("%.3f", connect_s) +
                       ",\"logins_per_s\":" + fmt("%.1f", logins_per_s) +
                       ",\"failures\":" + failures_json +
                       ",\"dropped\":" + std::to_string(end_totals.dropped) +
                       ",\"drops\":" + drops_json + ",\"kicks\":" + std::to_string(sum.kicks) +
                       ",\"error_frames\":" + std::to_string(sum.error_frames);
    bool measured = after_connect.logged_in > 0;
    bool publish_clean = true;
    if (publishes(opts.scenario)) {
        if (publish.ran) {
            json += report_publish(run, shards, publisher->results(), publish, publish_clean);
        } else {
            publish_clean = false;
        }
    } else if (plugin_run) {
        if (measured)
            json += plugin_run->report(shards, publish_clean);
        else
            publish_clean = false;
    } else if (opts.scenario == Scenario::PingPong) {
        const auto& h = sum.latency;
        if (measured) {
            std::printf("pingpong: %llu PONGs in %.2f s = %.0f PONG/s (inflight %u per session)\n",
                        static_cast<unsigned long long>(sum.pongs_measured), measured_s, pong_per_s,
                        opts.inflight);
            std::printf("latency us: p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n",
                        us(h.value_at(0.5)), us(h.value_at(0.99)), us(h.value_at(0.999)),
                        us(h.max()), h.mean() / 1000.0);
        }
        if (sum.unmatched_pongs) {
            std::printf("unmatched PONGs: %llu\n",
                        static_cast<unsigned long long>(sum.unmatched_pongs));
        }
        json += ",\"inflight\":" + std::to_string(opts.inflight) +
                ",\"measured_s\":" + fmt("%.3f", measured_s) +
                ",\"pongs\":" + std::to_string(sum.pongs_measured) +
                ",\"pong_per_s\":" + fmt("%.1f", pong_per_s) +
                ",\"p50_us\":" + fmt("%.1f", us(h.value_at(0.5))) +
                ",\"p99_us\":" + fmt("%.1f", us(h.value_at(0.99))) +
                ",\"p999_us\":" + fmt("%.1f", us(h.value_at(0.999))) +
                ",\"max_us\":" + fmt("%.1f", us(h.max())) +
                ",\"mean_us\":" + fmt("%.1f", h.mean() / 1000.0) +
                ",\"unmatched_pongs\":" + std::to_string(sum.unmatched_pongs);
    } else {
        long delta = rss_after >= 0 ? rss_after - rss_baseline : 0;
        double per_session =
            after_connect.logged_in ? double(delta) * 1024.0 / after_connect.logged_in : 0;
        if (measured) {
            std::printf(
                "idle: server VmRSS baseline %ld KiB, after %u sessions + %.1f s %ld KiB "
                "(delta %ld KiB = %.0f bytes/session), at end %ld KiB\n",
                rss_baseline, after_connect.logged_in, run.settle_s, rss_after, delta, per_session,
                rss_end);
            std::printf("idle: %llu heartbeats answered (every %u ms per session)\n",
                        static_cast<unsigned long long>(sum.pongs_total), opts.heartbeat_ms);
        }
        json += ",\"server_pid\":" + std::to_string(run.server_pid) +
                ",\"rss_baseline_kib\":" + std::to_string(rss_baseline) +
                ",\"rss_after_kib\":" + std::to_string(rss_after) +
                ",\"rss_delta_kib\":" + std::to_string(delta) +
                ",\"bytes_per_session\":" + fmt("%.0f", per_session) +
                ",\"rss_end_kib\":" + std::to_string(rss_end) +
                ",\"pongs\":" + std::to_string(sum.pongs_total) +
                ",\"heartbeat_ms\":" + std::to_string(opts.heartbeat_ms);
    }
    std::printf("load generator peak RSS %ld KiB\n", client_rss);
    json += ",\"client_peak_rss_kib\":" + std::to_string(client_rss) + "}";
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    bool clean =
        after_connect.logged_in == opts.connections && end_totals.dropped == 0 && publish_clean;
    return clean ? 0 : 1;
}
