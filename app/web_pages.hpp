// app/web_pages: the node's web pages (docs/console.md): the live-room demo at /demo/ on the
// WebSocket listener, the operator console at /console/ on the API listener, and, with --dev
// only, the demo's two helper routes on the WebSocket listener:
//   GET  /demo/token?role=viewer|anchor|admin&user=N[&room=R][&name=S]  -> {"token",...}
//        (a short-lived token signed with the node's secret; an anchor's is also made the
//        anchor of `room`, so the demo's moderation panel works)
//   POST /demo/gift?room=R&gift=G&count=C&user=U[&anchor=A][&value=V] -> 202 {"queued":true}
//        (a gift event handed to the gift plugin, as POST /v1/gift/events would)
//
// What it owns: reading server.web_root into memory once (server/static_site.hpp), the plain
// HTTP handler it gives the WebSocket listener (server/plain_http.hpp), and one worker thread
// for the dev gift route: the handler runs on an event loop and must not block, while a gift
// event pushes to a room and waits for the room's answer, so it is queued (bounded: over the
// bound, 429) and run there.
// What it must never do: exist in a node without --dev for the token and gift routes (they
// need no key: they are for a developer's own machine, where --dev listens on loopback only).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "push/api.hpp"
#include "server/plain_http.hpp"
#include "server/static_site.hpp"

namespace lp::plugins {
class PluginHost;
class KeyedWorkers;
}  // namespace lp::plugins
namespace lp::router {
class RoomModeration;
}

namespace lp::app {

// The directory the pages are read from: server.web_root, else <dir of livepushd>/../share/
// livepush/web when it exists, else the source tree's sdk/js/web/dist (a build-time path).
std::string web_root_of(const Config& c);

class WebPages {
public:
    // Reads the pages when server.demo or api.console is on. Throws std::runtime_error naming
    // the key when server.web_root was set and cannot be read, or the pages are over
    // server.web_max_bytes. A default root that does not exist gives no pages: every page is
    // then a 404 saying how to build them.
    explicit WebPages(const Config& c);
    ~WebPages();

    // For LoopOptions::http_handler: empty when server.demo is off.
    server::PlainHttpHandler ws_handler();
    // The console's pages (null when api.console is off).
    std::shared_ptr<const server::StaticSite> console_site() const;

    // The --dev routes' collaborators, set once before the node starts (they are built after
    // the server, which holds the handler).
    void attach(plugins::PluginHost* host, router::RoomModeration* moderation);
    void stop();  // the gift worker; before the plugins stop

    std::size_t bytes() const noexcept { return site_ ? site_->bytes() : 0; }

private:
    std::string answer(const server::PlainHttpRequest& req);
    std::string dev_token(const std::map<std::string, std::string>& query);
    std::string dev_gift(std::string_view method, const std::map<std::string, std::string>& query);

    Config config_;
    std::shared_ptr<const server::StaticSite> site_;
    std::unique_ptr<plugins::KeyedWorkers> gift_worker_;
    plugins::PluginHost* host_ = nullptr;
    router::RoomModeration* moderation_ = nullptr;
    std::atomic<std::uint64_t> gift_seq_{0};
};

// GET /v1/console/overview[?top=N]: this node, the cluster's nodes (when in one), sessions by
// transport, and the top N (10; 1..100) rooms by members on this node.
struct ConsoleFacts {
    std::string node_id;
    std::string mode;                                        // "embedded" or "cluster"
    std::vector<std::pair<std::string, std::string>> nodes;  // id, client address
    std::int64_t sessions[2][2] = {{0, 0}, {0, 0}};          // [tcp|ws][plain|tls]
    std::int64_t logged_in = 0;
    std::uint64_t online_users = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> rooms;  // room, members here
};
push::HttpReply console_overview(const ConsoleFacts& facts, const push::HttpRequest& req);

}  // namespace lp::app
