// plugins/host/plugin_host: see plugin_host.hpp.
#include "plugins/host/plugin_host.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <set>
#include <stdexcept>

#include "codec/json_numbers.hpp"
#include "codec/prometheus_text.hpp"

namespace lp::plugins {

namespace {

class PluginLog final : public sdk::Log {
public:
    explicit PluginLog(std::string name) : prefix_("plugin " + std::move(name) + ": ") {}
    void info(std::string_view m) override { spdlog::info("{}{}", prefix_, m); }
    void warn(std::string_view m) override { spdlog::warn("{}{}", prefix_, m); }
    void error(std::string_view m) override { spdlog::error("{}{}", prefix_, m); }

private:
    std::string prefix_;
};

class PluginMetrics final : public sdk::Metrics {
public:
    void count(const std::string& name, std::uint64_t n) override {
        std::lock_guard lock(mu_);
        counters_[name] += n;
    }
    std::map<std::string, std::uint64_t> snapshot() const {
        std::lock_guard lock(mu_);
        return counters_;
    }

private:
    mutable std::mutex mu_;
    std::map<std::string, std::uint64_t> counters_;
};

// A plugin may schedule only the job topics it declared: another plugin's topic would route
// the job to a handler that does not expect it.
class PluginJobs final : public sdk::Jobs {
public:
    PluginJobs(sdk::Jobs& jobs, std::set<std::string> topics, sdk::Log& log)
        : jobs_(jobs), topics_(std::move(topics)), log_(log) {}
    bool schedule(const std::string& topic, const std::string& id, std::chrono::milliseconds delay,
                  const std::string& body) override {
        if (!topics_.count(topic)) {
            log_.error("schedule: job topic \"" + topic +
                       "\" is not one of this plugin's job_topics()");
            return false;
        }
        return jobs_.schedule(topic, id, delay, body);
    }
    bool cancel(const std::string& topic, const std::string& id) override {
        if (!topics_.count(topic)) return false;
        return jobs_.cancel(topic, id);
    }

private:
    sdk::Jobs& jobs_;
    std::set<std::string> topics_;
    sdk::Log& log_;
};

std::string sanitize(const std::string& s) {
    std::string out;
    for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return out;
}

std::string event_id_of(const boost::json::value& v) {
    if (!v.is_object()) return {};
    const auto* id = v.get_object().if_contains("event_id");
    if (!id) return {};
    if (id->is_string()) return std::string(id->get_string());
    if (id->is_int64()) return std::to_string(id->get_int64());
    if (id->is_uint64()) return std::to_string(id->get_uint64());
    return {};
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    if (!text.empty() && text.front() == '[') {
        auto v = boost::json::parse(text, ec);
        if (!ec && v.is_array()) {
            for (const auto& e : v.get_array())
                if (e.is_string() && !e.get_string().empty()) out.emplace_back(e.get_string());
            return out;
        }
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto b = item.find_first_not_of(" \t");
        auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// A plugin's Events: publishes through the node's bus, and describes an event by asking the
// other plugins consuming its topic (never the asking plugin itself).
class PluginHost::PluginEvents final : public sdk::Events {
public:
    PluginEvents(PluginHost& host, std::string self) : host_(host), self_(std::move(self)) {}
    bool publish(const std::string& topic, const std::string& key,
                 const std::string& value_json) override {
        return host_.events_.publish(topic, key, value_json);
    }
    std::string describe(const std::string& topic, const std::string& value_json) override {
        return host_.describe_event(topic, value_json, self_);
    }

private:
    PluginHost& host_;
    std::string self_;
};

struct PluginHost::Loaded {
    std::string name;
    std::unique_ptr<PluginEvents> events;
    std::unique_ptr<sdk::Plugin> plugin;
    std::unique_ptr<sdk::Store> store;
    std::unique_ptr<PluginLog> log;
    std::unique_ptr<PluginMetrics> metrics;
    std::unique_ptr<PluginJobs> jobs;
    sdk::Context ctx;
    int api_version = sdk::kApiVersion;  // what a shared object was built for
    std::atomic<bool> enabled{true};
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> failures{0};
};

PluginHost::PluginHost(HostOptions opts, sdk::Pusher& pusher, StoreFactory stores, sdk::Jobs& jobs,
                       sdk::Events& events)
    : opts_(std::move(opts)),
      pusher_(pusher),
      stores_(std::move(stores)),
      jobs_(jobs),
      events_(events) {
    host_store_ = stores_("host:");
}

PluginHost::~PluginHost() {
    stop();
    plugins_.clear();  // plugins before the libraries holding their code (never unloaded)
}

void PluginHost::add_builtin(const std::string& name, PluginFactory factory) {
    factories_[name] = std::move(factory);
}

void PluginHost::load() {
    std::vector<std::pair<std::unique_ptr<sdk::Plugin>, int>> created;
    for (const auto& name : opts_.enabled) {
        auto it = factories_.find(name);
        if (it == factories_.end()) {
            std::string known;
            for (const auto& [n, f] : factories_) known += (known.empty() ? "" : ", ") + n;
            throw std::runtime_error("plugins.enabled: no built-in plugin \"" + name +
                                     "\" (built-ins: " + known + ")");
        }
        created.emplace_back(it->second(), sdk::kApiVersion);
    }
    for (const auto& path : opts_.load) {
        void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!lib) throw std::runtime_error("plugins.load: " + path + ": " + ::dlerror());
        libraries_.push_back(lib);
        auto create =
            reinterpret_cast<sdk::Plugin* (*)(int)>(::dlsym(lib, "livepush_plugin_create"));
        if (!create)
            throw std::runtime_error("plugins.load: " + path +
                                     " does not export livepush_plugin_create");
        // Newest first: a build for an older version refuses the newer numbers.
        int version = sdk::kApiVersion;
        sdk::Plugin* p = create(version);
        while (!p && version > sdk::kOldestApiVersion) p = create(--version);
        if (!p)
            throw std::runtime_error("plugins.load: " + path + " refused SDK versions " +
                                     std::to_string(sdk::kOldestApiVersion) + " to " +
                                     std::to_string(sdk::kApiVersion));
        created.emplace_back(p, version);
    }
    for (auto& [plugin, version] : created) {
        auto l = std::make_unique<Loaded>();
        l->name = plugin->name();
        if (l->name.empty() || by_name_.count(l->name))
            throw std::runtime_error("plugins: two plugins are named \"" + l->name + "\"");
        l->plugin = std::move(plugin);
        l->api_version = version;
        Loaded* raw = l.get();
        by_name_[raw->name] = raw;
        for (const auto& t : raw->plugin->biz_types()) {
            if (by_biz_.count(t))
                throw std::runtime_error("plugins: BIZ type \"" + t + "\" claimed by " +
                                         by_biz_[t]->name + " and " + raw->name);
            by_biz_[t] = raw;
        }
        for (const auto& t : raw->plugin->guest_biz_types()) {
            auto owner = by_biz_.find(t);
            if (owner == by_biz_.end() || owner->second != raw)
                throw std::runtime_error("plugins: " + raw->name + " opens BIZ type \"" + t +
                                         "\" to guests but does not declare it in biz_types()");
            guest_biz_.insert(t);
        }
        std::set<std::string> job_topics;
        for (const auto& t : raw->plugin->job_topics()) {
            if (by_job_topic_.count(t))
                throw std::runtime_error("plugins: job topic \"" + t + "\" claimed twice");
            by_job_topic_[t] = raw;
            job_topics.insert(t);
        }
        for (const auto& t : raw->plugin->event_topics()) by_event_topic_[t].push_back(raw);
        // room_hooks() is not in a version-4 build's table: never call it there.
        if (raw->api_version >= 5) {
            const sdk::RoomHooks hooks = raw->plugin->room_hooks();
            if (hooks.enter_leave) visit_hooks_.push_back(raw);
            if (hooks.filter_chat) chat_filters_.push_back(raw);
        }
        raw->store = stores_("plugin:" + raw->name + ":");
        raw->log = std::make_unique<PluginLog>(raw->name);
        raw->metrics = std::make_unique<PluginMetrics>();
        raw->jobs = std::make_unique<PluginJobs>(jobs_, std::move(job_topics), *raw->log);
        raw->ctx.node_id = opts_.node_id;
        raw->ctx.cluster = opts_.cluster;
        raw->ctx.push = &pusher_;
        raw->ctx.store = raw->store.get();
        raw->ctx.jobs = raw->jobs.get();
        raw->events = std::make_unique<PluginEvents>(*this, raw->name);
        raw->ctx.events = raw->events.get();
        raw->ctx.log = raw->log.get();
        raw->ctx.metrics = raw->metrics.get();
        if (auto c = opts_.config.find(raw->name); c != opts_.config.end())
            raw->ctx.config = c->second;
        plugins_.push_back(std::move(l));
    }
}

void PluginHost::set_room_state(sdk::RoomState* rs) {
    for (auto& p : plugins_) p->ctx.room_state = rs;
}

void PluginHost::start() {
    for (auto& p : plugins_) {
        try {
            p->plugin->start(p->ctx);
            spdlog::info("plugin {} started", p->name);
        } catch (const std::exception& e) {
            p->enabled = false;
            spdlog::error("plugin {} failed to start and is disabled: {}", p->name, e.what());
        } catch (...) {
            p->enabled = false;
            spdlog::error("plugin {} failed to start and is disabled", p->name);
        }
    }
}

void PluginHost::stop() {
    for (auto& p : plugins_) {
        if (!p->enabled.exchange(false)) continue;
        try {
            p->plugin->stop();
        } catch (...) {
            spdlog::error("plugin {} threw in stop()", p->name);
        }
    }
}

std::vector<std::string> PluginHost::biz_types() const {
    std::vector<std::string> out;
    for (const auto& [t, p] : by_biz_) out.push_back(t);
    return out;
}

std::vector<PluginHost::HttpRoute> PluginHost::routes() const {
    std::vector<HttpRoute> out;
    for (const auto& p : plugins_) {
        for (const auto& r : p->plugin->routes()) {
            std::string path = r.path;
            if (path.rfind("/v1/", 0) != 0)
                path = "/v1/" + p->name + (path.empty() || path[0] != '/' ? "/" : "") + path;
            out.push_back({p->name, r.method, path});
        }
    }
    return out;
}

std::vector<std::string> PluginHost::event_topics() const {
    std::vector<std::string> out;
    for (const auto& [t, ps] : by_event_topic_) out.push_back(t);
    return out;
}

std::vector<std::string> PluginHost::names() const {
    std::vector<std::string> out;
    for (const auto& p : plugins_) out.push_back(p->name);
    return out;
}

void PluginHost::fail(Loaded& p, const char* what, const std::exception* e) {
    p.failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("plugin {} threw in {}: {}", p.name, what, e ? e->what() : "unknown exception");
}

sdk::Reply PluginHost::biz(const sdk::BizRequest& req) {
    auto it = by_biz_.find(req.type);
    if (it == by_biz_.end()) return {3001, "unknown BIZ type", {}};
    Loaded& p = *it->second;
    if (!p.enabled) return {3999, "plugin " + p.name + " is disabled", {}};
    p.calls.fetch_add(1, std::memory_order_relaxed);
    try {
        return p.plugin->on_biz(req);
    } catch (const std::exception& e) {
        fail(p, "on_biz", &e);
    } catch (...) {
        fail(p, "on_biz", nullptr);
    }
    return {3999, "plugin " + p.name + " failed; the error is logged", {}};
}

sdk::Reply PluginHost::http(const std::string& plugin, const sdk::HttpRequest& req) {
    auto it = by_name_.find(plugin);
    if (it == by_name_.end()) return {404, "no plugin " + plugin, {}};
    Loaded& p = *it->second;
    if (!p.enabled) return {503, "plugin " + p.name + " is disabled", {}};
    if (!req.body.empty()) {
        boost::system::error_code ec;
        const auto parsed = boost::json::parse(req.body, ec);
        if (!ec && !codec::finite_numbers(parsed)) {
            return {400, "the body holds a number beyond the range of a double", {}};
        }
    }
    p.calls.fetch_add(1, std::memory_order_relaxed);
    try {
        return p.plugin->on_http(req);
    } catch (const std::exception& e) {
        fail(p, "on_http", &e);
    } catch (...) {
        fail(p, "on_http", nullptr);
    }
    return {500, "plugin " + p.name + " failed; the error is logged", {}};
}

bool PluginHost::first_time(const std::string& topic, const std::string& event_id) {
    // An unavailable store answers false for set_if_absent; prefer handling twice (handlers
    // are idempotent) to dropping an event.
    auto key = "dedupe:" + topic + ":" + event_id;
    if (host_store_->set_if_absent(key, "1", opts_.dedupe_window)) return true;
    return !host_store_->get(key).has_value();
}

void PluginHost::forget(const std::string& topic, const std::string& event_id) {
    // Best effort: a store that cannot delete now leaves the mark to expire with its window.
    host_store_->del("dedupe:" + topic + ":" + event_id);
}

bool PluginHost::event(const std::string& topic, const std::string& key, const std::string& value,
                       bool dedupe) {
    auto it = by_event_topic_.find(topic);
    if (it == by_event_topic_.end()) return true;
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(value, ec);
    if (!ec && !codec::finite_numbers(parsed)) {
        // A plugin would parse it and write "Infinity" on: never JSON again. Dropped, counted.
        invalid_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("event on {} dropped: a number beyond the double range", topic);
        return true;
    }
    if (dedupe && !ec) {
        std::string id = event_id_of(parsed);
        if (!id.empty() && !first_time(topic, id)) {
            duplicates_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
    bool ok = true;
    for (Loaded* p : it->second) {
        if (!p->enabled) continue;
        p->calls.fetch_add(1, std::memory_order_relaxed);
        try {
            p->plugin->on_event(topic, key, value);
        } catch (const std::exception& e) {
            fail(*p, "on_event", &e);
            ok = false;
        } catch (...) {
            fail(*p, "on_event", nullptr);
            ok = false;
        }
    }
    return ok;
}

std::string PluginHost::describe_event(const std::string& topic, const std::string& value,
                                       const std::string& asking) {
    boost::json::object out;
    auto it = by_event_topic_.find(topic);
    if (it == by_event_topic_.end()) return "{}";
    for (Loaded* p : it->second) {
        if (!p->enabled || p->name == asking) continue;
        try {
            std::string said = p->plugin->describe_event(topic, value);
            if (said.empty()) continue;
            boost::system::error_code ec;
            auto v = boost::json::parse(said, ec);
            if (!ec) out[p->name] = std::move(v);
        } catch (const std::exception& e) {
            fail(*p, "describe_event", &e);
        } catch (...) {
            fail(*p, "describe_event", nullptr);
        }
    }
    return boost::json::serialize(out);
}

bool PluginHost::job(const std::string& topic, const std::string& id, const std::string& body) {
    auto it = by_job_topic_.find(topic);
    if (it == by_job_topic_.end()) return true;  // nobody owns it any more: drop
    Loaded& p = *it->second;
    if (!p.enabled) return false;
    p.calls.fetch_add(1, std::memory_order_relaxed);
    try {
        p.plugin->on_job(topic, id, body);
        return true;
    } catch (const std::exception& e) {
        fail(p, "on_job", &e);
    } catch (...) {
        fail(p, "on_job", nullptr);
    }
    return false;
}

void PluginHost::room_enter(const sdk::RoomVisit& visit) {
    for (Loaded* p : visit_hooks_) {
        if (!p->enabled) continue;
        p->calls.fetch_add(1, std::memory_order_relaxed);
        try {
            p->plugin->on_room_enter(visit);
        } catch (const std::exception& e) {
            fail(*p, "on_room_enter", &e);
        } catch (...) {
            fail(*p, "on_room_enter", nullptr);
        }
    }
}

void PluginHost::room_leave(const sdk::RoomVisit& visit) {
    for (Loaded* p : visit_hooks_) {
        if (!p->enabled) continue;
        p->calls.fetch_add(1, std::memory_order_relaxed);
        try {
            p->plugin->on_room_leave(visit);
        } catch (const std::exception& e) {
            fail(*p, "on_room_leave", &e);
        } catch (...) {
            fail(*p, "on_room_leave", nullptr);
        }
    }
}

std::optional<sdk::ChatVerdict> PluginHost::filter_chat(const sdk::ChatToFilter& chat) {
    sdk::ChatToFilter current = chat;
    bool rewritten = false;
    for (Loaded* p : chat_filters_) {
        if (!p->enabled) continue;
        p->calls.fetch_add(1, std::memory_order_relaxed);
        sdk::ChatVerdict v;
        try {
            v = p->plugin->filter_chat(current);
        } catch (const std::exception& e) {
            fail(*p, "filter_chat", &e);
            return std::nullopt;
        } catch (...) {
            fail(*p, "filter_chat", nullptr);
            return std::nullopt;
        }
        if (v.action == sdk::ChatVerdict::Action::Deny) {
            if (v.reason.empty()) v.reason = "refused by plugin " + p->name;
            return v;
        }
        // An empty rewrite would publish an empty chat, which a client could never send.
        if (v.action == sdk::ChatVerdict::Action::Rewrite && !v.text.empty() &&
            v.text != current.text) {
            current.text = std::move(v.text);
            rewritten = true;
        }
    }
    return rewritten ? sdk::ChatVerdict::rewrite(std::move(current.text))
                     : sdk::ChatVerdict::allow();
}

void PluginHost::write_metrics(codec::PromText& m) const {
    for (const auto& p : plugins_)
        m.counter("livepush_plugin_calls_total", "calls into a plugin", p->calls.load(),
                  codec::PromText::label("plugin", p->name));
    for (const auto& p : plugins_)
        m.counter("livepush_plugin_failures_total", "exceptions a plugin threw (caught)",
                  p->failures.load(), codec::PromText::label("plugin", p->name));
    for (const auto& p : plugins_)
        m.gauge("livepush_plugin_enabled", "1 while a plugin runs", p->enabled ? 1 : 0,
                codec::PromText::label("plugin", p->name));
    m.counter("livepush_events_duplicates_total", "events dropped as duplicates of an event_id",
              duplicates_.load());
    m.counter("livepush_events_invalid_total", "events dropped: numbers beyond the double range",
              invalid_.load());
    for (const auto& p : plugins_)
        for (const auto& [name, v] : p->metrics->snapshot())
            m.counter("livepush_plugin_" + sanitize(p->name) + "_" + sanitize(name) + "_total", {},
                      v);
}

}  // namespace lp::plugins
