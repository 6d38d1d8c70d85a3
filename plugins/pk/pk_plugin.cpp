#include "plugins/pk/pk_plugin.hpp"

#include <boost/json.hpp>
#include <exception>
#include <vector>

#include "plugins/pk/gift_event.hpp"
#include "plugins/pk/pk_battles.hpp"
#include "plugins/sdk/json_ids.hpp"
#include "plugins/sdk/json_reply.hpp"

namespace lp::plugins {

namespace json = boost::json;
using pk::PkOutcome;

namespace {

constexpr std::string_view kPrefix = "/v1/pk/";

PkOutcome bad_request(std::string error) {
    return PkOutcome{400, std::move(error), {}};
}

// A JSON object from a request body; an empty body is an empty object.
std::optional<json::object> parse_object(std::string_view body, std::string& error) {
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        error = "the body is not valid JSON: " + ec.message();
        return std::nullopt;
    }
    if (!v.is_object()) {
        error = "the body must be a JSON object";
        return std::nullopt;
    }
    return std::move(v.get_object());
}

// An id field: a JSON number or a decimal string, non-zero. Absent or null: nullopt with no
// error when `optional`.
std::optional<std::uint64_t> read_id(const json::object& obj, std::string_view key,
                                     std::string& error, bool optional = false) {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr || v->is_null()) {
        if (!optional && error.empty()) error = "\"" + std::string(key) + "\" is required";
        return std::nullopt;
    }
    const std::optional<std::uint64_t> id = sdk::json_id(*v);
    if (!id) {
        error = "\"" + std::string(key) + "\" must be a non-zero id (a number or decimal string)";
        return std::nullopt;
    }
    return id;
}

// The pk_id field of a BIZ packet, as the store writes ids.
std::optional<std::string> read_pk_id(const json::object& obj, std::string& error) {
    const json::value* v = obj.if_contains("pk_id");
    std::string id;
    if (v != nullptr && v->is_string()) {
        id = std::string(v->get_string());
    } else if (v != nullptr && v->is_uint64()) {
        id = std::to_string(v->get_uint64());
    } else if (v != nullptr && v->is_int64() && v->get_int64() > 0) {
        id = std::to_string(v->get_int64());
    }
    if (!pk::is_pk_id(id)) {
        error = "\"pk_id\" is required: the decimal id pk.invite returned";
        return std::nullopt;
    }
    return id;
}

sdk::Reply http_reply(const PkOutcome& out) {
    if (out.ok()) return sdk::Reply{200, {}, out.body_json};
    return sdk::json_error(out.status, out.error);
}

sdk::Reply biz_reply(const PkOutcome& out) {
    if (out.ok()) return sdk::Reply{0, {}, out.body_json};
    return sdk::Reply{out.status, out.error, {}};
}

std::vector<std::string_view> split_path(std::string_view rest) {
    std::vector<std::string_view> parts;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return parts;
}

PkOutcome wrong_method(const std::string& allowed) {
    return PkOutcome{405, "use " + allowed + " on this path", {}};
}

}  // namespace

PkPlugin::PkPlugin() = default;
PkPlugin::~PkPlugin() = default;

std::vector<std::string> PkPlugin::biz_types() const {
    return {"pk.invite", "pk.accept", "pk.reject", "pk.get"};
}

std::vector<sdk::Route> PkPlugin::routes() const {
    return {
        {"POST", "/v1/pk/invite"},
        {"POST", "/v1/pk/whitelist"},
        {"POST", "/v1/pk/"},  // prefix: {id}/accept|reject|close, whitelist/remove
        {"GET", "/v1/pk/"},   // prefix: {id}, whitelist/{anchor_id}
    };
}

void PkPlugin::start(sdk::Context& ctx) {
    ctx_ = &ctx;
    battles_ = std::make_unique<pk::PkBattles>(ctx, pk::PkSettings::from(ctx));
}

sdk::Reply PkPlugin::on_http(const sdk::HttpRequest& req) {
    if (!battles_) return http_reply(PkOutcome{503, "the pk plugin is not started", {}});
    std::string_view path = req.path;
    if (path.substr(0, kPrefix.size()) != kPrefix) {
        return http_reply(PkOutcome{404, "not a pk route: " + req.path, {}});
    }
    const std::vector<std::string_view> parts = split_path(path.substr(kPrefix.size()));
    const bool post = req.method == "POST";
    const bool get = req.method == "GET";
    std::string error;

    auto body = [&]() -> std::optional<json::object> { return parse_object(req.body, error); };

    if (parts.size() == 1 && parts[0] == "invite") {
        if (!post) return http_reply(wrong_method("POST"));
        auto obj = body();
        if (!obj) return http_reply(bad_request(error));
        auto from_anchor = read_id(*obj, "from_anchor", error);
        auto from_room = read_id(*obj, "from_room", error);
        auto to_anchor = read_id(*obj, "to_anchor", error);
        auto to_room = read_id(*obj, "to_room", error);
        if (!from_anchor || !from_room || !to_anchor || !to_room) {
            return http_reply(bad_request(error));
        }
        return http_reply(battles_->invite({*from_anchor, *from_room, *to_anchor, *to_room}));
    }
    if (!parts.empty() && parts[0] == "whitelist") {
        if (parts.size() == 1 || (parts.size() == 2 && parts[1] == "remove")) {
            if (!post) return http_reply(wrong_method("POST"));
            auto obj = body();
            if (!obj) return http_reply(bad_request(error));
            auto anchor = read_id(*obj, "anchor_id", error);
            if (!anchor) return http_reply(bad_request(error));
            return http_reply(parts.size() == 1 ? battles_->whitelist_add(*anchor)
                                                : battles_->whitelist_remove(*anchor));
        }
        if (parts.size() == 2) {
            if (!get) return http_reply(wrong_method("GET"));
            auto anchor = sdk::decimal_u64(parts[1]);
            if (!anchor || *anchor == 0) {
                return http_reply(bad_request("the anchor id in the path must be a decimal id"));
            }
            return http_reply(battles_->whitelist_get(*anchor));
        }
    }
    if (parts.empty() || parts.size() > 2 ||
        (parts.size() == 2 && parts[1] != "accept" && parts[1] != "reject" &&
         parts[1] != "close")) {
        return http_reply(PkOutcome{404, "unknown pk route: " + req.path, {}});
    }
    const std::string pk_id(parts[0]);
    if (!pk::is_pk_id(pk_id)) {
        return http_reply(bad_request("the pk id in the path must be a decimal id"));
    }
    if (parts.size() == 1) {
        if (!get) return http_reply(wrong_method("GET"));
        return http_reply(battles_->get(pk_id));
    }
    if (!post) return http_reply(wrong_method("POST"));
    if (parts[1] == "close") return http_reply(battles_->close(pk_id));
    auto obj = body();
    if (!obj) return http_reply(bad_request(error));
    auto anchor = read_id(*obj, "anchor_id", error, true);
    if (!error.empty()) return http_reply(bad_request(error));
    return http_reply(parts[1] == "accept" ? battles_->accept(pk_id, anchor)
                                           : battles_->reject(pk_id, anchor));
}

sdk::Reply PkPlugin::on_biz(const sdk::BizRequest& req) {
    if (!battles_) return biz_reply(PkOutcome{503, "the pk plugin is not started", {}});
    if (req.user_id == 0) return biz_reply(PkOutcome{401, "log in first", {}});
    std::string error;
    auto obj = parse_object(req.data_json, error);
    if (!obj) return biz_reply(bad_request(error));

    if (req.type == "pk.invite") {
        auto to_anchor = read_id(*obj, "to_anchor", error);
        auto to_room = read_id(*obj, "to_room", error);
        auto from_room = read_id(*obj, "from_room", error);
        if (!to_anchor || !to_room || !from_room) return biz_reply(bad_request(error));
        return biz_reply(battles_->invite({req.user_id, *from_room, *to_anchor, *to_room}));
    }
    auto pk_id = read_pk_id(*obj, error);
    if (!pk_id) return biz_reply(bad_request(error));
    if (req.type == "pk.accept") return biz_reply(battles_->accept(*pk_id, req.user_id));
    if (req.type == "pk.reject") return biz_reply(battles_->reject(*pk_id, req.user_id));
    if (req.type == "pk.get") return biz_reply(battles_->get(*pk_id));
    return sdk::Reply{3001, "not handled", {}};
}

void PkPlugin::on_event(const std::string& topic, const std::string& key,
                        const std::string& value_json) {
    if (!battles_ || topic != "gift") return;
    std::string error;
    auto gift = pk::read_gift_event(value_json, &error);
    if (!gift) {
        if (ctx_->metrics != nullptr) ctx_->metrics->count("gifts_invalid");
        if (ctx_->log != nullptr) ctx_->log->warn("pk: skipped a gift event: " + error);
        return;
    }
    battles_->on_gift(*gift);
}

std::string PkPlugin::describe_event(const std::string& topic, const std::string& value_json) {
    if (!battles_ || topic != "gift") return {};
    std::string error;
    auto gift = pk::read_gift_event(value_json, &error);
    if (!gift) return {};  // not a gift pk could read: nothing to count, nothing to say
    return battles_->describe_gift(*gift);
}

void PkPlugin::on_job(const std::string& topic, const std::string& id, const std::string& body) {
    if (!battles_ || topic != pk::PkBattles::kJobTopic) return;
    battles_->on_job(id);
}

std::unique_ptr<sdk::Plugin> make_pk_plugin() {
    return std::make_unique<PkPlugin>();
}

}  // namespace lp::plugins
