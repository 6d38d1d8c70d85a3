// plugins/host/plugin_host: runs the node's plugins (design.md section 7).
//
// The host owns the plugins (built-ins created by name from factories, others loaded from
// shared objects), gives each one a Context whose store keys, jobs and counters are its own,
// and dispatches to them: BIZ packets by type, HTTP requests by route, events by topic (to
// every plugin that consumes it, de-duplicated by event_id), delayed jobs by topic (to the one
// plugin that owns it). Every call into a plugin is guarded: an exception is caught, logged,
// counted against that plugin and turned into an error reply; the node keeps running. A
// plugin whose start() throws is disabled.
//
// Room hooks (SDK 5): the plugins that declare them in room_hooks() get room visits and chats
// to filter through room_enter / room_leave / filter_chat; RoomHookRunner (room_hook_runner.hpp)
// calls these off the loops. A plugin built for SDK 4 loads too (offered 4 after refusing 5)
// and is never asked about hooks its build does not have.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "plugins/sdk/plugin.hpp"

namespace lp::codec {
class PromText;
}

namespace lp::plugins {

using PluginFactory = std::function<std::unique_ptr<sdk::Plugin>()>;

struct HostOptions {
    std::string node_id;
    bool cluster = false;
    std::vector<std::string> enabled;  // built-in plugins to run, by name
    std::vector<std::string> load;     // shared objects to load (paths)
    // plugin name -> its config section (key -> value text)
    std::map<std::string, std::map<std::string, std::string>> config;
    std::chrono::milliseconds dedupe_window{10 * 60 * 1000};  // events with the same event_id
};

class PluginHost {
public:
    using StoreFactory = std::function<std::unique_ptr<sdk::Store>(const std::string& prefix)>;
    PluginHost(HostOptions opts, sdk::Pusher& pusher, StoreFactory stores, sdk::Jobs& jobs,
               sdk::Events& events);
    ~PluginHost();

    void add_builtin(const std::string& name, PluginFactory factory);
    // Creates the enabled built-ins and loads the shared objects. Throws std::runtime_error
    // naming the problem: an unknown plugin, a library that does not load or was built for
    // another SDK version, two plugins claiming the same name, BIZ type, route or job topic.
    void load();
    // Starts every plugin; one whose start() throws is disabled and logged.
    // Gives every plugin's Context the room state (SDK version 5). Before start().
    void set_room_state(sdk::RoomState* rs);
    void start();
    void stop();

    // ---- what the node wires
    std::vector<std::string> biz_types() const;
    // Whether a plugin opened this BIZ type to guests (sdk::Plugin::guest_biz_types).
    bool open_to_guests(const std::string& type) const { return guest_biz_.count(type) != 0; }
    struct HttpRoute {
        std::string plugin;
        std::string method;
        std::string path;  // absolute: /v1/{plugin}/...; a trailing '/' means a prefix
    };
    std::vector<HttpRoute> routes() const;
    std::vector<std::string> event_topics() const;
    // Whether some plugin wants room visits / filters room.chat (fixed after load()).
    bool wants_room_visits() const { return !visit_hooks_.empty(); }
    bool filters_chat() const { return !chat_filters_.empty(); }

    // ---- dispatch (any thread)
    sdk::Reply biz(const sdk::BizRequest& req);
    sdk::Reply http(const std::string& plugin, const sdk::HttpRequest& req);
    // To every plugin consuming `topic`. With dedupe, an event whose JSON has an event_id seen
    // within the window is dropped (counted). Returns false if a plugin threw.
    bool event(const std::string& topic, const std::string& key, const std::string& value,
               bool dedupe = true);
    // True the first time (topic, event_id) is seen within the window (the shared store makes
    // it cluster-wide in cluster mode).
    bool first_time(const std::string& topic, const std::string& event_id);
    // Undoes first_time for an event this node admitted but never handled (its Kafka partition
    // moved away mid-retry), so the partition's next owner does not drop it as a duplicate.
    void forget(const std::string& topic, const std::string& event_id);
    // To the plugin owning `topic`. False if it threw (the runner then leaves the job to run
    // again after its TTR).
    bool job(const std::string& topic, const std::string& id, const std::string& body);
    // Room hooks: to every plugin that declared them. filter_chat runs the filters in load
    // order (a rewrite feeds the next, the first deny ends it); nullopt when one threw.
    void room_enter(const sdk::RoomVisit& visit);
    void room_leave(const sdk::RoomVisit& visit);
    std::optional<sdk::ChatVerdict> filter_chat(const sdk::ChatToFilter& chat);

    // Calls, failures and state per plugin, events dropped, and each plugin's own counters
    // (livepush_plugin_<plugin>_<name>_total).
    void write_metrics(codec::PromText& m) const;
    std::vector<std::string> names() const;

private:
    struct Loaded;
    class PluginEvents;
    // {plugin: describe_event(...)} of the enabled consumers of `topic` but `asking`.
    std::string describe_event(const std::string& topic, const std::string& value,
                               const std::string& asking);
    Loaded* find_biz(const std::string& type);
    void fail(Loaded& p, const char* what, const std::exception* e);

    HostOptions opts_;
    sdk::Pusher& pusher_;
    StoreFactory stores_;
    sdk::Jobs& jobs_;
    sdk::Events& events_;
    std::map<std::string, PluginFactory> factories_;
    std::vector<std::unique_ptr<Loaded>> plugins_;
    std::unordered_map<std::string, Loaded*> by_biz_;
    std::unordered_set<std::string> guest_biz_;  // BIZ types open to guests
    std::unordered_map<std::string, Loaded*> by_name_;
    std::unordered_map<std::string, Loaded*> by_job_topic_;
    std::unordered_map<std::string, std::vector<Loaded*>> by_event_topic_;
    std::vector<Loaded*> visit_hooks_;        // room_hooks().enter_leave
    std::vector<Loaded*> chat_filters_;       // room_hooks().filter_chat, in load order
    std::unique_ptr<sdk::Store> host_store_;  // dedupe marks
    std::vector<void*> libraries_;
    std::atomic<std::uint64_t> duplicates_{0};
    std::atomic<std::uint64_t> invalid_{0};  // events with non-finite numbers, dropped
};

// "a,b" or ["a","b"] (TOML arrays arrive as JSON text) to a list; empty entries dropped.
std::vector<std::string> split_list(const std::string& text);

}  // namespace lp::plugins
