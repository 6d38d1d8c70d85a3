// load-test/load_shard: see load_shard.hpp. The shard's set-up, phases and public face; the
// connection state machine's steps are in load_shard_connect.cpp, load_shard_receive.cpp and
// load_shard_send.cpp (load_shard_impl.hpp says which is where).
//
// A connection walks Idle → Connecting → (Upgrading) → LoggingIn → Ready → Closed, once; it is
// never reused. Each connection keeps one async_read_some outstanding into its small inline
// buffer: Asio then costs one recv per PONG and no epoll_ctl (an async_wait-per-readiness design
// re-arms epoll on every wait, a syscall per message). Writes are corked: heartbeats queued
// while a read is decoded go out in one write_some at its end; a partial write waits for
// writability and continues from the connection's own small buffer. Nothing in the
// PONG → HEARTBEAT path allocates.
//
// Room, qos1 and plugin-scenario receivers follow the same pattern with bigger inline buffers (a
// coalesced room write holds several PUSH frames; it should arrive in one recv). Nothing in the
// PUSH → ACK path allocates either: PUSH bodies are scanned in place (push_fields.hpp), msg_ids
// and plugin events go into tables sized before the run, and an ACK is encoded straight into the
// output buffer.
#include "load-test/load_shard.hpp"

#include <algorithm>
#include <stdexcept>

#include "load-test/clocks.hpp"
#include "load-test/load_shard_impl.hpp"

namespace lp::load {
namespace {

// Plugin scenarios: gift effects and PK scores are room messages (room-sized input; the PK's
// anchors ack a few qos1 pk.state pushes); feed items are qos1 pushes one at a time.
BufferSizes buffer_sizes(Scenario s) {
    switch (s) {
        case Scenario::Room:
        case Scenario::Gift:
        case Scenario::Pk:
            return {4096, 160};
        case Scenario::LiveRoom:  // senders write room.chat / room.like requests too
            return {4096, 512};
        case Scenario::Qos1:
            return {1024, 1024};
        case Scenario::Feed:
            return {1024, 256};
        default:
            return {128, 160};
    }
}

}  // namespace

std::string_view name_of(Failure f) noexcept {
    switch (f) {
        case Failure::Socket:
            return "socket";
        case Failure::Bind:
            return "bind";
        case Failure::Connect:
            return "connect";
        case Failure::ConnectTimeout:
            return "connect_timeout";
        case Failure::Upgrade:
            return "upgrade";
        case Failure::LoginRejected:
            return "login_rejected";
        case Failure::LoginTimeout:
            return "login_timeout";
        case Failure::ClosedDuringLogin:
            return "closed_during_login";
        case Failure::Protocol:
            return "protocol";
        case Failure::EnterRejected:
            return "enter_rejected";
        case Failure::EnterTimeout:
            return "enter_timeout";
        case Failure::NotStarted:
            return "not_started";
        case Failure::Count:
            break;
    }
    return "unknown";
}

std::string_view name_of(Drop d) noexcept {
    switch (d) {
        case Drop::ClosedByServer:
            return "closed_by_server";
        case Drop::Error:
            return "error";
        case Drop::Protocol:
            return "protocol";
        case Drop::Count:
            break;
    }
    return "unknown";
}

LoadShard::Impl::Impl(const LoadOptions& o, std::uint32_t shard_index, std::uint32_t shard_count)
    : opts(o),
      work(ioc.get_executor()),
      sweep_timer(ioc),
      heartbeat_timer(ioc),
      live_timer(ioc),
      read_buffer(kReadBuffer),
      mask_state(0x9E3779B9u ^ (shard_index + 1) * 2654435761u),
      sizes(buffer_sizes(o.scenario)),
      receives_pushes(load::receives_pushes(o.scenario)) {
    tcp::resolver resolver(ioc);
    error_code ec;
    auto results =
        resolver.resolve(opts.host, std::to_string(opts.port), tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
        throw std::runtime_error("cannot resolve " + opts.host + ": " + ec.message());
    }
    target = results.begin()->endpoint();
    for (auto p : opts.ports) targets.emplace_back(target.address(), p);
    if (targets.empty()) targets.push_back(target);
    for (const std::string& ip : opts.source_ips) {
        source_addresses.push_back(asio::ip::make_address(ip, ec));
        if (ec) throw std::runtime_error("bad source address " + ip);
    }
    std::uint32_t i = 0;
    // Bounded by --connections.
    for (std::uint32_t g = shard_index; g < opts.connections; g += shard_count) {
        conns.emplace_back(ioc, i++, g, opts.max_body, sizes);
    }
    if (enters_room(opts.scenario)) room_members_now.assign(opts.rooms, 0);
    if (opts.scenario == Scenario::Qos1) {
        this->results.received_ids.reserve_for(opts.received_ids_per_shard);
    }
    if (opts.plugin.scenario != PluginScenario::None) {
        this->results.plugin.prepare(opts.plugin, static_cast<std::uint32_t>(conns.size()));
    }
    if (opts.scenario == Scenario::LiveRoom) {
        std::vector<std::uint64_t> users;
        users.reserve(conns.size());
        for (const LoadConnection& c : conns) {
            users.push_back(opts.user_base + std::uint64_t(c.global_index) * opts.user_stride);
        }
        this->results.live.prepare(opts.live, std::move(users));
    }
    inflight.resize(std::size_t(conns.size()) * std::max<std::uint32_t>(1, opts.inflight));
    concurrency = std::max<std::uint32_t>(1, opts.connect_concurrency / shard_count);
    heartbeat_frame_body = opts.json_body ? "{}" : "";
}

void LoadShard::Impl::on_start_connecting() {
    sweep_deadlines();
    heartbeat_tick();
    start_more();
}

void LoadShard::Impl::on_stop_connecting() {
    stop_starting = true;
    for (LoadConnection& c : conns) {
        if (is_connecting(c.state)) {
            fail(c, timeout_failure(c.state));
            release(c);
        } else if (c.state == State::Idle) {
            fail(c, Failure::NotStarted);
        }
    }
}

void LoadShard::Impl::on_start_pinging() {
    pinging = true;
    for (LoadConnection& c : conns) {
        if (c.state != State::Ready) continue;
        c.queued_heartbeats += inflight_per_connection();
        flush(c);
        if (c.state == State::Closed) release(c);
    }
}

void LoadShard::Impl::on_start_measuring() {
    results.latency.reset();
    results.pongs_measured = 0;
    results.pushes_measured = 0;
    results.acked_ids_measured = 0;
    results.room_members = room_members_now;
    measure_start_ns = steady_ns();
    measuring = true;
}

void LoadShard::Impl::on_stop_measuring() {
    if (measuring) results.measured_ns = steady_ns() - measure_start_ns;
    measuring = false;
    pinging = false;
    measuring_stopped.store(true, std::memory_order_release);
}

void LoadShard::Impl::on_shutdown() {
    shutting_down = true;
    stop_starting = true;
    error_code ignored;
    sweep_timer.cancel();
    heartbeat_timer.cancel();
    live_timer.cancel();
    for (LoadConnection& c : conns) {
        if (c.state != State::Closed) {
            c.state = State::Closed;
            c.socket.close(ignored);
        }
    }
    work.reset();
}

LoadShard::LoadShard(const LoadOptions& options, std::uint32_t shard_index,
                     std::uint32_t shard_count)
    : impl_(std::make_unique<Impl>(options, shard_index, shard_count)) {}

LoadShard::~LoadShard() {
    if (impl_->thread.joinable()) {
        shutdown();
        join();
    }
}

std::uint32_t LoadShard::size() const noexcept {
    return static_cast<std::uint32_t>(impl_->conns.size());
}

void LoadShard::run() {
    impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

void LoadShard::join() {
    if (impl_->thread.joinable()) impl_->thread.join();
}

void LoadShard::start_connecting() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_connecting(); });
}
void LoadShard::stop_connecting() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_stop_connecting(); });
}
void LoadShard::start_pinging() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_pinging(); });
}
void LoadShard::start_measuring() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_measuring(); });
}
void LoadShard::stop_measuring() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_stop_measuring(); });
}
void LoadShard::start_sending(double duration_s) {
    asio::post(impl_->ioc, [i = impl_.get(), duration_s] { i->on_start_sending(duration_s); });
}
void LoadShard::shutdown() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_shutdown(); });
}

std::uint32_t LoadShard::logged_in() const noexcept {
    return impl_->logged_in.load(std::memory_order_relaxed);
}
std::uint32_t LoadShard::failed() const noexcept {
    return impl_->failed.load(std::memory_order_relaxed);
}
std::uint32_t LoadShard::dropped() const noexcept {
    return impl_->dropped.load(std::memory_order_relaxed);
}
bool LoadShard::measuring_stopped() const noexcept {
    return impl_->measuring_stopped.load(std::memory_order_acquire);
}
std::uint64_t LoadShard::failures(Failure f) const noexcept {
    return impl_->failures[static_cast<std::size_t>(f)].load(std::memory_order_relaxed);
}
std::int64_t LoadShard::first_connect_ns() const noexcept {
    return impl_->first_connect_ns.load(std::memory_order_relaxed);
}
std::int64_t LoadShard::last_login_ns() const noexcept {
    return impl_->last_login_ns.load(std::memory_order_relaxed);
}
std::uint64_t LoadShard::pushes_received() const noexcept {
    return impl_->pushes_received.load(std::memory_order_relaxed);
}
std::uint64_t LoadShard::unique_ids_received() const noexcept {
    return impl_->unique_ids_received.load(std::memory_order_relaxed);
}
bool LoadShard::sending_done() const noexcept {
    return impl_->sending_done.load(std::memory_order_acquire);
}
std::uint64_t LoadShard::live_requests() const noexcept {
    return impl_->live_requests.load(std::memory_order_relaxed);
}
std::uint64_t LoadShard::live_answers() const noexcept {
    return impl_->live_answers.load(std::memory_order_relaxed);
}
const ShardResults& LoadShard::results() const noexcept {
    return impl_->results;
}

}  // namespace lp::load
