// plugins/feed/feed_plugin: see feed_plugin.hpp.
#include "plugins/feed/feed_plugin.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

#include "plugins/feed/fanout_task.hpp"
#include "plugins/sdk/json_ids.hpp"
#include "plugins/sdk/json_reply.hpp"
#include "plugins/sdk/json_text.hpp"
#include "plugins/sdk/wall_clock.hpp"

namespace lp::plugins {
namespace json = boost::json;
using feed::FanoutTask;

namespace {

constexpr std::string_view kRoutePrefix = "/v1/feed/";
// sadd takes this many members per call: big enough to load 100,000 in a few calls, small
// enough that one Redis command stays well under a millisecond of server time.
constexpr std::size_t kSaddChunk = 10000;
// A to_users call carries at most this many users (the push API's own limit).
constexpr std::size_t kPushChunk = 10000;
constexpr std::chrono::milliseconds kRetryDelay{1000};

// Reads the id field `name` of `obj`; on failure sets `err` to the reply that says what to fix.
std::optional<std::uint64_t> id_field(const json::object& obj, const char* name,
                                      std::optional<sdk::Reply>& err) {
    const auto* v = obj.if_contains(name);
    if (v == nullptr || v->is_null()) {
        err = sdk::json_error(400, std::string("\"") + name + "\" is required");
        return std::nullopt;
    }
    auto id = sdk::json_id(*v);
    if (!id)
        err = sdk::json_error(400, std::string("\"") + name + "\" must be a positive integer id");
    return id;
}

std::string followers_key(std::uint64_t anchor) {
    return "followers:" + std::to_string(anchor);
}
std::string recent_key(std::uint64_t user) {
    return "recent:" + std::to_string(user);
}
std::string item_key(std::uint64_t item) {
    return "item:" + std::to_string(item);
}
std::string task_key(std::uint64_t item) {
    return "task:" + std::to_string(item);
}

// After a get() found nothing: true if the store answers (the key is really absent), false if
// it is unavailable. scard of a key never written is a cheap question with an optional answer.
bool store_answers(sdk::Store& store) {
    return store.scard("store_probe").has_value();
}

std::size_t clamp_config(const sdk::Context& ctx, const char* key, std::int64_t fallback,
                         std::int64_t lo, std::int64_t hi) {
    return static_cast<std::size_t>(std::clamp(ctx.config_int(key, fallback), lo, hi));
}

json::object progress_json(const FanoutTask& t) {
    json::object o;
    o["item_id"] = std::to_string(t.item_id);
    o["anchor_id"] = std::to_string(t.anchor_id);
    o["done"] = t.done;
    o["batches_done"] = t.batches_done;
    o["followers_done"] = t.followers_done;
    o["online"] = t.online;
    o["total"] = t.total;
    o["created_ms"] = t.created_ms;
    if (t.done) o["finished_ms"] = t.finished_ms;
    return o;
}

}  // namespace

FeedPlugin::FeedPlugin(Clock clock) : clock_(clock ? std::move(clock) : Clock(sdk::wall_ms)) {}

std::vector<sdk::Route> FeedPlugin::routes() const {
    return {{"POST", "/v1/feed/follow"},    {"POST", "/v1/feed/unfollow"},
            {"POST", "/v1/feed/followers"}, {"POST", "/v1/feed/publish"},
            {"GET", "/v1/feed/users/"},     {"GET", "/v1/feed/tasks/"}};
}

void FeedPlugin::start(sdk::Context& ctx) {
    if (ctx.store == nullptr || ctx.jobs == nullptr || ctx.push == nullptr) {
        throw std::invalid_argument("feed: the context needs a store, delayed jobs and a pusher");
    }
    ctx_ = &ctx;
    batch_size_ = clamp_config(ctx, "batch_size", 1000, 1, 10000);
    recent_max_ = clamp_config(ctx, "recent_max", 100, 1, 1000);
    item_ttl_s_ = static_cast<std::int64_t>(
        clamp_config(ctx, "item_ttl_s", 30LL * 24 * 3600, 60, 365LL * 24 * 3600));
    max_item_bytes_ = clamp_config(ctx, "max_item_bytes", 16384, 256, 60LL * 1024);
    running_ = true;
}

void FeedPlugin::stop() {
    running_ = false;
}

sdk::Reply FeedPlugin::on_http(const sdk::HttpRequest& req) {
    if (!running_) return sdk::json_error(503, "the feed plugin is not running");
    std::string_view path = req.path;
    if (path.starts_with(kRoutePrefix)) path.remove_prefix(kRoutePrefix.size());
    if (req.method == "POST") {
        if (path == "follow") return follow(req.body, true);
        if (path == "unfollow") return follow(req.body, false);
        if (path == "followers") return bulk_followers(req.body);
        if (path == "publish") return publish(req.body);
    } else if (req.method == "GET") {
        if (path.starts_with("users/")) return recent_items(std::string(path.substr(6)), req.query);
        if (path.starts_with("tasks/")) return task_progress(std::string(path.substr(6)));
    }
    return sdk::json_error(404, "no such feed route: " + req.method + " " + req.path);
}

sdk::Reply FeedPlugin::follow(const std::string& body, bool on) {
    std::optional<sdk::Reply> err;
    auto obj = sdk::json_body_object(body, err);
    if (!obj) return *err;
    const auto user = id_field(*obj, "user_id", err);
    if (!user) return *err;
    const auto anchor = id_field(*obj, "anchor_id", err);
    if (!anchor) return *err;
    const std::vector<std::string> member{std::to_string(*user)};
    auto& store = *ctx_->store;
    const auto key = followers_key(*anchor);
    // srem answers false when there was nothing to remove; unfollowing twice is not an error,
    // so tell "not a follower" from "store down" by asking the store something else.
    const bool applied =
        on ? store.sadd(key, member) : (store.srem(key, member) || store.scard(key).has_value());
    if (!applied) return sdk::json_error(503, "the store is unavailable");
    json::object out;
    out["user_id"] = std::to_string(*user);
    out["anchor_id"] = std::to_string(*anchor);
    out["following"] = on;
    return sdk::json_ok(out);
}

sdk::Reply FeedPlugin::bulk_followers(const std::string& body) {
    std::optional<sdk::Reply> err;
    auto obj = sdk::json_body_object(body, err);
    if (!obj) return *err;
    const auto anchor = id_field(*obj, "anchor_id", err);
    if (!anchor) return *err;
    const auto* ids = obj->if_contains("user_ids");
    if (ids == nullptr || !ids->is_array())
        return sdk::json_error(400, "\"user_ids\" must be an array of ids");
    const auto& arr = ids->as_array();
    if (arr.size() > kMaxBulkFollowers) {
        return sdk::json_error(400, "\"user_ids\" holds " + std::to_string(arr.size()) +
                                        " ids; at most 100000 per call (split the load)");
    }
    // Validate everything before adding anything: a bad id rejects the whole call.
    std::vector<std::string> members;
    members.reserve(arr.size());
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const auto id = sdk::json_id(arr[i]);
        if (!id) {
            return sdk::json_error(400, "\"user_ids\"[" + std::to_string(i) +
                                            "] must be a positive integer id (nothing was added)");
        }
        members.push_back(std::to_string(*id));
    }
    const auto key = followers_key(*anchor);
    for (std::size_t at = 0; at < members.size(); at += kSaddChunk) {
        const auto first = members.begin() + static_cast<std::ptrdiff_t>(at);
        const auto last = members.begin() +
                          static_cast<std::ptrdiff_t>(std::min(members.size(), at + kSaddChunk));
        if (!ctx_->store->sadd(key, std::vector<std::string>(first, last))) {
            return sdk::json_error(
                503, "the store is unavailable (the followers loaded before it failed stay)");
        }
    }
    const auto followers = ctx_->store->scard(key);
    if (!followers) return sdk::json_error(503, "the store is unavailable");
    json::object out;
    out["anchor_id"] = std::to_string(*anchor);
    out["loaded"] = arr.size();
    out["followers"] = *followers;
    return sdk::json_ok(out);
}

sdk::Reply FeedPlugin::publish(const std::string& body) {
    std::optional<sdk::Reply> err;
    auto obj = sdk::json_body_object(body, err);
    if (!obj) return *err;
    const auto anchor = id_field(*obj, "anchor_id", err);
    if (!anchor) return *err;
    auto* item_value = obj->if_contains("item");
    if (item_value == nullptr || !item_value->is_object()) {
        return sdk::json_error(400, "\"item\" must be a JSON object");
    }
    auto& item = item_value->as_object();
    // The fields the plugin adds take at most this much: check the size before using an id.
    constexpr std::size_t kAddedFieldsBytes = 96;
    const std::size_t caller_bytes = json::serialize(item).size();
    if (caller_bytes + kAddedFieldsBytes > max_item_bytes_) {
        return sdk::json_error(
            413, "the item is " + std::to_string(caller_bytes) + " bytes as JSON; at most " +
                     std::to_string(max_item_bytes_ - kAddedFieldsBytes) +
                     " (plugins.feed.max_item_bytes, less 96 for the fields the plugin adds)");
    }
    auto& store = *ctx_->store;
    const auto total = store.scard(followers_key(*anchor));
    const auto item_id = store.incr_by("item_seq", 1);
    if (!total || !item_id) return sdk::json_error(503, "the store is unavailable");

    const std::int64_t now = clock_();
    item["item_id"] = std::to_string(*item_id);
    item["anchor_id"] = std::to_string(*anchor);
    item["ts_ms"] = now;
    const std::string item_json = sdk::plain_json(item);  // a publisher's 1.5 stays 1.5, not 1.5E0

    FanoutTask task;
    task.item_id = static_cast<std::uint64_t>(*item_id);
    task.anchor_id = *anchor;
    task.total = static_cast<std::uint64_t>(*total);
    task.created_ms = now;
    task.done = *total == 0;
    if (task.done) task.finished_ms = now;
    const std::chrono::milliseconds ttl = std::chrono::seconds(item_ttl_s_);
    if (!store.set(item_key(task.item_id), item_json, ttl) ||
        !store.set(task_key(task.item_id), task.to_json(), ttl)) {
        return sdk::json_error(503, "the store is unavailable");
    }
    if (!task.done &&
        !ctx_->jobs->schedule(kJobTopic, std::to_string(task.item_id), std::chrono::milliseconds(0),
                              std::to_string(task.item_id))) {
        store.del(task_key(task.item_id));
        return sdk::json_error(503,
                               "the delayed job queue is unavailable; the item was not published");
    }
    if (ctx_->metrics) ctx_->metrics->count("published");

    json::object out;
    out["item_id"] = std::to_string(task.item_id);
    out["followers"] = task.total;
    out["batches"] = (task.total + batch_size_ - 1) / batch_size_;
    return sdk::json_ok(out);
}

sdk::Reply FeedPlugin::recent_items(const std::string& user_text,
                                    const std::map<std::string, std::string>& query) {
    const auto user = sdk::decimal_u64(user_text);
    if (!user || *user == 0)
        return sdk::json_error(400, "bad user id in the path: \"" + user_text + "\"");
    std::size_t limit = recent_max_;
    if (auto it = query.find("limit"); it != query.end()) {
        const auto n = sdk::decimal_u64(it->second);
        if (!n || *n == 0) return sdk::json_error(400, "\"limit\" must be a positive integer");
        limit = std::min<std::size_t>(*n, recent_max_);
    }
    auto& store = *ctx_->store;
    const auto ids = store.lrange(recent_key(*user), 0, static_cast<std::int64_t>(recent_max_) - 1);
    if (!ids) return sdk::json_error(503, "the store is unavailable");
    // A batch that ran twice (its node died mid-way) may have written an id twice: show it once.
    std::unordered_set<std::string_view> seen;
    std::string items;
    std::size_t n = 0;
    for (const auto& id : *ids) {
        if (n == limit) break;
        if (!seen.insert(id).second) continue;
        const auto item = store.get("item:" + id);
        if (!item) continue;  // expired (item_ttl_s)
        if (n++ > 0) items += ',';
        items += *item;
    }
    // The stored items are JSON already: splice them rather than parse and print them again.
    return {200, {}, "{\"user_id\":\"" + std::to_string(*user) + "\",\"items\":[" + items + "]}"};
}

sdk::Reply FeedPlugin::task_progress(const std::string& item_text) {
    const auto item = sdk::decimal_u64(item_text);
    if (!item || *item == 0)
        return sdk::json_error(400, "bad item id in the path: \"" + item_text + "\"");
    const auto text = ctx_->store->get(task_key(*item));
    if (!text)
        return sdk::json_error(404,
                               "no fan-out task for item " + item_text + " (unknown or expired)");
    const auto task = FanoutTask::from_json(*text);
    if (!task) return sdk::json_error(500, "the task record of item " + item_text + " is corrupt");
    return sdk::json_ok(progress_json(*task));
}

void FeedPlugin::on_job(const std::string& topic, const std::string& id, const std::string& body) {
    if (topic != kJobTopic) return;
    const auto item = sdk::decimal_u64(body);
    if (!item) {
        if (ctx_->log) ctx_->log->error("feed: dropping a fan-out job with a bad body: " + body);
        return;
    }
    if (run_batch(*item)) return;
    // The store or queue failed: try the same batch again soon. Rescheduling our own id while
    // it runs keeps the new schedule (job_queue.hpp). If even that fails, throw: the job stays
    // reserved and runs again after its TTR.
    if (ctx_->metrics) ctx_->metrics->count("batch_retries");
    if (!ctx_->jobs->schedule(kJobTopic, id, kRetryDelay, body)) {
        throw std::runtime_error("feed: store and job queue unavailable; the fan-out of item " +
                                 body + " resumes after its TTR");
    }
}

bool FeedPlugin::run_batch(std::uint64_t item_id) {
    auto& store = *ctx_->store;
    const auto raw = store.get(task_key(item_id));
    if (!raw) {
        // Absent (expired, or never created) or the store is down: a store that answers scard
        // is up, so the task is really gone and the job has nothing to do.
        if (!store_answers(store)) return false;
        if (ctx_->log) ctx_->log->warn("feed: no task for item " + std::to_string(item_id));
        return true;
    }
    auto task = FanoutTask::from_json(*raw);
    if (!task) {
        if (ctx_->log)
            ctx_->log->error("feed: corrupt task record for item " + std::to_string(item_id));
        return true;
    }
    if (task->done) return true;
    const auto item_json = store.get(item_key(item_id));
    if (!item_json) {
        if (!store_answers(store)) return false;
        // The item expired before its fan-out ended (item_ttl_s): nothing left to deliver.
        if (ctx_->log)
            ctx_->log->warn("feed: item " + std::to_string(item_id) + " expired mid-fan-out");
        FanoutTask ended = *task;
        ended.done = true;
        ended.finished_ms = clock_();
        store.compare_and_set(task_key(item_id), *raw, ended.to_json(),
                              std::chrono::seconds(item_ttl_s_));
        return true;
    }

    // One batch: sscan from the cursor until batch_size members or the end (Redis's COUNT is a
    // hint, so a batch may take several calls or come back a little larger).
    std::vector<std::string> members;
    std::string cursor = task->cursor;
    const auto set_key = followers_key(task->anchor_id);
    do {
        const auto page = store.sscan(set_key, cursor, batch_size_ - members.size());
        if (!page) return false;
        members.insert(members.end(), page->second.begin(), page->second.end());
        cursor = page->first;
    } while (cursor != "0" && members.size() < batch_size_);

    std::vector<std::uint64_t> users;
    users.reserve(members.size());
    for (const auto& m : members) {
        if (auto id = sdk::decimal_u64(m)) users.push_back(*id);
    }
    std::sort(users.begin(), users.end());  // SSCAN may return a member twice across a rehash
    users.erase(std::unique(users.begin(), users.end()), users.end());

    // Side effects first, then advance: a death in between redoes this batch, never skips it.
    // The recent lists before the pushes: a store failure then redoes the batch before anyone
    // was pushed (a retry may repeat the id on some lists; the read deduplicates).
    const std::string id_text = std::to_string(item_id);
    std::vector<std::string> recent_keys;
    recent_keys.reserve(users.size());
    for (auto user : users) recent_keys.push_back(recent_key(user));
    if (store.lpush_trim_many(recent_keys, id_text, recent_max_) != recent_keys.size())
        return false;
    std::uint64_t online = 0;
    push_batch(*task, users, *item_json, online);

    FanoutTask next = *task;
    next.cursor = cursor;
    if (!users.empty()) ++next.batches_done;
    next.followers_done += users.size();
    next.online += online;
    next.done = cursor == "0";
    if (next.done) next.finished_ms = clock_();
    if (!store.compare_and_set(task_key(item_id), *raw, next.to_json(),
                               std::chrono::seconds(item_ttl_s_))) {
        // Either another run of this batch advanced the task first (a TTR re-run racing a slow
        // node: it schedules the next batch itself), or the store failed and nothing moved: then
        // this batch must run again.
        const auto now = store.get(task_key(item_id));
        if (!now || *now == *raw) return false;
        if (ctx_->metrics) ctx_->metrics->count("batch_races");
        return true;
    }
    if (ctx_->metrics) {
        ctx_->metrics->count("batches");
        ctx_->metrics->count("followers_reached", users.size());
        ctx_->metrics->count("followers_pushed", online);
    }
    if (next.done) return true;
    return ctx_->jobs->schedule(kJobTopic, id_text, std::chrono::milliseconds(0), id_text);
}

void FeedPlugin::push_batch(const FanoutTask& task, const std::vector<std::uint64_t>& users,
                            const std::string& item_json, std::uint64_t& online) {
    if (users.empty()) return;
    sdk::PushOptions opts;
    opts.qos = 1;
    opts.online_only = true;         // offline followers pull it from their recent list
    opts.outside_rooms_only = true;  // so do followers watching a room (a consumption scene)
    // online() first: most of a big anchor's followers are offline, and a push names only the
    // users it can reach.
    const auto reachable = ctx_->push->online(users);
    online = reachable.size();
    for (std::size_t at = 0; at < reachable.size(); at += kPushChunk) {
        const auto end = reachable.begin() +
                         static_cast<std::ptrdiff_t>(std::min(reachable.size(), at + kPushChunk));
        const std::vector<std::uint64_t> chunk(reachable.begin() + static_cast<std::ptrdiff_t>(at),
                                               end);
        const auto r = ctx_->push->to_users(chunk, kPushType, item_json, opts);
        if (!r.ok && ctx_->log) {
            ctx_->log->warn("feed: push of item " + std::to_string(task.item_id) +
                            " to a batch failed: " + r.error);
        }
    }
}

std::unique_ptr<sdk::Plugin> make_feed_plugin() {
    return std::make_unique<FeedPlugin>();
}

}  // namespace lp::plugins
