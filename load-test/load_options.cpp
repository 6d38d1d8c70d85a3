// load-test/load_options: see load_options.hpp.
#include "load-test/load_options.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/address.hpp"

namespace lp::load {
namespace {

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
  --scenario NAME             pingpong, idle, room, qos1, gift, pk, feed or live-room (default
                              pingpong)
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
live-room (issue 14: one room under a per-viewer budget; binary bodies only, no --json):
  live-room                   every session enters room --room-base (default: a fresh room id
                              from the clock, so the likes total starts at 0); the first
                              --senders sessions send room.chat {room_id, text "c<n> xx..."}
                              (--chat-rate in total) and room.like {room_id, count 1..3}
                              (--like-rate in total), spread evenly; gifts go through --api as
                              POST /v1/push/room {type gift.effect, class high} at --gift-rate.
                              After --duration-s, waits (up to --drain-s) until the pushes stand
                              still. Reports per viewer the room messages by class (by push
                              type: room.notice critical; gift.effect, room.state, pk.score
                              high; room.chat normal; room.likes low), room_seq gaps (what the
                              budget shed, not loss), gifts lost (by gift number; must be 0),
                              each sender's own chats accepted vs seen back, chat refusals
                              (RATE_LIMITED), the room.likes totals (never down, ending at the
                              exact sum; "not supported by server" when room.like is an unknown
                              BIZ type), gift latency from the API send, room.chat latency from
                              Push.sent_at_ms, and with --server-pid the server's CPU. Start the
                              node with --trusted-proxies 127.0.0.0/8 and the budget to measure
                              (--set room.viewer_budget_per_s=N): scripts/bench/live_room.sh
  --senders N                 live-room: chatting and liking sessions (default 500)
  --chat-rate R               live-room: room.chat per second, all senders (default 1000)
  --like-rate R               live-room: room.like per second, all senders (default 200)
  --gift-rate R               live-room: gift pushes per second (default 5)
  --chat-bytes N              live-room: room.chat text length, 8 to 200 (default 24)

output: human-readable lines, then one line of JSON with every number, for scripts.
exit status: 0 all sessions logged in and stayed (room, qos1: and the API accepted every push,
             none was lost or duplicated; gift, pk, feed: every event or item reached every
             session once, the PK's score is right), 1 otherwise, 2 usage, 3 the hard timeout
             fired.
)";

std::uint64_t parse_uint(const char* flag, const std::string& text, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v > max || text[0] == '-') {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

// A number from 0 to max, fractions allowed.
double parse_nonnegative(const char* flag, const std::string& text, double max) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > max) {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

double parse_seconds(const char* flag, const std::string& text) {
    return parse_nonnegative(flag, text, 86400);
}

// The non-empty items of a comma-separated list, in order.
std::vector<std::string> comma_items(const std::string& list) {
    std::vector<std::string> items;
    std::size_t start = 0;
    // Bounded by the list's length: each step consumes one item.
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (!item.empty()) items.push_back(std::move(item));
    }
    return items;
}

// "127.0.0.1-127.0.0.8", "127.0.0.1-8", "127.0.0.2,127.0.0.3" or a mix: IPv4 addresses in order.
std::vector<std::string> parse_source_ips(const std::string& list) {
    constexpr std::size_t kMaxSources = 65536;
    std::vector<std::string> out;
    for (const std::string& item : comma_items(list)) {
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

double parse_rate(const char* flag, const std::string& text) {
    return parse_nonnegative(flag, text, 10e6);
}

// One flag with its value: sets the option, or exits with a usage error.
void set_flag(RunOptions& o, std::string_view a, const char* flag, const std::string& v) {
    LoadOptions& l = o.load;
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
        else if (v == "live-room")
            l.scenario = Scenario::LiveRoom;
        else
            usage_error("--scenario is pingpong, idle, room, qos1, gift, pk, feed or live-room");
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
        for (const std::string& item : comma_items(v)) {
            l.ports.push_back(static_cast<std::uint16_t>(parse_uint(flag, item, 65535)));
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
    else if (a == "--room-base") {
        l.room_base = parse_uint(flag, v, UINT64_MAX / 2);
        o.room_base_set = true;
    } else if (a == "--target-order") {
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
    else if (a == "--senders") {
        o.plugin.senders = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        o.senders_set = true;
    } else if (a == "--chat-rate")
        l.chat_rate = parse_rate(flag, v);
    else if (a == "--like-rate")
        l.like_rate = parse_rate(flag, v);
    else if (a == "--gift-rate")
        o.gift_rate = parse_rate(flag, v);
    else if (a == "--chat-bytes")
        l.chat_bytes = static_cast<std::uint32_t>(parse_uint(flag, v, 200));
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

// live-room: its senders, rates and room (one room; a fresh one unless --room-base is given).
void check_live_room(RunOptions& o) {
    LoadOptions& l = o.load;
    if (o.api_port == 0) usage_error("live-room needs --api HOST:PORT (the gifts)");
    if (l.json_body) usage_error("live-room reads binary bodies only; drop --json");
    if (l.rooms != 1) usage_error("live-room is one room: drop --rooms");
    l.senders = o.senders_set ? o.plugin.senders : 500;
    if (l.senders == 0 || l.senders > l.connections) {
        usage_error("--senders must be between 1 and --connections");
    }
    if (l.chat_bytes < 8) usage_error("--chat-bytes must be between 8 and 200");
    if (l.latency_sample == 0) l.latency_sample = 1;
    if (!o.room_base_set) {
        l.room_base = 1000000000 + static_cast<std::uint64_t>(std::time(nullptr)) % 1000000000;
    }
    if (!o.drain_set) o.drain_s = 5;
}

// The checks between flags, and the values one flag derives from others (in this order: the
// first problem found is the one reported).
void check_and_derive(RunOptions& o) {
    LoadOptions& l = o.load;
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
    if (is_live_room(l.scenario)) check_live_room(o);
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
}

// --timeout-s when not given: the phases' sum, 30 s, and what the scenario needs on top.
double default_timeout_s(const RunOptions& o) {
    const LoadOptions& l = o.load;
    double timeout_s = o.connect_phase_s + o.warmup_s + o.duration_s + o.settle_s + 30;
    if (publishes(l.scenario) || is_live_room(l.scenario)) timeout_s += o.drain_s + 10;
    if (l.scenario == Scenario::Gift || l.scenario == Scenario::Pk) {
        // Sending at --rate (or at an assumed 5,000/s floor when unpaced), the drain, set-up.
        double events = o.plugin.events ? double(o.plugin.events)
                                        : (l.scenario == Scenario::Gift ? 100000.0 : 20.0);
        timeout_s += events / (o.rate > 0 ? o.rate : 5000) + o.drain_s * 2 + 60;
    } else if (l.scenario == Scenario::Feed) {
        timeout_s += double(o.plugin.followers) / 20000 + o.plugin.task_wait_s + o.drain_s + 60;
    }
    return timeout_s;
}

}  // namespace

void usage_error(const std::string& why) {
    std::fprintf(stderr, "livepush-load: %s (see --help)\n", why.c_str());
    std::exit(2);
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
        case Scenario::LiveRoom:
            return "live-room";
    }
    return "unknown";
}

RunOptions parse_options(int argc, char** argv) {
    RunOptions o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            std::exit(0);
        }
        if (a == "--json") {  // the switches without a value
            o.load.json_body = true;
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
        set_flag(o, a, flag, v);
    }
    check_and_derive(o);
    if (o.timeout_s == 0) o.timeout_s = default_timeout_s(o);
    return o;
}

}  // namespace lp::load
