// load-test/client: a blocking livepush client with timeouts, for tests, livepush-cli and
// simple tools. TCP or WebSocket (binary frames, or text envelopes), optionally TLS, binary or
// JSON bodies. Frames that arrive while the caller waits for something else are kept in order,
// so a test can wait for a reply and still see every push that came before it.
//
// Each Connection owns a small io_context and runs it only inside its own calls, so a test can
// hold hundreds of connections on one thread. Not thread-safe: one thread per Connection.
#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "codec/frame.hpp"
#include "livepush.pb.h"

namespace lp::client {

enum class Transport : std::uint8_t { Tcp, Ws };

struct Options {
    Transport transport = Transport::Tcp;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string bind_address;  // local source address (e.g. 127.0.0.7); empty = any
    bool tls = false;          // TLS (certificate not verified unless ca_file is set)
    std::string ca_file;
    bool json_body = false;  // JSON_BODY frames (binary WS messages / TCP)
    bool ws_text = false;    // WebSocket text envelopes (implies JSON bodies)
    std::string ws_path = "/ws";
    std::uint32_t max_body = codec::kDefaultMaxBody;
    std::chrono::milliseconds timeout{5000};  // default for connect and for each call
};

// One received frame. For a WebSocket text envelope, header.code/seq come from the envelope,
// header.flags has kJsonBody set and `body` holds the envelope's "body" JSON text.
struct Frame {
    codec::Header header;
    std::string body;
    bool text = false;
    codec::Code code() const { return static_cast<codec::Code>(header.code); }
    bool json() const { return (header.flags & codec::kJsonBody) != 0; }
    // Parses the body (binary or JSON as the frame says) into msg.
    bool parse(google::protobuf::Message& msg) const;
};

class Connection {
public:
    explicit Connection(Options opts);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // TCP connect (+ TLS handshake) (+ WebSocket upgrade on ws_path). Error on failure.
    std::error_code connect();
    bool is_open() const;
    void close();  // closes the socket at once (no WebSocket close handshake)

    // Sends one packet in the session's form (TCP frame, WS binary message, or WS text
    // envelope), body serialized as binary or JSON per Options. seq 0 = next sequence number.
    // Returns the seq used.
    std::uint32_t send(codec::Code code, const google::protobuf::Message& body,
                       std::uint32_t seq = 0, std::uint8_t extra_flags = 0);
    // Sends bytes as they are, straight onto the stream (after TLS); for garbage tests.
    void send_raw(std::string_view bytes);
    // Sends one WebSocket message of the given opcode (1 text, 2 binary) with `payload`.
    void send_ws_message(std::uint8_t opcode, std::string_view payload);

    // Next frame within timeout (default Options::timeout); nullopt on timeout or when the
    // connection is closed (then is_open() is false and last_error() says why).
    std::optional<Frame> recv(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    // First frame (in arrival order) matching pred; others stay queued for later recv().
    std::optional<Frame> wait_for(const std::function<bool(const Frame&)>& pred,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    std::optional<Frame> wait_code(codec::Code code,
                                   std::optional<std::chrono::milliseconds> t = std::nullopt);
    // Waits until the server closes the connection (true) or the timeout passes (false).
    bool wait_closed(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    std::error_code last_error() const;

    // Request/reply helpers: send, then wait for the reply with the same seq.
    // nullopt when no reply came in time.
    std::optional<livepush::v1::Result> login(const std::string& token,
                                              const std::string& platform = "android",
                                              const std::string& device_id = "",
                                              const livepush::v1::RoomResume* resume = nullptr);
    std::optional<livepush::v1::Result> heartbeat();
    std::optional<livepush::v1::Result> biz(const std::string& type, const std::string& json_data);
    std::optional<livepush::v1::Result> logout();
    void ack(const std::vector<std::uint64_t>& msg_ids);

    // Pushes (code PUSH) received so far or within timeout, parsed.
    std::optional<livepush::v1::Push> next_push(
        std::optional<std::chrono::milliseconds> timeout = std::nullopt);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lp::client
