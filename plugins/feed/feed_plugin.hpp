// plugins/feed/feed_plugin: the anchor feed (主播动态, domain.md "Anchor feed").
//
// What it is for: an anchor's new feed item (went live, a video, a post) reaches every follower:
// pushed in-app (qos1, online only, outside rooms only) to followers who are online and in a
// non-consumption scene, and written to every follower's recent list, where the offline and
// in-room ones find it when they open the feed ("push to the online, pull for the offline").
//
// How: the follow graph is a store set per anchor. A publish stores the item, creates a fan-out
// task (fanout_task.hpp) and schedules its first batch as a delayed job (topic "feed"), then
// answers: it never walks the followers itself, so a publish to millions returns at once. Each
// job run takes one batch (`batch_size` followers, sscan from the task's cursor), pushes to the
// batch's online followers, appends the item id to the batch's recent lists, advances the task
// with compare_and_set and schedules the next batch (delay 0, same job id). A node dying
// mid-batch leaves the task at the batch's start; the job runs again after its TTR, on any node,
// and redoes that batch: nobody is skipped, and only that batch's followers can see the item
// twice (at least once; clients dedupe feed.item by item_id, and the recent list read dedupes).
//
// Store layout (the host prefixes every key with "plugin:feed:"):
//   followers:{anchor}  set of follower user ids (decimal)
//   recent:{user}       list of item ids, newest first, trimmed to `recent_max`
//   item:{item_id}      the item JSON as pushed (TTL `item_ttl_s`)
//   task:{item_id}      the fan-out task record (TTL `item_ttl_s`)
//   item_seq            the item id counter
//
// Config ([plugins.feed]): batch_size (1000; 1..10000), recent_max (100; 1..1000),
// item_ttl_s (2592000 = 30 days), max_item_bytes (16384).
//
// What it must never do: walk a follower set inside an HTTP handler, or block on anything but
// its context.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

namespace feed {
struct FanoutTask;
}

class FeedPlugin final : public sdk::Plugin {
public:
    using Clock = std::function<std::int64_t()>;  // ms since the Unix epoch

    static constexpr const char* kJobTopic = "feed";
    static constexpr const char* kPushType = "feed.item";
    static constexpr std::size_t kMaxBulkFollowers = 100000;

    // `clock` stamps items (ts_ms); empty = the system clock.
    explicit FeedPlugin(Clock clock = {});

    std::string name() const override { return "feed"; }
    std::vector<sdk::Route> routes() const override;
    std::vector<std::string> job_topics() const override { return {kJobTopic}; }

    void start(sdk::Context& ctx) override;
    void stop() override;

    sdk::Reply on_http(const sdk::HttpRequest& req) override;
    void on_job(const std::string& topic, const std::string& id, const std::string& body) override;

private:
    sdk::Reply follow(const std::string& body, bool on);
    sdk::Reply bulk_followers(const std::string& body);
    sdk::Reply publish(const std::string& body);
    sdk::Reply recent_items(const std::string& user,
                            const std::map<std::string, std::string>& query);
    sdk::Reply task_progress(const std::string& item);

    // One batch of the task's fan-out; false when the store or the queue failed (retry later).
    bool run_batch(std::uint64_t item_id);
    void push_batch(const feed::FanoutTask& task, const std::vector<std::uint64_t>& users,
                    const std::string& item_json, std::uint64_t& online);

    Clock clock_;
    sdk::Context* ctx_ = nullptr;
    std::atomic<bool> running_{false};
    std::size_t batch_size_ = 1000;
    std::size_t recent_max_ = 100;
    std::int64_t item_ttl_s_ = 30LL * 24 * 3600;
    std::size_t max_item_bytes_ = 16384;
};

std::unique_ptr<sdk::Plugin> make_feed_plugin();

}  // namespace lp::plugins
