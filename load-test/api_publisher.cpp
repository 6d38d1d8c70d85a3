// load-test/api_publisher: see api_publisher.hpp. The only Beast translation unit of
// livepush-load (the receiving side speaks the livepush wire format in load_shard.cpp).
//
// Each connection runs a small cycle on the publisher's one thread: take the next request index,
// wait for its due time if it is still ahead, write it, read the answer, repeat. Requests and
// answers reuse each connection's message objects; this side allocates per request (Beast's
// parser, the answer's body) but it is one client making a few thousand requests a second, not
// the thousands of receivers the load tool is built around.
#include "load-test/api_publisher.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "load-test/clocks.hpp"

namespace lp::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::uint32_t kMaxReconnects = 3;  // per connection, then it is given up
constexpr std::size_t kMaxErrorText = 300;

// The unsigned number after `"key":` in a flat JSON object (quoted or not); 0 when absent.
std::uint64_t json_number(std::string_view body, std::string_view key) {
    std::size_t at = body.find(key);
    if (at == std::string_view::npos) return 0;
    std::size_t i = at + key.size();
    // Bounded by the body's length.
    while (i < body.size() && (body[i] == ' ' || body[i] == ':' || body[i] == '"')) ++i;
    std::uint64_t v = 0;
    for (; i < body.size() && body[i] >= '0' && body[i] <= '9'; ++i) {
        v = v * 10 + std::uint64_t(body[i] - '0');
    }
    return v;
}

struct ApiConnection {
    explicit ApiConnection(asio::io_context& ioc) : stream(ioc), pace(ioc) {}

    beast::tcp_stream stream;
    asio::steady_timer pace;  // waits for the next request's due time
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    std::uint64_t target_index = 0;  // room or user index of the request in flight
    std::int64_t sent_ns = 0;
    std::uint32_t reconnects = 0;
    bool open = false;
    bool done = false;  // no more requests for this connection
};

}  // namespace

struct ApiPublisher::Impl {
    explicit Impl(PublisherOptions o) : opts(std::move(o)), work(ioc.get_executor()) {
        tcp::resolver resolver(ioc);
        error_code ec;
        auto found = resolver.resolve(opts.host, std::to_string(opts.port),
                                      tcp::resolver::numeric_service, ec);
        if (ec || found.empty()) {
            throw std::runtime_error("cannot resolve API address " + opts.host + ": " +
                                     ec.message());
        }
        target = found.begin()->endpoint();
        total = opts.requests != 0
                    ? opts.requests
                    : static_cast<std::uint64_t>(std::floor(opts.rate * opts.duration_s));
        interval_ns = 1e9 / opts.rate;
        payload.assign(std::max<std::uint32_t>(2, opts.payload_bytes), 'x');
        payload.front() = '"';
        payload.back() = '"';
        host_header = opts.host + ":" + std::to_string(opts.port);
        if (opts.target == PublishTarget::Room) {
            results.accepted_per_room.assign(opts.rooms, 0);
        } else if (opts.target == PublishTarget::User) {
            results.accepted_ids.reserve(total);
        }
        for (std::uint32_t i = 0; i < opts.connections; ++i) {
            conns.push_back(std::make_unique<ApiConnection>(ioc));
            prepare_request(*conns.back());
        }
    }

    PublisherOptions opts;
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work;
    std::thread thread;
    tcp::endpoint target;
    std::vector<std::unique_ptr<ApiConnection>> conns;
    std::string payload;
    std::string host_header;
    std::uint64_t total = 0;  // requests in the whole window: rate × duration
    double interval_ns = 0;
    std::uint64_t next_index = 0;
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
    std::uint64_t random_state = 0x2545F4914F6CDD1Dull;
    bool stopping = false;
    PublisherResults results;

    std::atomic<std::uint32_t> connects_settled{0};
    std::atomic<std::uint32_t> connected{0};
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> sessions{0};
    std::atomic<bool> finished{false};

    void prepare_request(ApiConnection& c) {
        c.request.method(http::verb::post);
        c.request.target(opts.target == PublishTarget::Room   ? "/v1/push/room"
                         : opts.target == PublishTarget::User ? "/v1/push/user"
                                                              : opts.path);
        c.request.version(11);
        c.request.keep_alive(true);
        c.request.set(http::field::host, host_header);
        c.request.set(http::field::content_type, "application/json");
        if (!opts.api_key.empty()) {
            c.request.set(http::field::authorization, "Bearer " + opts.api_key);
        }
    }

    // --- connecting -----------------------------------------------------------------------

    void open(ApiConnection& c, bool first_time) {
        c.stream.expires_after(std::chrono::milliseconds(opts.connect_timeout_ms));
        c.stream.async_connect(target, [this, &c, first_time](const error_code& ec) {
            if (!ec) {
                c.open = true;
                c.stream.socket().set_option(tcp::no_delay(true));
            } else {
                note_error("connect: " + ec.message());
            }
            if (first_time) {
                if (!ec) connected.fetch_add(1, std::memory_order_relaxed);
                connects_settled.fetch_add(1, std::memory_order_release);
                return;
            }
            if (ec) {
                give_up(c);
                return;
            }
            next(c);
        });
    }

    // --- publishing -----------------------------------------------------------------------

    void on_start() {
        start_ns = steady_ns();
        end_ns = start_ns + static_cast<std::int64_t>(opts.duration_s * 1e9);
        for (auto& c : conns) {
            if (c->open)
                next(*c);
            else
                c->done = true;
        }
        check_finished();
    }

    // Takes the next request off the schedule, now or at its due time.
    void next(ApiConnection& c) {
        std::int64_t now = steady_ns();
        if (stopping || next_index >= total || now >= end_ns) {
            c.done = true;
            check_finished();
            return;
        }
        std::uint64_t index = next_index++;
        std::int64_t due = start_ns + static_cast<std::int64_t>(double(index) * interval_ns);
        if (due <= now) {
            send(c, index);
            return;
        }
        c.pace.expires_at(asio::steady_timer::time_point(std::chrono::nanoseconds(due)));
        c.pace.async_wait([this, &c, index](const error_code& ec) {
            if (ec || stopping) {
                c.done = true;
                check_finished();
                return;
            }
            send(c, index);
        });
    }

    std::uint64_t next_random() {
        // xorshift64: the choice of user needs to be spread, not unpredictable.
        random_state ^= random_state << 13;
        random_state ^= random_state >> 7;
        random_state ^= random_state << 17;
        return random_state;
    }

    // {"KEY":ID,"type":"...","payload":...END: a room or user push request's body, appended to
    // the connection's reused request body.
    void write_push_body(std::string& body, std::string_view key, std::uint64_t id,
                         std::string_view end) const {
        body += "{\"";
        body += key;
        body += "\":";
        body += std::to_string(id);
        body += ",\"type\":\"";
        body += opts.push_type;
        body += "\",\"payload\":";
        body += payload;
        body += end;
    }

    void send(ApiConnection& c, std::uint64_t index) {
        std::string& body = c.request.body();
        body.clear();
        if (opts.target == PublishTarget::Custom) {
            c.target_index = index;
            opts.write_body(index, body);
        } else if (opts.target == PublishTarget::Room) {
            c.target_index = index % opts.rooms;
            write_push_body(body, "room_id", opts.room_base + c.target_index, "}");
        } else {
            c.target_index = opts.random_users ? next_random() % opts.users : index % opts.users;
            write_push_body(body, "user_id", opts.user_base + c.target_index, ",\"qos\":1}");
        }
        c.request.prepare_payload();
        c.sent_ns = steady_ns();
        results.window_ns = c.sent_ns - start_ns;
        ++results.sent;
        sent.store(results.sent, std::memory_order_relaxed);
        c.stream.expires_after(std::chrono::milliseconds(opts.request_timeout_ms));
        http::async_write(c.stream, c.request, [this, &c](const error_code& ec, std::size_t) {
            if (ec) return on_transport_error(c, ec);
            c.response = {};
            http::async_read(c.stream, c.buffer, c.response,
                             [this, &c](const error_code& ec, std::size_t) {
                                 if (ec) return on_transport_error(c, ec);
                                 on_answer(c);
                             });
        });
    }

    void on_answer(ApiConnection& c) {
        std::int64_t now = steady_ns();
        results.request_latency.record(static_cast<std::uint64_t>(now - c.sent_ns));
        results.last_answer_ns = now - start_ns;
        int status = static_cast<int>(c.response.result_int());
        ++results.statuses[status];
        std::string_view body = c.response.body();
        if (status >= 200 && status < 300) {
            ++results.accepted;
            accepted.store(results.accepted, std::memory_order_relaxed);
            std::uint64_t reached = json_number(body, "\"sessions\"");
            results.sessions += reached;
            sessions.store(results.sessions, std::memory_order_relaxed);
            if (opts.target == PublishTarget::Room) {
                ++results.accepted_per_room[c.target_index];
            } else if (opts.target == PublishTarget::User) {
                results.stored += json_number(body, "\"stored\"");
                results.accepted_ids.push_back(AcceptedPush{
                    json_number(body, "\"msg_id\""), static_cast<std::uint32_t>(c.target_index),
                    static_cast<std::uint32_t>(reached)});
            }
        } else {
            ++results.rejected;
            note_error("HTTP " + std::to_string(status) + ": " + std::string(body));
        }
        if (!c.response.keep_alive()) return reopen(c);
        next(c);
    }

    void on_transport_error(ApiConnection& c, const error_code& ec) {
        ++results.failed;
        results.last_answer_ns = steady_ns() - start_ns;
        note_error(ec == beast::error::timeout ? "request timeout" : "transport: " + ec.message());
        reopen(c);
    }

    void reopen(ApiConnection& c) {
        error_code ignored;
        c.stream.socket().close(ignored);
        c.open = false;
        c.buffer.clear();
        if (stopping || c.reconnects >= kMaxReconnects) return give_up(c);
        ++c.reconnects;
        ++results.reconnects;
        open(c, false);
    }

    void give_up(ApiConnection& c) {
        c.done = true;
        check_finished();
    }

    void note_error(std::string text) {
        if (!results.first_error.empty()) return;
        if (text.size() > kMaxErrorText) text.resize(kMaxErrorText);
        results.first_error = std::move(text);
    }

    void check_finished() {
        bool all_done =
            std::all_of(conns.begin(), conns.end(), [](const auto& c) { return c->done; });
        if (!all_done || finished.load(std::memory_order_relaxed)) return;
        settle_due();
        finished.store(true, std::memory_order_release);
    }

    // Whatever fell due by now (or by the window's end) and was never sent is the shortfall.
    void settle_due() {
        if (start_ns == 0) return;  // never started
        std::int64_t until = std::min(steady_ns(), end_ns) - start_ns;
        results.due = std::min<std::uint64_t>(
            total,
            static_cast<std::uint64_t>(std::max<double>(0, double(until) / interval_ns)) + 1);
        results.due = std::max(results.due, results.sent);
    }

    void on_stop() {
        stopping = true;
        if (!finished.load(std::memory_order_relaxed)) settle_due();
        error_code ignored;
        for (auto& c : conns) {
            c->pace.cancel();
            c->stream.socket().close(ignored);
        }
        work.reset();
    }
};

ApiPublisher::ApiPublisher(PublisherOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ApiPublisher::~ApiPublisher() {
    stop();
}

std::uint32_t ApiPublisher::connect() {
    Impl& i = *impl_;
    if (!i.thread.joinable()) i.thread = std::thread([&i] { i.ioc.run(); });
    for (auto& c : i.conns) {
        asio::post(i.ioc, [&i, c = c.get()] { i.open(*c, true); });
    }
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(i.opts.connect_timeout_ms + 1000);
    // Bounded by the connect timeout (each connect also has its own).
    while (i.connects_settled.load(std::memory_order_acquire) < i.conns.size() &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    i.results.connected = i.connected.load(std::memory_order_relaxed);
    return i.results.connected;
}

void ApiPublisher::start() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start(); });
}

bool ApiPublisher::finished() const noexcept {
    return impl_->finished.load(std::memory_order_acquire);
}
std::uint64_t ApiPublisher::sent() const noexcept {
    return impl_->sent.load(std::memory_order_relaxed);
}
std::uint64_t ApiPublisher::accepted() const noexcept {
    return impl_->accepted.load(std::memory_order_relaxed);
}
std::uint64_t ApiPublisher::sessions() const noexcept {
    return impl_->sessions.load(std::memory_order_relaxed);
}

void ApiPublisher::stop() {
    Impl& i = *impl_;
    if (!i.thread.joinable()) return;
    asio::post(i.ioc, [p = impl_.get()] { p->on_stop(); });
    i.thread.join();
}

const PublisherResults& ApiPublisher::results() const noexcept {
    return impl_->results;
}

namespace {
HttpAnswer http_exchange(const std::string& host, std::uint16_t port, const std::string& api_key,
                         const std::string& method, const std::string& target, std::string body,
                         std::uint32_t timeout_ms);
}  // namespace

HttpAnswer http_call(const std::string& host, std::uint16_t port, const std::string& api_key,
                     const std::string& method, const std::string& target, std::string body,
                     std::uint32_t timeout_ms) {
    HttpAnswer answer;
    // Asio throws where it needs a descriptor and finds none (all of them held by sessions):
    // an answer with an error, not the end of the run.
    try {
        return http_exchange(host, port, api_key, method, target, std::move(body), timeout_ms);
    } catch (const std::exception& e) {
        answer.error = e.what();
        return answer;
    }
}

namespace {

HttpAnswer http_exchange(const std::string& host, std::uint16_t port, const std::string& api_key,
                         const std::string& method, const std::string& target, std::string body,
                         std::uint32_t timeout_ms) {
    HttpAnswer answer;
    asio::io_context ioc{1};
    tcp::resolver resolver(ioc);
    error_code ec;
    auto found = resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
        answer.error = "cannot resolve " + host + ": " + ec.message();
        return answer;
    }
    beast::tcp_stream stream(ioc);
    beast::flat_buffer buffer;
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, host + ":" + std::to_string(port));
    request.set(http::field::content_type, "application/json");
    if (!api_key.empty()) request.set(http::field::authorization, "Bearer " + api_key);
    request.body() = std::move(body);
    request.prepare_payload();
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);  // a /metrics page or a feed listing, never unbounded
    // One deadline for the whole exchange; the io_context runs until it ends either way.
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    stream.async_connect(found.begin()->endpoint(), [&](const error_code& ec) {
        if (ec) {
            answer.error = "connect: " + ec.message();
            return;
        }
        http::async_write(stream, request, [&](const error_code& ec, std::size_t) {
            if (ec) {
                answer.error = "write: " + ec.message();
                return;
            }
            http::async_read(stream, buffer, parser, [&](const error_code& ec, std::size_t) {
                if (ec) {
                    answer.error =
                        ec == beast::error::timeout ? "timeout" : "read: " + ec.message();
                    return;
                }
                answer.status = static_cast<int>(parser.get().result_int());
                answer.body = std::move(parser.get().body());
            });
        });
    });
    ioc.run();
    return answer;
}

}  // namespace

}  // namespace lp::load
