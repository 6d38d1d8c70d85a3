// ack/qos_delivery: see qos_delivery.hpp.
#include "ack/qos_delivery.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "codec/wall_clock.hpp"
#include "server/event_loop.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::ack {

namespace pb = livepush::v1;
using server::Bytes;
using server::Session;

struct QosDelivery::Entry : server::WheelNode {
    Window* window = nullptr;
    std::shared_ptr<const StoredMessage> msg;
    Bytes frame;  // encoded once in the session's wire form, reused by every resend
    std::uint32_t attempts = 0;
    bool from_inbox = false;
    ~Entry() { server::TimingWheel::unlink(*this); }
};

struct QosDelivery::Window : server::SessionExtension {
    QosDelivery* owner = nullptr;
    Session* session = nullptr;
    std::vector<std::unique_ptr<Entry>> inflight;  // in send order
    std::deque<std::unique_ptr<Entry>> waiting;
    // Ids that left the window for the inbox (retried out), newest last, at most `window`:
    // the only ids outside the window whose late ack goes to the store. A vector, not a deque:
    // an empty deque already holds ~600 bytes, and most sessions never retire anything.
    std::vector<std::uint64_t> retired;
    bool replaying = false;  // an inbox load is running: nothing starts before it is back
    bool spilled = false;    // messages went to the inbox over waiting_max: load them when drained
    // The ids the last inbox load replayed (sorted), for a while: a stored message's live
    // delivery that lands after the load already read it is then not sent twice.
    std::vector<std::uint64_t> replayed;
    std::uint64_t replayed_at_ms = 0;
};

namespace {
constexpr std::uint64_t kReplayedMemoryMs = 10000;
}

bool QosDelivery::holds(Window& w, std::uint64_t msg_id) {
    if (!w.replayed.empty()) {
        if (codec::wall_ms() - w.replayed_at_ms > kReplayedMemoryMs) {
            std::vector<std::uint64_t>().swap(w.replayed);
        } else if (std::binary_search(w.replayed.begin(), w.replayed.end(), msg_id)) {
            return true;
        }
    }
    for (const auto& e : w.inflight)
        if (e->msg->msg_id == msg_id) return true;
    for (const auto& e : w.waiting)
        if (e->msg->msg_id == msg_id) return true;
    return false;
}

server::SharedPacket qos1_packet(const StoredMessage& m) {
    return server::push_packet(
        {.msg_id = m.msg_id, .type = m.type, .payload = m.payload, .sent_at_ms = m.sent_at_ms},
        codec::kAckRequired);
}

QosDelivery::QosDelivery(DeliveryOptions opts, InboxStore& inbox, server::Hub& hub)
    : opts_(opts), inbox_(inbox), hub_(hub) {
    if (opts_.window == 0) opts_.window = 1;
    if (opts_.max_attempts == 0) opts_.max_attempts = 1;
}

std::uint64_t QosDelivery::default_expiry(std::uint32_t ttl_s) const {
    auto ttl = ttl_s ? std::chrono::seconds(ttl_s) : opts_.inbox_ttl;
    return codec::wall_ms() + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count());
}

QosDelivery::Window& QosDelivery::window_of(Session& s) {
    if (!s.delivery) {
        auto w = std::make_unique<Window>();
        w->owner = this;
        w->session = &s;
        s.delivery = std::move(w);
    }
    return static_cast<Window&>(*s.delivery);
}

// ---------------------------------------------------------------- sending

std::uint64_t QosDelivery::send(std::uint64_t user, StoredMessage m) {
    return send_many({user}, m).sessions;
}

QosDelivery::ManyResult QosDelivery::send_many(const std::vector<std::uint64_t>& users,
                                               const StoredMessage& m) {
    return fan_out(users, m, false);
}

std::uint64_t QosDelivery::deliver_stored(const std::vector<std::uint64_t>& users, const StoredMessage& m) {
    return fan_out(users, m, true).sessions;
}

QosDelivery::ManyResult QosDelivery::fan_out(const std::vector<std::uint64_t>& users,
                                             const StoredMessage& m, bool stored) {
    ManyResult out;
    auto msg = std::make_shared<const StoredMessage>(m);
    auto packet = std::make_shared<const server::SharedPacket>(qos1_packet(m));
    // Group the sessions by loop: one post and one encoding per wire form per loop.
    struct Target {
        std::uint64_t user;
        std::weak_ptr<Session> session;
    };
    std::unordered_map<unsigned, std::vector<Target>> by_loop;
    for (std::uint64_t user : users) {
        auto sessions = hub_.user_sessions(user);
        if (sessions.empty() && m.online_only) continue;  // pull, not push, for the offline
        if (sessions.empty()) {
            // Stored already (cluster mode) or now: the next login replays it. A message with
            // a sender (im.send) is checked against the sender's share, and the answer says
            // whether it was stored; the durable path checks append() before this.
            if (!stored) {
                auto r = m.sender != 0 ? inbox_.append_checked(user, m)
                                       : (inbox_.append(user, m) ? AppendResult::Stored : AppendResult::Unavailable);
                if (r == AppendResult::ShareFull) {
                    ++out.share_full;
                    continue;
                }
                if (r == AppendResult::Unavailable) {
                    ++out.unavailable;
                    continue;
                }
            }
            stats_.offline.fetch_add(1, std::memory_order_relaxed);
            ++out.stored;
            continue;
        }
        for (auto& us : sessions) by_loop[us.loop].push_back({user, us.session});
        out.sessions += sessions.size();
    }
    for (auto& [loop_index, targets] : by_loop) {
        server::EventLoop* loop = hub_.loops()[loop_index];
        boost::asio::post(loop->io(), [this, msg, packet, stored, targets = std::move(targets)] {
            server::FrameForms forms(*packet);
            for (const auto& t : targets) {
                auto s = t.session.lock();
                if (s && !s->closing() && msg->outside_rooms_only && in_consumption_scene(*s))
                    continue;  // the feed's rule: not pushed inside a live room
                if (!s || s->closing() || !s->logged_in()) {
                    // The session left between lookup and delivery: the inbox keeps it. The
                    // API has answered already, so a failed write has no one to tell.
                    if (!stored && !msg->online_only) (void)inbox_.append(t.user, *msg);
                    stats_.disconnected.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                // Stored first, delivered live second: an inbox load may have replayed it already.
                if (stored && holds(window_of(*s), msg->msg_id)) continue;
                enqueue(*s, msg, forms.get(s->wire()), stored);
            }
        });
    }
    return out;
}

void QosDelivery::send_private(PrivateMessage pm, std::function<void(PrivateResult)> done) {
    StoredMessage m;
    m.msg_id = pm.msg_id;
    m.type = std::move(pm.type);
    m.payload = std::move(pm.payload);
    m.sent_at_ms = codec::wall_ms();
    m.expires_at_ms = default_expiry(0);
    m.sender = pm.from;
    auto r = fan_out({pm.to}, m, false);
    PrivateResult out;
    out.sessions = r.sessions;
    if (r.share_full) {
        out.status = PrivateResult::Status::ShareFull;
    } else if (r.unavailable) {
        out.status = PrivateResult::Status::Unavailable;
    }
    done(std::move(out));
}

void QosDelivery::enqueue(Session& s, std::shared_ptr<const StoredMessage> m, const Bytes& frame,
                          bool from_inbox) {
    Window& w = window_of(s);
    auto e = std::make_unique<Entry>();
    e->window = &w;
    e->msg = std::move(m);
    e->frame = frame;
    e->from_inbox = from_inbox;
    e->on_expire = [](server::WheelNode& n) {
        auto& entry = static_cast<Entry&>(n);
        entry.window->owner->on_retry(entry);
    };
    admit(w, std::move(e));
}

void QosDelivery::admit(Window& w, std::unique_ptr<Entry> e) {
    if (!w.replaying && w.inflight.size() < opts_.window && w.waiting.empty()) {
        start(w, std::move(e));
    } else if (opts_.waiting_max != 0 && w.waiting.size() >= opts_.waiting_max) {
        overflow(w, *e);
    } else {
        w.waiting.push_back(std::move(e));
        stats_.waiting.fetch_add(1, std::memory_order_relaxed);
    }
}

void QosDelivery::overflow(Window& w, Entry& e) {
    stats_.waiting_overflow.fetch_add(1, std::memory_order_relaxed);
    w.spilled = true;
    // From the inbox (replayed, or stored before delivery in cluster mode): still there. Else it
    // goes there now, without the sender's share (it was accepted already). A failed write loses
    // it, as at disconnect: nobody is left to tell. Online-only messages are never stored.
    if (!e.from_inbox && !e.msg->online_only) (void)inbox_.append(w.session->user.id, *e.msg);
}

void QosDelivery::start(Window& w, std::unique_ptr<Entry> e) {
    if (e->msg->expires_at_ms && e->msg->expires_at_ms <= codec::wall_ms()) {
        stats_.expired.fetch_add(1, std::memory_order_relaxed);
        if (e->from_inbox) inbox_.remove(w.session->user.id, {e->msg->msg_id});
        return;
    }
    Session& s = *w.session;
    e->attempts = 1;
    s.send_bytes(e->frame);
    server::inc(s.loop().stats().direct_deliveries);
    stats_.sent.fetch_add(1, std::memory_order_relaxed);
    auto& loop = s.loop();
    loop.wheel().set_due(*e, loop.wheel().now() + loop.ticks(opts_.retry));
    w.inflight.push_back(std::move(e));
    stats_.inflight.fetch_add(1, std::memory_order_relaxed);
}

void QosDelivery::fill(Window& w) {
    if (w.replaying) return;  // finish_replay fills, replayed messages first
    while (w.inflight.size() < opts_.window && !w.waiting.empty()) {
        auto e = std::move(w.waiting.front());
        w.waiting.pop_front();
        stats_.waiting.fetch_sub(1, std::memory_order_relaxed);
        start(w, std::move(e));
    }
    // Drained, with messages left to the inbox over waiting_max: fetch them now (the inbox is
    // the overflow of the waiting queue), not at the next login.
    if (w.spilled && w.waiting.empty() && w.inflight.size() < opts_.window && !w.session->closing()) {
        w.spilled = false;
        load_inbox(*w.session);
    }
}

void QosDelivery::remove_entry(Window& w, Entry& e) {
    auto it = std::find_if(w.inflight.begin(), w.inflight.end(),
                           [&](const std::unique_ptr<Entry>& p) { return p.get() == &e; });
    if (it == w.inflight.end()) return;
    w.inflight.erase(it);  // destroys e (and unlinks its timer)
    stats_.inflight.fetch_sub(1, std::memory_order_relaxed);
}

void QosDelivery::on_retry(Entry& e) {
    Window& w = *e.window;
    Session& s = *w.session;
    if (s.closing()) return;  // on_closed moves it to the inbox
    if (e.attempts < opts_.max_attempts) {
        ++e.attempts;
        s.send_bytes(e.frame);
        stats_.retries.fetch_add(1, std::memory_order_relaxed);
        auto& loop = s.loop();
        auto delay = opts_.retry * (1u << std::min<std::uint32_t>(e.attempts - 1, 16));
        loop.wheel().set_due(e, loop.wheel().now() + loop.ticks(delay));
        return;
    }
    // Out of attempts: the inbox keeps it for the next login.
    stats_.exhausted.fetch_add(1, std::memory_order_relaxed);
    // A failed write loses it: no caller is waiting on a retried-out message.
    if (!e.from_inbox && !e.msg->online_only) (void)inbox_.append(s.user.id, *e.msg);
    if (e.from_inbox || !e.msg->online_only) {
        w.retired.push_back(e.msg->msg_id);
        if (w.retired.size() > opts_.window) w.retired.erase(w.retired.begin());
    }
    remove_entry(w, e);
    fill(w);
}

// ---------------------------------------------------------------- hooks

std::size_t QosDelivery::resync_local_users(std::chrono::milliseconds collect_timeout) {
    // 1. This node's logged-in users, collected on each loop.
    struct Collect {
        std::mutex mu;
        std::condition_variable done;
        std::size_t loops_left = 0;
        std::vector<std::uint64_t> users;
    };
    auto c = std::make_shared<Collect>();
    c->loops_left = hub_.loops().size();
    for (server::EventLoop* loop : hub_.loops()) {
        boost::asio::post(loop->io(), [c, loop] {
            std::vector<std::uint64_t> here;
            loop->for_each_session([&](Session& s) {
                if (s.logged_in() && !s.closing()) here.push_back(s.user.id);
            });
            std::lock_guard lock(c->mu);
            c->users.insert(c->users.end(), here.begin(), here.end());
            --c->loops_left;
            c->done.notify_one();
        });
    }
    std::vector<std::uint64_t> users;
    {
        std::unique_lock lock(c->mu);
        c->done.wait_for(lock, collect_timeout, [&] { return c->loops_left == 0; });
        users = c->users;
    }
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());

    // 2. Those with something stored, and what: most inboxes are empty, one pipeline says which.
    std::size_t loaded = 0;
    for (std::uint64_t user : inbox_.nonempty(users)) {
        auto msgs = inbox_.load(user, opts_.replay_max);
        if (msgs.empty()) continue;
        ++loaded;
        auto shared = std::make_shared<std::vector<StoredMessage>>(std::move(msgs));
        // 3. On each session's loop: queue what the session does not hold already.
        hub_.post_to_user(user, [this, shared](Session& s) {
            if (s.closing() || !s.logged_in()) return;
            Window& w = window_of(s);
            auto held = [&w](std::uint64_t id) {
                for (const auto& e : w.inflight)
                    if (e->msg->msg_id == id) return true;
                for (const auto& e : w.waiting)
                    if (e->msg->msg_id == id) return true;
                return false;
            };
            for (const auto& m : *shared) {
                if (held(m.msg_id)) continue;
                server::SharedPacket packet = qos1_packet(m);
                server::FrameForms forms(packet);
                enqueue(s, std::make_shared<const StoredMessage>(m), forms.get(s.wire()), true);
                stats_.resynced.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    return loaded;
}

void QosDelivery::on_login(Session& s) { load_inbox(s); }

void QosDelivery::load_inbox(Session& s) {
    if (runner_) {
        Window& w = window_of(s);
        w.replaying = true;
        std::weak_ptr<Session> weak = s.shared_from_this();
        auto& io = s.loop().io();
        const std::uint64_t user = s.user.id;
        const bool queued = runner_(user, [this, weak, &io, user] {
            auto msgs = inbox_.load(user, opts_.replay_max);
            boost::asio::post(io, [this, weak, msgs = std::move(msgs)]() mutable {
                // A session gone meanwhile loses nothing: the inbox still holds what was loaded.
                if (auto sp = weak.lock(); sp && !sp->closing()) finish_replay(*sp, std::move(msgs));
            });
        });
        if (queued) {
            stats_.replays_async.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    finish_replay(s, inbox_.load(s.user.id, opts_.replay_max));
}

void QosDelivery::finish_replay(Session& s, std::vector<StoredMessage> msgs) {
    // Most logins find an empty inbox: they must not cost the session a window (its deque alone
    // is ~600 bytes, more than half of an idle session).
    if (msgs.empty() && !s.delivery) return;
    Window& w = window_of(s);
    // What arrived while the load ran waits behind the replay; a message that is in both (it was
    // stored before the load read the inbox) goes once, in its inbox place.
    std::deque<std::unique_ptr<Entry>> arrived;
    arrived.swap(w.waiting);
    stats_.waiting.fetch_sub(static_cast<std::int64_t>(arrived.size()), std::memory_order_relaxed);
    w.replaying = false;
    std::vector<std::uint64_t> replayed_ids;
    replayed_ids.reserve(msgs.size());
    std::vector<std::uint64_t> in_flight;  // a reload (after a spill) finds some of these again
    for (const auto& e : w.inflight) in_flight.push_back(e->msg->msg_id);
    std::sort(in_flight.begin(), in_flight.end());
    for (auto& m : msgs) {
        if (std::binary_search(in_flight.begin(), in_flight.end(), m.msg_id)) continue;
        replayed_ids.push_back(m.msg_id);
        server::SharedPacket packet = qos1_packet(m);
        server::FrameForms forms(packet);
        enqueue(s, std::make_shared<const StoredMessage>(std::move(m)), forms.get(s.wire()), true);
    }
    stats_.replayed.fetch_add(replayed_ids.size(), std::memory_order_relaxed);
    std::sort(replayed_ids.begin(), replayed_ids.end());
    w.replayed = replayed_ids;
    w.replayed_at_ms = codec::wall_ms();
    for (auto& e : arrived) {
        if (std::binary_search(replayed_ids.begin(), replayed_ids.end(), e->msg->msg_id)) continue;
        admit(w, std::move(e));
    }
    fill(w);
    // An asynchronous load made the window to hold arrivals; nothing came: give it back.
    if (w.inflight.empty() && w.waiting.empty() && w.retired.empty() && w.replayed.empty() && !w.spilled)
        s.delivery.reset();
}

std::size_t QosDelivery::on_ack(Session& s, const pb::Ack& ack) {
    Window* w = s.delivery ? static_cast<Window*>(s.delivery.get()) : nullptr;
    if (!w) {
        stats_.unknown_acks.fetch_add(static_cast<std::uint64_t>(ack.msg_ids_size()), std::memory_order_relaxed);
        return 0;
    }
    // Both lookups are bounded by the window (a config value), whatever the client sends.
    std::vector<std::uint64_t> from_store;
    std::size_t known = 0;
    for (std::uint64_t id : ack.msg_ids()) {
        auto in_flight = std::find_if(w->inflight.begin(), w->inflight.end(),
                                      [id](const std::unique_ptr<Entry>& e) { return e->msg->msg_id == id; });
        if (in_flight != w->inflight.end()) {
            ++known;
            stats_.acked.fetch_add(1, std::memory_order_relaxed);
            if ((*in_flight)->from_inbox) from_store.push_back(id);
            remove_entry(*w, **in_flight);
            continue;
        }
        auto retired = std::find(w->retired.begin(), w->retired.end(), id);
        if (retired != w->retired.end()) {
            // Acked after it was retried out to the inbox: remove it there.
            ++known;
            stats_.late_acks.fetch_add(1, std::memory_order_relaxed);
            from_store.push_back(id);
            w->retired.erase(retired);
            continue;
        }
        stats_.unknown_acks.fetch_add(1, std::memory_order_relaxed);
    }
    if (!from_store.empty()) inbox_.remove(s.user.id, from_store);
    fill(*w);
    return known;
}

void QosDelivery::on_closed(Session& s) {
    if (!s.delivery) return;
    Window& w = static_cast<Window&>(*s.delivery);
    auto keep = [&](Entry& e) {
        if (e.from_inbox || e.msg->online_only) return;  // still in the inbox, or never kept
        (void)inbox_.append(s.user.id, *e.msg);  // a failed write loses it: nobody to tell
        stats_.disconnected.fetch_add(1, std::memory_order_relaxed);
    };
    for (auto& e : w.inflight) keep(*e);
    for (auto& e : w.waiting) keep(*e);
    stats_.inflight.fetch_sub(static_cast<std::int64_t>(w.inflight.size()), std::memory_order_relaxed);
    stats_.waiting.fetch_sub(static_cast<std::int64_t>(w.waiting.size()), std::memory_order_relaxed);
    w.inflight.clear();
    w.waiting.clear();
}

}  // namespace lp::ack
