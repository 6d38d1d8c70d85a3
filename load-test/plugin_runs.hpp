// load-test/plugin_runs: the timelines of livepush-load's business-plugin scenarios.
//
//   gift  sessions in --rooms rooms; --events gift events go to Kafka topic `gift` (--kafka) or
//         POST /v1/gift/events (--api) at --rate; reports events produced, distinct events seen
//         by a session, effects delivered, missing and duplicate deliveries, end-to-end events/s
//         (first produce → last effect) and produce → effect latency.
//   pk    connections 0 and 1 are anchors A and B (role "anchor", rooms --room-base and +1),
//         the others viewers in the two rooms; the run starts a PK between A and B through the
//         API, sends --events gift events to A at --rate and measures event → first pk.score
//         showing it, at every viewer and at the first viewer; checks the final score.
//   feed  --followers followers of --feed-anchor loaded through the API (the sessions' users
//         among them), sessions online outside rooms; one publish, then time to every online
//         session's feed.item and the whole fan-out's time from the task record.
//         With --feed-receive-only the process is only more receivers for another process's
//         publish (one process holds < 20,000 sessions): no follower load, no publish; it
//         prints "ready: ..." once its sessions are logged in, waits for each one's feed.item
//         and measures receive wall clock - the item's ts_ms (the publish time; same machine).
//
// The conductor (livepush_load.cpp) owns the sessions and the connect phase, load_options.cpp
// the options; a PluginRun is made before the shards (it sizes what they check), runs its
// timeline while they are connected and reports after they are joined. Every wait is bounded.
// The class is one ScenarioRun; its code is in a file per scenario: plugin_runs.cpp (set-up,
// dispatch, sending gift events), gift_run.cpp, pk_run.cpp and feed_run.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "load-test/gift_events.hpp"
#include "load-test/load_shard.hpp"
#include "load-test/scenario_run.hpp"

namespace lp::load {

struct PluginRunOptions {
    std::string api_host;  // the node's HTTP API (empty: none; gift then needs --kafka)
    std::uint16_t api_port = 0;
    std::string api_key;
    std::uint32_t api_connections = 4;  // gift events over HTTP
    std::string kafka_brokers;          // gift events to Kafka; empty = over the HTTP API
    std::string kafka_topic = "gift";
    std::uint32_t kafka_linger_ms = 5;
    double rate = 0;                         // gift events per second; 0 = as fast as possible
    std::uint64_t events = 0;                // gift, pk
    std::uint64_t sender_base = 8000000000;  // gift, pk: senders, never logged in
    std::uint32_t senders = 64;
    std::string gift_value;  // gift "1.0", pk "1.0" (10 points)
    std::uint32_t latency_sample = 1;
    double drain_s = 5;                 // gift, pk, feed: give up after this long without progress
    std::uint64_t followers = 1000000;  // feed
    std::uint64_t follower_base = 0;    // feed: first follower id (default: --user-base)
    std::uint64_t feed_anchor = 7000000000;
    bool skip_follower_load = false;
    bool feed_receive_only = false;  // feed: receive another process's publish, nothing else
    double task_wait_s = 300;  // feed: limit for the fan-out task to finish (receive-only: for
                               // the pushes to come, from the ready line)
    int server_pid = 0;        // optional: the server's CPU use while the scenario runs
};

class PluginRun final : public ScenarioRun {
public:
    // Sets what the shards check (load.plugin, load.anchors, rooms for pk). Throws
    // std::invalid_argument for options the scenario cannot run with.
    PluginRun(PluginRunOptions options, LoadOptions& load);
    ~PluginRun() override;
    PluginRun(const PluginRun&) = delete;
    PluginRun& operator=(const PluginRun&) = delete;

    // gift, pk: the "events:" line.
    void print_plan() const override;
    // Before the sessions connect (feed: loads the followers). False: nothing to measure.
    bool before_connect() override;
    // While the sessions are connected.
    void run(const Shards& shards) override;
    // After the shards are joined: prints the results, returns their JSON fields (each with a
    // leading comma); `clean` becomes false when something was lost, duplicated or refused, or
    // no session logged in.
    std::string report(const Shards& shards, const ShardSum& sum, std::uint32_t logged_in,
                       bool& clean) override;

    struct Phase;  // what run() measured besides the shards' results

private:
    bool load_followers();  // feed
    void run_gift(const Shards& shards);
    void run_pk(const Shards& shards);
    void run_feed(const Shards& shards);
    void run_feed_receive_only(const Shards& shards);
    std::string report_gift(const Shards& shards, bool& clean);
    std::string report_pk(const Shards& shards, bool& clean);
    std::string report_feed(const Shards& shards, bool& clean);
    std::string report_feed_receive_only(const Shards& shards, bool& clean);
    // Sends the plan's events (Kafka or HTTP) while the shards receive; returns when every
    // event was sent and the receivers stopped making progress, or saw everything.
    void send_events(const Shards& shards, std::uint64_t deliveries_per_event);

    PluginRunOptions opts_;
    const LoadOptions& load_;
    std::unique_ptr<GiftEventPlan> plan_;
    std::unique_ptr<Phase> phase_;
};

}  // namespace lp::load
