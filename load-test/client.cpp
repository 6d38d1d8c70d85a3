// load-test/client: the blocking livepush client of client.hpp.
//
// Built around one private io_context per Connection that runs only inside the Connection's own
// calls: every call starts or continues asynchronous work and then runs the context until its
// condition holds or its deadline passes. One read is always outstanding once connected, so
// bytes that arrive while the caller sends or waits for something else are decoded into the
// ordered inbox and never lost; between calls the context simply sits still. That is what lets
// a single test thread hold hundreds of connections without threads or callbacks of its own.
//
// The WebSocket client side (upgrade, masking, ping/pong, close) is done by hand on top of
// codec/websocket, the same framing the server uses, so the client exercises the server's
// framing rather than a second implementation of it.
#include "load-test/client.hpp"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "codec/envelope.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "load-test/client_error.hpp"
#include "load-test/ws_handshake.hpp"

namespace lp::client {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace ws = codec::ws;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

// Large enough for a max_body frame in a binary message, or its JSON envelope (a payload that is
// not JSON grows by a third as payloadB64, plus the envelope's own text).
std::size_t ws_message_limit(std::uint32_t max_body) {
    return codec::kHeaderSize + std::size_t(max_body) * 2 + 4096;
}

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kMaxUpgradeResponse = 16 * 1024;

}  // namespace

bool Frame::parse(google::protobuf::Message& msg) const {
    return codec::parse_body(body, json(), msg);
}

struct Connection::Impl {
    explicit Impl(Options o)
        : opts(std::move(o)),
          tcp_decoder(opts.max_body),
          ws_decoder(ws::FrameDecoder::Role::Client, ws_message_limit(opts.max_body)),
          mask_rng(std::random_device{}()) {}

    Options opts;
    asio::io_context ioc{1};  // first member: destroyed last, after the sockets
    std::optional<ssl::context> tls_context;
    std::optional<tcp::socket> plain;
    std::optional<ssl::stream<tcp::socket>> tls;

    codec::StreamDecoder tcp_decoder;
    ws::FrameDecoder ws_decoder;
    std::deque<Frame> inbox;
    std::vector<std::uint8_t> read_buffer = std::vector<std::uint8_t>(kReadChunk);

    std::string write_queue;  // bytes waiting for the write in progress to finish
    std::string writing;      // bytes of the write in progress
    bool write_in_progress = false;
    bool close_after_write = false;  // we answered a server close: drop the socket once sent

    bool open = false;
    std::error_code error;
    std::uint32_t next_seq = 1;
    // Handlers of a previous connect() (aborted reads after close) must not touch this one.
    std::uint64_t generation = 0;
    std::mt19937 mask_rng;

    bool is_ws() const { return opts.transport == Transport::Ws; }
    Clock::time_point deadline_after(std::optional<std::chrono::milliseconds> t) const {
        return Clock::now() + t.value_or(opts.timeout);
    }

    tcp::socket& socket() { return tls ? tls->next_layer() : *plain; }
    bool has_socket() const { return tls.has_value() || plain.has_value(); }

    template <class F>
    void with_stream(F&& f) {
        if (tls)
            f(*tls);
        else
            f(*plain);
    }

    // Runs the context until done() or the deadline. Bounded by the deadline; returns early
    // (false) when no work is left that could make done() true.
    template <class Done>
    bool run_until(const Done& done, Clock::time_point deadline) {
        for (;;) {
            if (done()) return true;
            if (Clock::now() >= deadline) return false;
            if (ioc.stopped()) ioc.restart();
            if (ioc.run_one_until(deadline) == 0 && ioc.stopped()) return done();
        }
    }

    // Starts one asynchronous operation and waits for it. On timeout the socket is closed,
    // which aborts the operation; its handler still runs (quickly) before we return.
    template <class Start>
    error_code run_op(Start&& start, Clock::time_point deadline) {
        std::optional<error_code> result;
        start([&result](const error_code& ec, auto&&...) { result = ec; });
        if (run_until([&] { return result.has_value(); }, deadline)) return *result;
        error_code ignored;
        socket().close(ignored);
        run_until([&] { return result.has_value(); }, Clock::now() + std::chrono::seconds(1));
        return asio::error::timed_out;
    }

    void drop_socket() {
        if (!has_socket()) return;
        error_code ignored;
        socket().close(ignored);
    }

    void mark_closed(std::error_code why) {
        if (open && !error) error = why;
        open = false;
        drop_socket();
    }

    std::error_code connect() {
        drop_socket();
        ++generation;
        // Aborted handlers of the previous socket run now, harmlessly, before it is replaced.
        if (ioc.stopped()) ioc.restart();
        ioc.poll();
        inbox.clear();
        write_queue.clear();
        writing.clear();
        write_in_progress = close_after_write = false;
        tcp_decoder = codec::StreamDecoder(opts.max_body);
        ws_decoder =
            ws::FrameDecoder(ws::FrameDecoder::Role::Client, ws_message_limit(opts.max_body));
        open = false;
        error.clear();

        Clock::time_point deadline = deadline_after(std::nullopt);
        error_code ec = connect_socket(deadline);
        if (!ec && opts.tls) ec = tls_handshake(deadline);
        std::string leftover;
        if (!ec && is_ws()) {
            std::error_code upgrade = websocket_upgrade(deadline, leftover);
            if (upgrade) return fail_connect(upgrade);
        }
        if (ec) return fail_connect(ec);
        open = true;
        if (!leftover.empty()) {
            consume(reinterpret_cast<std::uint8_t*>(leftover.data()), leftover.size());
        }
        if (open) start_read();
        return {};
    }

    std::error_code fail_connect(std::error_code ec) {
        drop_socket();
        error = ec;
        return ec;
    }

    error_code connect_socket(Clock::time_point deadline) {
        tcp::resolver resolver(ioc);
        error_code ec;
        auto endpoints = resolver.resolve(opts.host, std::to_string(opts.port),
                                          tcp::resolver::numeric_service, ec);
        if (ec) return ec;
        asio::ip::address bind_address;
        if (!opts.bind_address.empty()) {
            bind_address = asio::ip::make_address(opts.bind_address, ec);
            if (ec) return ec;
        }
        if (opts.tls && !tls_context) {
            ec = make_tls_context();
            if (ec) return ec;
        }
        ec = asio::error::host_not_found;
        // Bounded by the resolver's answer (a handful of addresses for one host name).
        for (const auto& entry : endpoints) {
            tcp::endpoint endpoint = entry.endpoint();
            if (!opts.bind_address.empty() && endpoint.address().is_v4() != bind_address.is_v4()) {
                continue;
            }
            plain.reset();
            tls.reset();
            if (opts.tls)
                tls.emplace(ioc, *tls_context);
            else
                plain.emplace(ioc);
            socket().open(endpoint.protocol(), ec);
            if (ec) continue;
            if (!opts.bind_address.empty()) {
                socket().bind(tcp::endpoint(bind_address, 0), ec);
                if (ec) continue;
            }
            ec = run_op([&](auto handler) { socket().async_connect(endpoint, std::move(handler)); },
                        deadline);
            if (!ec) break;
            if (ec == asio::error::timed_out) break;
        }
        if (ec) return ec;
        socket().set_option(tcp::no_delay(true), ec);
        return {};
    }

    error_code make_tls_context() {
        error_code ec;
        tls_context.emplace(ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
        if (opts.ca_file.empty()) {
            tls_context->set_verify_mode(ssl::verify_none, ec);
        } else {
            tls_context->load_verify_file(opts.ca_file, ec);
            if (!ec) tls_context->set_verify_mode(ssl::verify_peer, ec);
        }
        return ec;
    }

    error_code tls_handshake(Clock::time_point deadline) {
        // SNI carries host names only (RFC 6066 3); an IP literal is never sent as SNI.
        if (!is_ip_literal(opts.host)) {
            SSL_set_tlsext_host_name(tls->native_handle(), opts.host.c_str());
        }
        if (!opts.ca_file.empty()) tls->set_verify_callback(ssl::host_name_verification(opts.host));
        return run_op(
            [&](auto handler) {
                tls->async_handshake(ssl::stream_base::client, std::move(handler));
            },
            deadline);
    }

    // Writes the GET upgrade and reads the response head; bytes the server sent after the head
    // (WebSocket frames already) are returned in leftover.
    std::error_code websocket_upgrade(Clock::time_point deadline, std::string& leftover) {
        std::array<std::uint8_t, 16> nonce{};
        if (RAND_bytes(nonce.data(), int(nonce.size())) != 1) {
            for (auto& b : nonce) b = static_cast<std::uint8_t>(mask_rng());
        }
        std::string key = websocket_key(nonce.data());
        std::string request = websocket_upgrade_request(opts.host, opts.port, opts.ws_path, key);
        error_code ec = run_op(
            [&](auto handler) {
                with_stream([&](auto& s) {
                    asio::async_write(s, asio::buffer(request), std::move(handler));
                });
            },
            deadline);
        if (ec) return ec;
        std::string response;
        ec = run_op(
            [&](auto handler) {
                with_stream([&](auto& s) {
                    asio::async_read_until(s, asio::dynamic_buffer(response, kMaxUpgradeResponse),
                                           "\r\n\r\n", std::move(handler));
                });
            },
            deadline);
        if (ec) return ec;
        std::size_t head_end = http_head_end(response);
        if (head_end == std::string::npos) return make_error(ClientError::UpgradeRejected);
        if (check_upgrade_response(std::string_view(response).substr(0, head_end), key) !=
            UpgradeError::None) {
            return make_error(ClientError::UpgradeRejected);
        }
        leftover = response.substr(head_end);
        return {};
    }

    void start_read() {
        std::uint64_t gen = generation;
        with_stream([&](auto& s) {
            s.async_read_some(asio::buffer(read_buffer),
                              [this, gen](const error_code& ec, std::size_t n) {
                                  if (gen != generation || !open) return;
                                  if (ec) {
                                      mark_closed(ec);
                                      return;
                                  }
                                  consume(read_buffer.data(), n);
                                  if (open) start_read();
                              });
        });
    }

    // Decodes received bytes into the inbox. Closes the connection on a protocol error.
    void consume(std::uint8_t* data, std::size_t n) {
        if (!is_ws()) {
            codec::DecodeError err = tcp_decoder.feed(data, n, [this](const codec::FrameView& fv) {
                push_frame(fv, false);
                return true;
            });
            if (err != codec::DecodeError::None) mark_closed(make_error(ClientError::BadFrame));
            return;
        }
        ws::WsError err =
            ws_decoder.feed(data, n, [this](const ws::Message& msg) { return on_ws_message(msg); });
        if (err != ws::WsError::None && open) mark_closed(make_error(ClientError::BadWebSocket));
    }

    void push_frame(const codec::FrameView& fv, bool text) {
        Frame f;
        f.header = fv.header;
        f.body.assign(fv.body);
        f.text = text;
        inbox.push_back(std::move(f));
    }

    bool on_ws_message(const ws::Message& msg) {
        switch (msg.opcode) {
            case ws::Opcode::Binary: {
                codec::FrameView fv;
                if (codec::decode_one(msg.payload, opts.max_body, fv) != codec::DecodeError::None) {
                    mark_closed(make_error(ClientError::BadFrame));
                    return false;
                }
                push_frame(fv, false);
                return true;
            }
            case ws::Opcode::Text: {
                codec::Envelope env;
                if (codec::decode_envelope(msg.payload, env) != codec::EnvelopeError::None) {
                    mark_closed(make_error(ClientError::BadEnvelope));
                    return false;
                }
                Frame f;
                f.header.code = env.code;
                f.header.seq = env.seq;
                f.header.flags = codec::kJsonBody | env.flags;
                f.header.body_len = static_cast<std::uint32_t>(env.body_json.size());
                f.body = std::move(env.body_json);
                f.text = true;
                inbox.push_back(std::move(f));
                return true;
            }
            case ws::Opcode::Ping:
                queue_ws(ws::Opcode::Pong, msg.payload);
                return true;
            case ws::Opcode::Close: {
                // Echo the status (RFC 6455 5.5.1), then drop the socket once that is written.
                queue_ws(ws::Opcode::Close,
                         msg.payload.substr(0, std::min<std::size_t>(2, msg.payload.size())));
                if (!error) error = make_error(ClientError::ClosedByServer);
                open = false;
                close_after_write = true;
                if (!write_in_progress) drop_socket();
                return false;
            }
            default:
                return true;  // Pong: nothing to do
        }
    }

    std::string masked(ws::Opcode op, std::string_view payload) {
        std::uint32_t key_bits = mask_rng();
        std::uint8_t key[4];
        std::memcpy(key, &key_bits, 4);
        return ws::encode_masked_frame(op, payload, key);
    }

    // Queues bytes and starts writing; does not wait (used from inside read handlers).
    void queue_bytes(std::string_view bytes) {
        write_queue.append(bytes);
        if (!write_in_progress) start_write();
    }
    void queue_ws(ws::Opcode op, std::string_view payload) { queue_bytes(masked(op, payload)); }

    void start_write() {
        if (write_queue.empty() || !has_socket()) return;
        writing.swap(write_queue);
        write_queue.clear();
        write_in_progress = true;
        std::uint64_t gen = generation;
        with_stream([&](auto& s) {
            asio::async_write(s, asio::buffer(writing),
                              [this, gen](const error_code& ec, std::size_t) {
                                  if (gen != generation) return;
                                  write_in_progress = false;
                                  writing.clear();
                                  if (ec) {
                                      mark_closed(ec);
                                      return;
                                  }
                                  if (!write_queue.empty()) {
                                      start_write();
                                  } else if (close_after_write) {
                                      drop_socket();
                                  }
                              });
        });
    }

    // Queues bytes and waits until everything queued is written (or the timeout closes us).
    void write_and_wait(std::string_view bytes) {
        if (!open) {
            if (!error) error = make_error(ClientError::NotConnected);
            return;
        }
        queue_bytes(bytes);
        bool flushed =
            run_until([&] { return !write_in_progress || !open; }, deadline_after(std::nullopt));
        if (!flushed) mark_closed(std::make_error_code(std::errc::timed_out));
    }

    std::uint32_t take_seq() {
        std::uint32_t seq = next_seq++;
        if (next_seq == 0) next_seq = 1;  // 0 is reserved for server pushes
        return seq;
    }

    std::uint32_t send(codec::Code code, const google::protobuf::Message& body, std::uint32_t seq,
                       std::uint8_t extra_flags) {
        if (seq == 0) seq = take_seq();
        bool json = opts.json_body || opts.ws_text;
        std::string payload = codec::serialize_body(body, json);
        if (is_ws() && opts.ws_text) {
            // Flags other than JSON_BODY travel as the envelope's "flags" member.
            write_and_wait(
                masked(ws::Opcode::Text, codec::encode_envelope(static_cast<std::uint16_t>(code),
                                                                seq, payload, extra_flags)));
            return seq;
        }
        std::uint8_t flags = extra_flags | (json ? codec::kJsonBody : 0);
        std::string frame = codec::encode_frame(code, seq, flags, payload);
        write_and_wait(is_ws() ? masked(ws::Opcode::Binary, frame) : frame);
        return seq;
    }

    // Index in the inbox of the first frame matching pred, waiting for new frames until the
    // deadline. nullopt on timeout or once the connection is closed and nothing matched.
    template <class Pred>
    std::optional<std::size_t> find_or_wait(const Pred& pred, Clock::time_point deadline) {
        std::size_t scanned = 0;
        for (;;) {
            for (; scanned < inbox.size(); ++scanned) {
                if (pred(inbox[scanned])) return scanned;
            }
            if (!open) return std::nullopt;
            std::size_t known = inbox.size();
            if (!run_until([&] { return inbox.size() > known || !open; }, deadline)) {
                if (inbox.size() == known) return std::nullopt;
            }
        }
    }

    Frame take(std::size_t index) {
        Frame f = std::move(inbox[index]);
        inbox.erase(inbox.begin() + static_cast<std::ptrdiff_t>(index));
        return f;
    }

    // Sends a request and waits for its reply (same seq). An ERROR frame that answers it (same
    // seq, or seq 0 as servers send before closing) ends the wait with nullopt and stays queued
    // for the caller to inspect.
    std::optional<livepush::v1::Result> request(codec::Code code,
                                                const google::protobuf::Message& body,
                                                codec::Code reply_code) {
        Clock::time_point deadline = deadline_after(std::nullopt);
        std::uint32_t seq = send(code, body, 0, 0);
        auto index = find_or_wait(
            [&](const Frame& f) {
                if (f.code() == reply_code && f.header.seq == seq) return true;
                return f.code() == codec::Code::Error && (f.header.seq == seq || f.header.seq == 0);
            },
            deadline);
        if (!index || inbox[*index].code() == codec::Code::Error) return std::nullopt;
        Frame reply = take(*index);
        livepush::v1::Result result;
        if (!reply.parse(result)) return std::nullopt;
        return result;
    }
};

Connection::Connection(Options opts) : impl_(std::make_unique<Impl>(std::move(opts))) {}
Connection::~Connection() = default;

std::error_code Connection::connect() {
    return impl_->connect();
}
bool Connection::is_open() const {
    return impl_->open;
}

void Connection::close() {
    impl_->open = false;
    impl_->drop_socket();
}

std::uint32_t Connection::send(codec::Code code, const google::protobuf::Message& body,
                               std::uint32_t seq, std::uint8_t extra_flags) {
    return impl_->send(code, body, seq, extra_flags);
}

void Connection::send_raw(std::string_view bytes) {
    impl_->write_and_wait(bytes);
}

void Connection::send_ws_message(std::uint8_t opcode, std::string_view payload) {
    impl_->write_and_wait(impl_->masked(static_cast<codec::ws::Opcode>(opcode), payload));
}

std::optional<Frame> Connection::recv(std::optional<std::chrono::milliseconds> timeout) {
    return wait_for([](const Frame&) { return true; }, timeout);
}

std::optional<Frame> Connection::wait_for(const std::function<bool(const Frame&)>& pred,
                                          std::optional<std::chrono::milliseconds> timeout) {
    auto index = impl_->find_or_wait(pred, impl_->deadline_after(timeout));
    if (!index) return std::nullopt;
    return impl_->take(*index);
}

std::optional<Frame> Connection::wait_code(codec::Code code,
                                           std::optional<std::chrono::milliseconds> t) {
    return wait_for([code](const Frame& f) { return f.code() == code; }, t);
}

bool Connection::wait_closed(std::optional<std::chrono::milliseconds> timeout) {
    return impl_->run_until([this] { return !impl_->open; }, impl_->deadline_after(timeout));
}

std::error_code Connection::last_error() const {
    return impl_->error;
}

std::optional<livepush::v1::Result> Connection::login(const std::string& token,
                                                      const std::string& platform,
                                                      const std::string& device_id,
                                                      const livepush::v1::RoomResume* resume) {
    livepush::v1::LoginReq req;
    req.set_token(token);
    req.set_platform(platform);
    req.set_device_id(device_id);
    if (resume) *req.mutable_resume() = *resume;
    return impl_->request(codec::Code::Login, req, codec::Code::LoginResult);
}

std::optional<livepush::v1::Result> Connection::heartbeat() {
    return impl_->request(codec::Code::Heartbeat, livepush::v1::HeartbeatReq{}, codec::Code::Pong);
}

std::optional<livepush::v1::Result> Connection::biz(const std::string& type,
                                                    const std::string& json_data) {
    livepush::v1::BizReq req;
    req.set_type(type);
    req.set_data(json_data);
    return impl_->request(codec::Code::Biz, req, codec::Code::BizResult);
}

std::optional<livepush::v1::Result> Connection::logout() {
    return impl_->request(codec::Code::Logout, livepush::v1::LogoutReq{},
                          codec::Code::LogoutResult);
}

void Connection::ack(const std::vector<std::uint64_t>& msg_ids) {
    livepush::v1::Ack req;
    for (std::uint64_t id : msg_ids) req.add_msg_ids(id);
    impl_->send(codec::Code::Ack, req, 0, 0);
}

std::optional<livepush::v1::Push> Connection::next_push(
    std::optional<std::chrono::milliseconds> timeout) {
    auto frame = wait_code(codec::Code::Push, timeout);
    if (!frame) return std::nullopt;
    livepush::v1::Push push;
    if (!frame->parse(push)) return std::nullopt;
    return push;
}

}  // namespace lp::client
