// router/cluster_rooms: the part of router::Cluster that makes a room the same on every node
// (cluster.hpp). It owns the request/response over node links (RoomQuery and RoomPublish with
// a correlation id, answered by RoomReply, each awaited with a timeout on the cluster thread),
// the home side's per-node member counts (RoomSub), and the asker side's subscriptions made
// for a room.enter. It never blocks the cluster thread or an event loop: only the API's own
// threads wait (publish_room_wait, room_at_home), and only up to room_query_timeout.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <future>
#include <mutex>
#include <unordered_map>

#include "cluster.pb.h"
#include "codec/wall_clock.hpp"
#include "livepush.pb.h"
#include "router/cluster.hpp"
#include "server/event_loop.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::router {

namespace asio = boost::asio;
namespace pbc = livepush::cluster;

namespace {
// A reply's history stays well under the links' frame limit (16 MiB): past this, the rest is
// left out and the asker's recovery reports recovered = false rather than a partial replay.
constexpr std::size_t kReplyHistoryMaxBytes = 8u << 20;
}  // namespace

// ---------------------------------------------------------------- home side (cluster thread)

std::uint64_t Cluster::online_elsewhere_locked(std::uint64_t room,
                                               const std::string& except) const {
    std::lock_guard lock(home_mu_);
    auto it = home_members_.find(room);
    if (it == home_members_.end()) return 0;
    std::uint64_t n = 0;
    for (const auto& [node, count] : it->second)
        if (node != except) n += count;
    return n;
}

std::uint64_t Cluster::room_online_elsewhere(std::uint64_t room) const {
    return online_elsewhere_locked(room, {});
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Cluster::home_rooms_online() {
    std::unordered_map<std::uint64_t, std::uint64_t> count;
    for (const auto& [room, here] : hub_.rooms_with_members()) count[room] = here;
    {
        std::lock_guard lock(home_mu_);
        for (const auto& [room, nodes] : home_members_)
            for (const auto& [node, n] : nodes) count[room] += n;
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (const auto& [room, n] : count)
        if (n > 0 && room_is_home(room)) out.emplace_back(room, n);
    return out;
}

void Cluster::publish_unsequenced(const RoomPublish& p) {
    hub_.publish_unsequenced(
        p.room,
        server::push_packet({.msg_id = p.msg_id,
                             .type = p.type,
                             .payload = p.payload,
                             .sent_at_ms = p.sent_at_ms,
                             .room_id = p.room}),
        [&](const server::RoomPacketPtr& packet) { forward_to_member_nodes(p, 0, packet->epoch); });
}

void Cluster::send_room_likes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& likes) {
    std::map<std::string, pbc::RoomLikes> by_home;
    for (const auto& [room, n] : likes) {
        auto* d = by_home[home_of(room)].add_deltas();
        d->set_room_id(room);
        d->set_likes(n);
    }
    for (auto& [home, m] : by_home) {
        if (home == self_.id) {  // home again since the caller looked: count them here
            if (room_likes_)
                for (const auto& d : m.deltas()) room_likes_(d.room_id(), d.likes());
            continue;
        }
        links_->send(home, link_addr_of(home), codec::Code::LinkRoomLikes, m.SerializeAsString());
    }
}

void Cluster::on_room_sub(const std::string& from, const pbc::RoomSub& m) {
    std::vector<std::uint64_t> pin, unpin;
    {
        std::lock_guard lock(home_mu_);
        auto subscribe = [&](std::uint64_t r, std::optional<std::uint64_t> count) {
            auto& nodes = home_members_[r];
            if (nodes.empty()) pin.push_back(r);
            auto& c = nodes[from];
            if (count) c = *count;
        };
        auto unsubscribe = [&](std::uint64_t r) {
            auto it = home_members_.find(r);
            if (it == home_members_.end()) return;
            it->second.erase(from);
            if (it->second.empty()) {
                home_members_.erase(it);
                unpin.push_back(r);
            }
        };
        for (auto r : m.subscribe()) subscribe(r, std::nullopt);
        // A count of 0 does not unsubscribe (the node may be answering a room.enter that
        // subscribed it); only an explicit unsubscribe does.
        for (const auto& c : m.counts()) subscribe(c.room_id(), c.members());
        for (auto r : m.unsubscribe()) unsubscribe(r);
    }
    // Outside home_mu_: a publish takes the room's lock, then home_mu_.
    for (auto r : pin) hub_.set_room_pinned(r, true);
    for (auto r : unpin) hub_.set_room_pinned(r, false);
}

void Cluster::on_room_query(const std::string& from, const pbc::RoomQuery& q) {
    const std::uint64_t room = q.room_id();
    if (q.subscribe()) {
        // Before the snapshot: every message after the reply's seq is forwarded to the asker.
        bool first = false;
        {
            std::lock_guard lock(home_mu_);
            auto& nodes = home_members_[room];
            first = nodes.empty();
            nodes.try_emplace(from, 0);
        }
        if (first) hub_.set_room_pinned(room, true);
    }
    std::optional<std::uint64_t> after;
    if (q.has_after()) after = q.after_seq();
    const std::string addr = link_addr_of(from);
    const std::uint64_t likes_total = likes_total_ ? likes_total_(room) : 0;  // not under the lock
    // Under the room's lock: the reply reaches the link's queue before any later delivery.
    hub_.snapshot_room(
        room, after,
        [&](const server::Hub::RoomState& st, const std::vector<server::RoomPacketPtr>& history) {
            pbc::RoomReply r;
            r.set_corr_id(q.corr_id());
            r.set_room_id(room);
            r.set_room_seq(st.seq);
            r.set_epoch(st.epoch);
            r.set_online_elsewhere(st.online + online_elsewhere_locked(room, from));
            r.set_likes_total(likes_total);
            std::size_t bytes = 0;
            // Contiguous from after+1 only: a gap (trimmed ring) makes the asker report not
            // recovered.
            for (const auto& p : history) {
                bytes += p->binary_body.size();
                if (bytes > kReplyHistoryMaxBytes) break;
                const auto* push = dynamic_cast<const livepush::v1::Push*>(p->packet.body.get());
                if (!push) break;
                auto* d = r.add_history();
                d->set_room_id(room);
                d->set_room_seq(p->seq);
                d->set_epoch(p->epoch);
                d->set_msg_id(push->msg_id());
                d->set_type(push->type());
                d->set_payload(push->payload());
                d->set_sent_at_ms(push->sent_at_ms());
                for (auto u : p->exclude) d->add_exclude(u);
                d->set_msg_class(server::to_wire(p->cls));
                d->set_sender(p->sender);
            }
            stats_.room_history_sent.fetch_add(static_cast<std::uint64_t>(r.history_size()),
                                               std::memory_order_relaxed);
            links_->send(from, addr, codec::Code::LinkRoomReply, r.SerializeAsString());
        });
}

// ---------------------------------------------------------------- asker side

void Cluster::ask_home(std::function<void(std::uint64_t corr)> send,
                       std::function<void(const pbc::RoomReply*)> done) {
    ask(std::move(send), [done = std::move(done)](const google::protobuf::Message* m) {
        done(static_cast<const pbc::RoomReply*>(m));
    });
}

void Cluster::ask(std::function<void(std::uint64_t corr)> send,
                  std::function<void(const google::protobuf::Message*)> done) {
    asio::post(links_->io(), [this, send = std::move(send), done = std::move(done)]() mutable {
        const std::uint64_t corr = next_corr_++;
        Awaited& a = awaited_[corr];
        a.done = std::move(done);
        a.timer = std::make_unique<asio::steady_timer>(links_->io());
        a.timer->expires_after(opts_.room_query_timeout);
        a.timer->async_wait([this, corr](const boost::system::error_code& ec) {
            if (ec) return;
            auto it = awaited_.find(corr);
            if (it == awaited_.end()) return;
            auto cb = std::move(it->second.done);
            awaited_.erase(it);
            stats_.room_query_timeouts.fetch_add(1, std::memory_order_relaxed);
            cb(nullptr);
        });
        stats_.room_queries_sent.fetch_add(1, std::memory_order_relaxed);
        send(corr);
    });
}

void Cluster::on_room_reply(const pbc::RoomReply& r) {
    answered(r.corr_id(), r);
}

void Cluster::answered(std::uint64_t corr, const google::protobuf::Message& reply) {
    auto it = awaited_.find(corr);
    if (it == awaited_.end()) return;  // timed out already
    auto cb = std::move(it->second.done);
    it->second.timer->cancel();
    awaited_.erase(it);
    cb(&reply);
}

void Cluster::fetch_room(std::uint64_t room, std::optional<std::uint64_t> after_seq,
                         std::function<void(HomeRoom)> done) {
    const std::string home = home_of(room);
    ask_home(
        [this, room, after_seq, home](std::uint64_t corr) {
            fetched_[room] = std::chrono::steady_clock::now();
            pbc::RoomQuery q;
            q.set_corr_id(corr);
            q.set_room_id(room);
            q.set_subscribe(true);
            if (after_seq) {
                q.set_has_after(true);
                q.set_after_seq(*after_seq);
            }
            links_->send(home, link_addr_of(home), codec::Code::LinkRoomQuery,
                         q.SerializeAsString());
        },
        [this, room, done = std::move(done)](const pbc::RoomReply* r) {
            HomeRoom out;
            if (!r) {
                spdlog::warn(
                    "cluster: room {}'s home node did not answer within {} ms; room.enter answers "
                    "with this node's view",
                    room, opts_.room_query_timeout.count());
                done(out);
                return;
            }
            std::vector<server::RoomPacketPtr> history;
            const std::uint64_t now = codec::wall_ms();
            for (const auto& d : r->history()) {
                auto p = std::make_shared<server::RoomPacket>();
                p->room = room;
                p->seq = d.room_seq();
                p->epoch = d.epoch();
                p->time_ms = now;
                p->packet = server::push_packet({.msg_id = d.msg_id(),
                                                 .type = d.type(),
                                                 .payload = d.payload(),
                                                 .sent_at_ms = d.sent_at_ms(),
                                                 .room_id = room,
                                                 .room_seq = d.room_seq()});
                p->binary_body = p->packet.body->SerializeAsString();
                p->exclude.assign(d.exclude().begin(), d.exclude().end());
                std::sort(p->exclude.begin(), p->exclude.end());
                p->cls = server::from_wire(d.msg_class(), d.type());
                p->sender = d.sender();
                history.push_back(std::move(p));
            }
            hub_.merge_home(room, r->room_seq(), r->epoch(), std::move(history));
            out.answered = true;
            out.seq = r->room_seq();
            out.epoch = r->epoch();
            out.online_elsewhere = r->online_elsewhere();
            out.likes_total = r->likes_total();
            done(out);
        });
}

void Cluster::drop_unjoined_fetches() {
    // A room.enter subscribed this node but no member joined (the session left meanwhile):
    // unsubscribe after a full resubscribe period, so a join still on its way is not cut off.
    const auto now = std::chrono::steady_clock::now();
    for (auto it = fetched_.begin(); it != fetched_.end();) {
        if (now - it->second < opts_.resubscribe) {
            ++it;
            continue;
        }
        if (!local_rooms_.count(it->first)) {
            const std::string home = home_of(it->first);
            if (home != self_.id) send_sub(home, {}, {it->first});
        }
        it = fetched_.erase(it);
    }
}

void Cluster::flush_room_counts() {
    std::map<std::string, pbc::RoomSub> by_home;
    for (auto& [room, count] : dirty_counts_) {
        routes_->set_room_members(room, count);
        const std::string home = home_of(room);
        if (home == self_.id) continue;
        auto* c = by_home[home].add_counts();
        c->set_room_id(room);
        c->set_members(count);
    }
    dirty_counts_.clear();
    for (auto& [home, m] : by_home)
        links_->send(home, link_addr_of(home), codec::Code::LinkRoomSub, m.SerializeAsString());
}

// ---------------------------------------------------------------- API threads (may block)

Cluster::RoomPublishedAt Cluster::publish_room_wait(const RoomPublish& p) {
    RoomPublishedAt out;
    const std::string home = home_of(p.room);
    if (home == self_.id) {
        auto pub = publish_as_home(p);
        out.seq_known = true;
        out.seq = pub.seq;
        out.online = hub_.room_state(p.room).online + room_online_elsewhere(p.room);
        return out;
    }
    auto promise = std::make_shared<std::promise<RoomPublishedAt>>();
    auto future = promise->get_future();
    stats_.room_publishes_forwarded.fetch_add(1, std::memory_order_relaxed);
    ask_home(
        [this, p, home](std::uint64_t corr) {
            pbc::RoomPublish m = to_link(p);
            m.set_corr_id(corr);
            links_->send(home, link_addr_of(home), codec::Code::LinkRoomPublish,
                         m.SerializeAsString());
        },
        [this, promise, room = p.room](const pbc::RoomReply* r) {
            RoomPublishedAt v;
            if (r) {
                v.seq_known = true;
                v.seq = r->room_seq();
                v.online = r->online_elsewhere() + hub_.room_state(room).online;
            }
            promise->set_value(v);
        });
    // The cluster thread always completes the promise (reply or timer); the margin covers a
    // cluster thread slowed by load.
    if (future.wait_for(opts_.room_query_timeout * 2) != std::future_status::ready) return out;
    return future.get();
}

Cluster::RoomAtHome Cluster::room_at_home(std::uint64_t room) {
    RoomAtHome out;
    const auto local = hub_.room_state(room);
    if (home_of(room) == self_.id) {
        out.answered = true;
        out.seq = local.seq;
        out.epoch = local.epoch;
        out.online = local.online + room_online_elsewhere(room);
        return out;
    }
    out.seq = local.seq;
    out.epoch = local.epoch;
    out.online = local.online;
    auto promise = std::make_shared<std::promise<const pbc::RoomReply*>>();
    auto reply = std::make_shared<pbc::RoomReply>();
    auto future = promise->get_future();
    const std::string home = home_of(room);
    ask_home(
        [this, room, home](std::uint64_t corr) {
            pbc::RoomQuery q;
            q.set_corr_id(corr);
            q.set_room_id(room);
            links_->send(home, link_addr_of(home), codec::Code::LinkRoomQuery,
                         q.SerializeAsString());
        },
        [promise, reply](const pbc::RoomReply* r) {
            if (r) *reply = *r;
            promise->set_value(r ? reply.get() : nullptr);
        });
    if (future.wait_for(opts_.room_query_timeout * 2) != std::future_status::ready) return out;
    const pbc::RoomReply* r = future.get();
    if (!r) return out;
    out.answered = true;
    out.seq = r->room_seq();
    out.epoch = r->epoch();
    out.online = r->online_elsewhere() + hub_.room_state(room).online;
    return out;
}

// ---------------------------------------------------------------- presence

void Cluster::on_user_query(const std::string& from, const pbc::UserQuery& q) {
    // Each session's rooms and scene belong to its loop: gather there, answer from the last.
    struct Gather {
        std::mutex mu;
        pbc::UserReply reply;
        std::size_t remaining = 0;
    };
    auto targets = hub_.user_sessions(q.user_id());
    auto g = std::make_shared<Gather>();
    g->reply.set_corr_id(q.corr_id());
    g->remaining = targets.size();
    auto finish = [this, from, addr = link_addr_of(from)](Gather& g) {
        links_->send(from, addr, codec::Code::LinkUserReply, g.reply.SerializeAsString());
    };
    if (targets.empty()) {
        finish(*g);
        return;
    }
    for (auto& t : targets) {
        asio::post(hub_.loops()[t.loop]->io(), [g, w = t.session, finish] {
            std::lock_guard lock(g->mu);
            if (auto s = w.lock(); s && !s->closing()) {
                auto* si = g->reply.add_sessions();
                si->set_session_id(s->id());
                si->set_platform(s->user.platform);
                std::string transport = s->transport() == server::TransportKind::Tcp ? "tcp" : "ws";
                if (s->tls()) transport += "+tls";
                si->set_transport(transport);
                si->set_scene(s->user.scene);
                for (const auto& r : s->rooms) si->add_rooms(r.room_id);
            }
            if (--g->remaining == 0) finish(*g);
        });
    }
}

std::optional<std::vector<Cluster::RemoteSession>> Cluster::sessions_on(const std::string& node,
                                                                        std::uint64_t user) {
    auto promise = std::make_shared<std::promise<std::optional<std::vector<RemoteSession>>>>();
    auto future = promise->get_future();
    ask(
        [this, node, user](std::uint64_t corr) {
            pbc::UserQuery q;
            q.set_corr_id(corr);
            q.set_user_id(user);
            links_->send(node, link_addr_of(node), codec::Code::LinkUserQuery,
                         q.SerializeAsString());
        },
        [promise](const google::protobuf::Message* m) {
            if (!m) {
                promise->set_value(std::nullopt);
                return;
            }
            std::vector<RemoteSession> out;
            for (const auto& si : static_cast<const pbc::UserReply*>(m)->sessions())
                out.push_back({si.session_id(),
                               si.platform(),
                               si.transport(),
                               si.scene(),
                               {si.rooms().begin(), si.rooms().end()}});
            promise->set_value(std::move(out));
        });
    if (future.wait_for(opts_.room_query_timeout * 2) != std::future_status::ready)
        return std::nullopt;
    return future.get();
}

}  // namespace lp::router
