// plugins/example/echo_plugin: a plugin built as a shared object and loaded at start
// (plugins.load = ["/path/liblivepush_echo.so"]). It shows the whole SDK surface in a few
// lines, and the tests use it to prove loading and isolation:
//   BIZ  echo.say   {text}  -> BIZ_RESULT {text, user_id, greeting}, and a qos0 push "echo.said"
//   BIZ  echo.throw         -> throws (the node must survive: BIZ_RESULT with an error code)
//   BIZ  echo.wait  {ms}    -> answers after sleeping ms (≤ 5000): a handler waiting on a slow
//                              store; the node runs it on a plugin worker, not the loop
//   GET  /v1/echo/ping      -> {"pong": true, "node": ..., "calls": N}
//   POST /v1/echo/throw     -> throws (a 500 JSON error, the node survives)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "plugins/sdk/plugin.hpp"

namespace {

// Minimal JSON string escaping: this example avoids any dependency beyond the SDK header.
std::string quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
    return out + "\"";
}

class EchoPlugin final : public lp::sdk::Plugin {
public:
    std::string name() const override { return "echo"; }
    std::vector<std::string> biz_types() const override {
        return {"echo.say", "echo.throw", "echo.wait"};
    }
    // Guests (no token, auth.guests) may say something; the other types stay closed to them.
    std::vector<std::string> guest_biz_types() const override { return {"echo.say"}; }
    std::vector<lp::sdk::Route> routes() const override {
        return {{"GET", "/v1/echo/ping"}, {"POST", "/v1/echo/throw"}};
    }

    void start(lp::sdk::Context& ctx) override {
        ctx_ = &ctx;
        greeting_ = ctx.config_value("greeting", "hello");
        ctx.log->info("echo plugin started with greeting " + greeting_);
    }

    lp::sdk::Reply on_biz(const lp::sdk::BizRequest& req) override {
        ++calls_;
        if (req.type == "echo.throw") throw std::runtime_error("echo.throw asked for it");
        if (req.type == "echo.wait") {
            // {"ms": N}: the first number in the data is enough for an example.
            const auto digits = req.data_json.find_first_of("0123456789");
            const long ms = digits == std::string::npos
                                ? 0
                                : std::strtol(req.data_json.c_str() + digits, nullptr, 10);
            std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp(ms, 0L, 5000L)));
            return {0, {}, "{\"waited_ms\":" + std::to_string(std::clamp(ms, 0L, 5000L)) + "}"};
        }
        std::string data =
            "{\"echo\":" + (req.data_json.empty() ? std::string("null") : req.data_json) +
            ",\"user_id\":\"" + std::to_string(req.user_id) +
            "\",\"greeting\":" + quote(greeting_) + "}";
        ctx_->push->to_user(req.user_id, "echo.said", data);
        ctx_->metrics->count("said");
        return {0, {}, data};
    }

    lp::sdk::Reply on_http(const lp::sdk::HttpRequest& req) override {
        ++calls_;
        if (req.path == "/v1/echo/throw")
            throw std::runtime_error("POST /v1/echo/throw asked for it");
        return {200,
                {},
                "{\"pong\":true,\"node\":" + quote(ctx_->node_id) +
                    ",\"calls\":" + std::to_string(calls_.load()) + "}"};
    }

private:
    lp::sdk::Context* ctx_ = nullptr;
    std::string greeting_;
    std::atomic<std::uint64_t> calls_{0};
};

}  // namespace

extern "C" lp::sdk::Plugin* livepush_plugin_create(int api_version) {
    if (api_version != lp::sdk::kApiVersion) return nullptr;
    return new EchoPlugin();
}
