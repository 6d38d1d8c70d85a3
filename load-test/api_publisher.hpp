// load-test/api_publisher: the publishing side of livepush-load's room and qos1 scenarios.
//
// A business service pushes through the node's internal HTTP API (design.md section 5); this
// plays that service. It holds a few keep-alive HTTP/1.1 connections (one request in flight on
// each, as a plain client does) on an event loop thread of its own, apart from the receiving
// shards and never counted in their numbers, and sends POST /v1/push/room or /v1/push/user on a
// fixed schedule: request i is due at start + i / rate. A connection that is free takes the next
// due request; when every connection is busy the schedule slips, and the results say how far
// (sent vs. due), so a report can tell "the server could not keep up" from "the publisher
// could not". Publishing stops at the end of the window; answers still outstanding are awaited
// (bounded by the request timeout).
//
// What it remembers is bounded by rate × duration: per room, how many pushes were accepted
// (expected deliveries = accepted × the room's members), and for qos1 every accepted msg_id with
// the user it was for (to find losses at the receivers afterwards).
//
// The plugin scenarios use it for other routes (PublishTarget::Custom: the caller writes request
// i's body, e.g. gift event i for POST /v1/gift/events) and call http_call() for the few
// set-up requests of a run (whitelist an anchor, start a PK, load followers, read /metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "load-test/latency_histogram.hpp"

namespace lp::load {

enum class PublishTarget : std::uint8_t { Room, User, Custom };

struct PublisherOptions {
    PublishTarget target = PublishTarget::Room;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8090;
    std::string api_key;            // Authorization: Bearer; empty = no header
    std::uint32_t connections = 4;  // keep-alive connections, one request in flight on each
    double rate = 1000;             // requests per second, all connections together
    double duration_s = 10;
    std::uint32_t payload_bytes = 64;  // Push.payload: a JSON string of exactly this many bytes
    std::string push_type = "load";
    // Room pushes: request i goes to room room_base + i % rooms.
    std::uint32_t rooms = 1;
    std::uint64_t room_base = 1;
    // User pushes (qos 1): request i goes to user user_base + i % users, or a random one.
    std::uint32_t users = 1;
    std::uint64_t user_base = 1000000;
    bool random_users = false;
    // Custom: POST `path` with the body write_body(i, body) writes (body is cleared first);
    // called on the publisher's thread just before request i is written.
    std::string path;
    std::function<void(std::uint64_t index, std::string& body)> write_body;
    std::uint64_t requests = 0;  // requests in the window; 0 = rate × duration_s
    std::uint32_t connect_timeout_ms = 5000;
    std::uint32_t request_timeout_ms = 5000;
};

// A qos1 push the API accepted: its id and the index (user - user_base) of its user.
struct AcceptedPush {
    std::uint64_t msg_id = 0;
    std::uint32_t user_index = 0;
    std::uint32_t sessions = 0;  // sessions the server queued it to (0: the user was offline)
};

struct PublisherResults {
    std::uint32_t connected = 0;  // connections that opened before publishing started
    std::uint64_t due = 0;        // requests the schedule held by the end of the window
    std::uint64_t sent = 0;
    std::uint64_t accepted = 0;  // answered 2xx
    std::uint64_t rejected = 0;  // answered otherwise
    std::uint64_t failed = 0;    // no answer: connection error or request timeout
    std::uint64_t reconnects = 0;
    std::map<int, std::uint64_t> statuses;  // answers by HTTP status
    std::string first_error;                // first non-2xx body or transport error
    std::uint64_t sessions = 0;  // sum of "sessions" over accepted pushes (the server's count)
    std::uint64_t stored = 0;    // qos1: sum of "stored" (user offline, went to the inbox)
    std::vector<std::uint64_t> accepted_per_room;  // room pushes, by room index
    std::vector<AcceptedPush> accepted_ids;        // user pushes
    LatencyHistogram request_latency;              // request written → answer read, ns
    std::int64_t window_ns = 0;                    // publishing start → last request sent
    std::int64_t last_answer_ns = 0;               // publishing start → last answer
};

class ApiPublisher {
public:
    // Throws std::runtime_error when the API address does not resolve.
    explicit ApiPublisher(PublisherOptions options);
    ~ApiPublisher();
    ApiPublisher(const ApiPublisher&) = delete;
    ApiPublisher& operator=(const ApiPublisher&) = delete;

    // Starts the publisher's thread and opens the connections; waits at most the connect
    // timeout. Returns how many are open.
    std::uint32_t connect();
    // Publishing begins now and ends by itself after duration_s (plus outstanding answers).
    void start();
    bool finished() const noexcept;
    // Live progress (relaxed).
    std::uint64_t sent() const noexcept;
    std::uint64_t accepted() const noexcept;
    std::uint64_t sessions() const noexcept;  // sum of "sessions" so far
    // Closes everything (early if publishing is still going) and joins the thread.
    void stop();
    const PublisherResults& results() const noexcept;  // after stop()

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One blocking HTTP/1.1 request on a connection of its own (set-up calls, not load): the answer's
// status and body, or status 0 and `error` when there was no answer within timeout_ms.
struct HttpAnswer {
    int status = 0;
    std::string body;
    std::string error;
};
// "HTTP 404: body" for an answer, or the error that left it without one.
inline std::string failure_text(const HttpAnswer& a) {
    return a.status ? "HTTP " + std::to_string(a.status) + ": " + a.body : a.error;
}
HttpAnswer http_call(const std::string& host, std::uint16_t port, const std::string& api_key,
                     const std::string& method, const std::string& target, std::string body,
                     std::uint32_t timeout_ms = 30000);

}  // namespace lp::load
