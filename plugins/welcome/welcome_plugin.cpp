// plugins/welcome: see welcome_plugin.hpp.
#include "plugins/welcome/welcome_plugin.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "plugins/sdk/json_ids.hpp"
#include "plugins/sdk/json_reply.hpp"
#include "plugins/sdk/wall_clock.hpp"

namespace lp::plugins {

namespace {

namespace json = boost::json;

constexpr const char* kTopic = "welcome.first_recharge";
constexpr std::chrono::hours kMarkTtl{48};  // a day's mark outlives its day

// Today's (UTC) mark: set once the pop-up went out.
std::string shown_key(std::uint64_t user) {
    return "shown:" + std::to_string(sdk::wall_ms() / 86'400'000) + ":" + std::to_string(user);
}

std::string job_id(std::uint64_t user, std::uint64_t room) {
    return std::to_string(user) + ":" + std::to_string(room);
}

class WelcomePlugin final : public sdk::Plugin {
public:
    std::string name() const override { return "welcome"; }
    std::vector<sdk::Route> routes() const override { return {{"POST", "/v1/welcome/recharged"}}; }
    std::vector<std::string> job_topics() const override { return {kTopic}; }
    sdk::RoomHooks room_hooks() const override { return {true, false}; }

    void start(sdk::Context& ctx) override {
        ctx_ = &ctx;
        const auto delay_s = std::clamp<std::int64_t>(ctx.config_int("delay_s", 30), 0, 86400);
        delay_ = std::chrono::seconds(delay_s);
    }

    void on_room_enter(const sdk::RoomVisit& v) override {
        if (v.role == "guest") {
            ctx_->metrics->count("skipped_guest");
            return;
        }
        if (recharged(v.user_id)) {
            ctx_->metrics->count("skipped_recharged");
            return;
        }
        // Shown today already: no job (a viewer hopping rooms would schedule one per room).
        if (ctx_->store->get(shown_key(v.user_id))) {
            ctx_->metrics->count("skipped_today");
            return;
        }
        json::object body;
        body["user_id"] = std::to_string(v.user_id);
        body["room_id"] = std::to_string(v.room_id);
        if (ctx_->jobs->schedule(kTopic, job_id(v.user_id, v.room_id), delay_,
                                 json::serialize(body)))
            ctx_->metrics->count("scheduled");
    }

    void on_room_leave(const sdk::RoomVisit& v) override {
        if (v.role == "guest") return;
        if (ctx_->jobs->cancel(kTopic, job_id(v.user_id, v.room_id)))
            ctx_->metrics->count("cancelled");
    }

    void on_job(const std::string& topic, const std::string& id, const std::string& body) override {
        boost::system::error_code ec;
        auto v = json::parse(body, ec);
        if (ec || !v.is_object()) return;  // not ours to retry: nothing could read it later
        const auto& o = v.get_object();
        const auto* u = o.if_contains("user_id");
        const auto* r = o.if_contains("room_id");
        auto user = u ? sdk::json_id(*u) : std::nullopt;
        auto room = r ? sdk::json_id(*r) : std::nullopt;
        if (!user || !room) return;
        if (recharged(*user)) {
            ctx_->metrics->count("skipped_recharged");
            return;
        }
        const std::string mark = shown_key(*user);
        if (!ctx_->store->set_if_absent(mark, "1", kMarkTtl)) {
            ctx_->metrics->count("skipped_today");
            return;
        }
        json::object payload;
        payload["room_id"] = std::to_string(*room);
        sdk::PushOptions opts;
        opts.qos = 1;
        opts.online_only = true;
        auto res = ctx_->push->to_user(*user, kTopic, json::serialize(payload), opts);
        if (!res.ok) {
            // Give the day back: the next visit may show it.
            ctx_->store->del(mark);
            ctx_->metrics->count("push_failed");
            ctx_->log->warn("welcome push to user " + std::to_string(*user) +
                            " failed: " + res.error);
            return;
        }
        ctx_->metrics->count("pushed");
    }

    sdk::Reply on_http(const sdk::HttpRequest& req) override {
        if (req.method != "POST" || req.path != "/v1/welcome/recharged")
            return sdk::json_error(404, "no route " + req.path);
        boost::system::error_code ec;
        auto v = json::parse(req.body, ec);
        if (ec || !v.is_object())
            return sdk::json_error(400, "the body must be a JSON object {user_id}");
        const auto* u = v.get_object().if_contains("user_id");
        auto user = u ? sdk::json_id(*u) : std::nullopt;
        if (!user)
            return sdk::json_error(400, "user_id must be a user id (a number or a decimal string)");
        if (!ctx_->store->set("recharged:" + std::to_string(*user), "1"))
            return sdk::json_error(503, "the plugin store is unavailable; retry");
        json::object out;
        out["user_id"] = std::to_string(*user);
        out["recharged"] = true;
        return {200, {}, json::serialize(out)};
    }

private:
    bool recharged(std::uint64_t user) {
        return ctx_->store->get("recharged:" + std::to_string(user)).has_value();
    }

    sdk::Context* ctx_ = nullptr;
    std::chrono::milliseconds delay_{30000};
};

}  // namespace

std::unique_ptr<sdk::Plugin> make_welcome_plugin() {
    return std::make_unique<WelcomePlugin>();
}

}  // namespace lp::plugins
