// push/http_server: see http_server.hpp. The only Beast translation unit of push/ that holds
// sockets.
//
// Shape: one acceptor and its connections on an io_context of their own, run by
// ConnectionOptions::threads threads; every connection, and the acceptor, sits on a strand of its
// own. A connection reads one request at a time, header first, and has the routes judge the
// header before it reads any body: a missing or bad key is a 401 and a Content-Length over the
// limit a 413, and the connection closes without the body having been read (so an
// unauthenticated caller cannot make the node read or wait for megabytes); `Expect:
// 100-continue` is honoured. It then answers and reads the next request: keep-alive, and
// pipelined requests are answered in order because the bytes after one request stay in the
// connection's buffer for the next parse.
// Deadlines: a request header must be complete within header_timeout_ms (from the accept, or
// from the first byte of a later request); a kept-alive connection may wait idle_timeout_ms for
// its next request. At max_connections the longest-idle connection makes room for a new one
// (ConnectionRegistry, connection_registry.hpp).
//
// Pushes run right on the API thread: the backend is thread-safe and fast, and a hop to
// another thread per push would cost more than the push.
//
// Every limit is explicit and counted in ApiMetrics (body 413, header deadline, connections;
// the routes count key 401, declared body 413 and rate 429); header 431 and unreadable
// requests are answered through ApiRoutes::answer_unreadable, which counts them by route.
#include "push/http_server.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "codec/address.hpp"
#include "push/connection_registry.hpp"

namespace lp::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The same header limit as the WebSocket upgrade (architecture.md): no caller needs more.
constexpr std::uint32_t kHeaderLimitBytes = 8 * 1024;
// After an answer that closes the connection, unread bytes are drained this long so that the
// peer reads the answer instead of a reset (the body of a refused 413 is still arriving).
constexpr auto kLingerTime = std::chrono::milliseconds(500);
// How long stop() lets connections finish closing before it stops the io_context outright.
constexpr auto kStopGrace = std::chrono::seconds(2);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::optional<std::string_view> header_value(const http::request_header<>& h, http::field f) {
    const auto it = h.find(f);
    if (it == h.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
}

// What the routes see of a request header: views into `h`, valid while it lives. No body.
ApiRequest parsed(const http::request_header<>& h) {
    ApiRequest r;
    r.method = std::string_view(h.method_string().data(), h.method_string().size());
    r.target = std::string_view(h.target().data(), h.target().size());
    r.authorization = header_value(h, http::field::authorization);
    r.content_type = header_value(h, http::field::content_type);
    r.if_none_match = header_value(h, http::field::if_none_match);
    return r;
}

// The routes' answer on the wire, counted under its route pattern and status from `started` (its
// header read). The version and keep-alive are the connection's to decide.
Response to_beast(ApiResponse in, unsigned version, bool keep_alive, ApiMetrics& metrics,
                  Clock::time_point started) {
    Response res{static_cast<http::status>(in.status), version};
    try {
        res.set(http::field::content_type, in.content_type);
        res.body() = std::move(in.body);
        for (const auto& [name, value] : in.headers) res.set(name, value);
        res.keep_alive(keep_alive);
        res.set(http::field::server, "livepush");
        if (in.head_length)
            res.content_length(*in.head_length);  // HEAD: the GET's length, no body
        else if (in.status != 304)
            res.prepare_payload();
        metrics.record(in.route, res.result_int(), Clock::now() - started);
    } catch (...) {
        // Out of memory for a header: answer anyway, as plainly as possible.
        res.keep_alive(false);
    }
    return res;
}

class ApiConnection;
using ApiConnections = ConnectionRegistry<ApiConnection>;

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// One API connection: reads a request header (within header_timeout_ms), judges it (key,
// declared length) before reading any body, reads the body (bounded by max_body_bytes),
// answers, and waits for the next request (at most idle_timeout_ms).
class ApiConnection : public std::enable_shared_from_this<ApiConnection> {
public:
    ApiConnection(tcp::socket socket, ApiRoutes& routes, ApiMetrics& metrics,
                  ApiConnections& registry, const ConnectionOptions& options)
        : stream_(std::move(socket)),
          routes_(routes),
          metrics_(metrics),
          registry_(registry),
          options_(options) {
        metrics_.connection_opened();
    }
    ~ApiConnection() {
        registry_.remove(this);
        metrics_.connection_closed();
    }

    void start() {
        beast::error_code ec;
        stream_.socket().set_option(tcp::no_delay(true), ec);
        asio::dispatch(stream_.get_executor(),
                       [self = shared_from_this()] { self->read_header(); });
    }

    // From any thread.
    void close() {
        asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
    }

private:
    using Millis = std::chrono::milliseconds;

    // Between requests of a kept-alive connection the wait for the next one is bounded by the
    // idle deadline; once a request's first byte is here (or on a new connection, from the
    // accept) its header must be complete within the header deadline.
    void read_header() {
        registry_.set_idle(this, true);
        if (served_ > 0 && buffer_.size() == 0) return wait_for_next_request();
        read_header_bytes();
    }

    void wait_for_next_request() {
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        stream_.async_read_some(
            buffer_.prepare(kFirstReadBytes),
            [self = shared_from_this()](beast::error_code ec, std::size_t n) noexcept {
                if (ec) return self->close_now();  // gone, or idle past the deadline
                try {
                    self->buffer_.commit(n);
                    self->read_header_bytes();
                } catch (...) {
                    self->close_now();
                }
            });
    }

    void read_header_bytes() {
        parser_.emplace();
        parser_->header_limit(kHeaderLimitBytes);
        // The body limit is judged on the header, after the key (answer_header), so that a
        // caller without the key learns nothing, not even the limit.
        parser_->body_limit(boost::none);
        stream_.expires_after(Millis(options_.header_timeout_ms));
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) noexcept {
        started_ = Clock::now();
        try {
            if (ec == beast::error::timeout) {
                metrics_.count_rejected(ApiMetrics::Rejection::HeaderTimeout);
                return close_now();
            }
            if (ec) return on_read_error(ec);
            registry_.set_idle(this, false);
            ++served_;
            const bool body_pending = !parser_->is_done();
            std::optional<std::uint64_t> declared_length;
            if (const auto length = parser_->content_length()) declared_length = *length;
            const auto& head = parser_->get();
            if (auto refused = routes_.answer_header(parsed(head), declared_length, body_pending)) {
                return write(to_beast(std::move(*refused), head.version(),
                                      head.keep_alive() && !body_pending, metrics_, started_));
            }
            if (!body_pending) return answer();
            parser_->body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
            if (ieq(parser_->get()[http::field::expect], "100-continue")) {
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                      if (ec) return self->close_now();
                                      self->read_body();
                                  });
                return;
            }
            read_body();
        } catch (...) {
            close_now();
        }
    }

    void read_body() {
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
    }

    void on_body(beast::error_code ec) noexcept {
        try {
            if (ec) return on_read_error(ec);
            answer();
        } catch (...) {
            close_now();
        }
    }

    void on_read_error(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
            !is_http_error(ec)) {
            // The peer left, went idle past the timeout, or is gone: nobody to answer.
            return close_now();
        }
        unsigned status = 400;
        std::string message;
        if (ec == http::error::body_limit) {
            metrics_.count_rejected(ApiMetrics::Rejection::TooLarge);
            status = 413;
            message = "body over api.max_body_bytes (" + std::to_string(options_.max_body_bytes) +
                      " bytes)";
        } else if (ec == http::error::header_limit) {
            status = 431;
            message = "request header over " + std::to_string(kHeaderLimitBytes) + " bytes";
        } else {
            message = "malformed HTTP request: " + ec.message();
        }
        const auto& partial = parser_->get();
        write(to_beast(
            routes_.answer_unreadable(status, message, partial.method_string(), partial.target()),
            11, false, metrics_, started_));
    }

    void answer() {
        const Request request = parser_->release();
        ApiRequest in = parsed(request);
        in.body = request.body();
        write(to_beast(routes_.answer(in), request.version(), request.keep_alive(), metrics_,
                       started_));
    }

    void write(Response res) {
        response_ = std::move(res);
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        http::async_write(
            stream_, response_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(beast::error_code ec) noexcept {
        try {
            if (ec) return close_now();
            if (!response_.keep_alive()) return linger_then_close();
            response_ = {};
            read_header();
        } catch (...) {
            close_now();
        }
    }

    // Half-close, then read and drop whatever the peer still sends until it closes too or the
    // linger time is up: closing with unread bytes would send a reset that can destroy the
    // answer before the peer reads it.
    void linger_then_close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(kLingerTime);
        drain();
    }

    void drain() {
        buffer_.clear();
        stream_.async_read_some(buffer_.prepare(16 * 1024),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->close_now();
                                    try {
                                        self->drain();
                                    } catch (...) {
                                        self->close_now();
                                    }
                                });
    }

    void close_now() noexcept {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    static constexpr std::size_t kFirstReadBytes = 4 * 1024;

    beast::tcp_stream stream_;
    ApiRoutes& routes_;
    ApiMetrics& metrics_;
    ApiConnections& registry_;
    const ConnectionOptions& options_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Response response_;
    Clock::time_point started_ = Clock::now();
    std::uint64_t served_ = 0;  // request headers read on this connection
};

// "host:port", "[v6]:port"; a host name is resolved (loopback names need no network).
tcp::endpoint resolve_listen(asio::io_context& ioc, const std::string& listen) {
    std::string why;
    const auto parsed = codec::Address::parse(listen, codec::PortZero::Allowed, &why);
    if (!parsed) throw std::runtime_error("api.listen \"" + listen + "\" is not host:port: " + why);
    const std::string& host = parsed->host;
    const std::uint16_t port = parsed->port;
    const std::string port_text = std::to_string(port);
    beast::error_code addr_ec;
    const auto address = asio::ip::make_address(host, addr_ec);
    if (!addr_ec) return {address, port};
    tcp::resolver resolver(ioc);
    const auto results = resolver.resolve(host, port_text, addr_ec);
    if (addr_ec || results.empty()) {
        throw std::runtime_error("api.listen \"" + listen + "\": cannot resolve " + host);
    }
    return results.begin()->endpoint();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct HttpServer::State {
    State(ConnectionOptions opts, ApiRoutes& routes, ApiMetrics& metrics)
        : options(std::move(opts)),
          routes(routes),
          metrics(metrics),
          ioc(static_cast<int>(std::max(1u, options.threads))),
          acceptor(asio::make_strand(ioc)),
          accept_retry(acceptor.get_executor()) {}

    void accept() {
        acceptor.async_accept(asio::make_strand(ioc),
                              [this](beast::error_code ec, tcp::socket socket) noexcept {
                                  on_accept(ec, std::move(socket));
                              });
    }

    void on_accept(beast::error_code ec, tcp::socket socket) noexcept {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
            // Out of descriptors and the like: wait a little rather than spin on the error.
            accept_retry.expires_after(kAcceptRetryDelay);
            accept_retry.async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec && acceptor.is_open()) accept();
            });
            return;
        }
        try {
            auto connection = std::make_shared<ApiConnection>(std::move(socket), routes, metrics,
                                                              registry, options);
            switch (registry.admit(connection, std::max(1u, options.max_connections))) {
                case ApiConnections::Admit::EvictedIdle:
                    metrics.count_rejected(ApiMetrics::Rejection::EvictedIdle);
                    connection->start();
                    break;
                case ApiConnections::Admit::Yes:
                    connection->start();
                    break;
                case ApiConnections::Admit::OverLimit:
                    metrics.count_rejected(ApiMetrics::Rejection::OverConnections);
                    break;  // the connection's last owner goes here: its socket closes
                case ApiConnections::Admit::Closing:
                    break;
            }
        } catch (...) {
            // Could not even allocate a connection: the socket closes with it.
        }
        accept();
    }

    void run_thread() {
        for (;;) {
            try {
                ioc.run();
                break;
            } catch (...) {
                // Handlers catch their own; this keeps the API alive should one slip through.
            }
        }
        std::lock_guard lock(threads_mutex);
        ++threads_done;
        threads_done_cv.notify_all();
    }

    const ConnectionOptions options;
    ApiRoutes& routes;
    ApiMetrics& metrics;
    ApiConnections registry;
    // Declared after what connections refer to, so that handlers still queued in the io_context
    // are destroyed (by ~io_context) while those are alive.
    asio::io_context ioc;
    tcp::acceptor acceptor;
    asio::steady_timer accept_retry;
    std::vector<std::thread> threads;
    std::mutex threads_mutex;
    std::condition_variable threads_done_cv;
    unsigned threads_done = 0;
    std::uint16_t bound_port = 0;
    bool started = false;
    bool stopped = false;
};

HttpServer::HttpServer(ConnectionOptions options, ApiRoutes& routes, ApiMetrics& metrics)
    : state_(std::make_unique<State>(std::move(options), routes, metrics)) {}

HttpServer::~HttpServer() {
    stop();
}

void HttpServer::start() {
    if (state_->started) throw std::logic_error("HttpApi::start called twice");
    State& s = *state_;
    const tcp::endpoint endpoint = resolve_listen(s.ioc, s.options.listen);
    try {
        s.acceptor.open(endpoint.protocol());
        s.acceptor.set_option(asio::socket_base::reuse_address(true));
        s.acceptor.bind(endpoint);
        s.acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        throw std::runtime_error("api.listen " + s.options.listen + ": " + e.code().message());
    }
    s.bound_port = s.acceptor.local_endpoint().port();
    s.started = true;
    s.accept();
    const unsigned n = std::max(1u, s.options.threads);
    for (unsigned i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.run_thread(); });
}

bool HttpServer::started() const {
    return state_->started;
}

std::uint16_t HttpServer::port() const {
    return state_->bound_port;
}

void HttpServer::stop() {
    State& s = *state_;
    if (!s.started || s.stopped) return;
    s.stopped = true;
    asio::post(s.acceptor.get_executor(), [&s] {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        s.accept_retry.cancel();
    });
    for (const auto& connection : s.registry.close_all()) connection->close();
    {
        std::unique_lock lock(s.threads_mutex);
        const bool all_done = s.threads_done_cv.wait_for(
            lock, kStopGrace, [&s] { return s.threads_done == s.threads.size(); });
        if (!all_done) s.ioc.stop();
    }
    for (auto& t : s.threads) t.join();
    s.threads.clear();
}

}  // namespace lp::push
