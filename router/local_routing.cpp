// router/local_routing: see local_routing.hpp.
#include "router/local_routing.hpp"

#include "server/hub.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::router {

std::uint64_t LocalRouting::publish_room(RoomMessage m) {
    return publish_room_wait(std::move(m)).seq;
}

LocalRouting::RoomPublished LocalRouting::publish_room_wait(RoomMessage m) {
    // The hub calls build once: the message's strings move into the packet.
    const server::RoomMeta meta = m.meta();
    auto pub = hub_.publish_room(
        m.room,
        [&m](std::uint64_t seq) {
            return server::push_packet_taking({.msg_id = m.msg_id,
                                               .type = std::move(m.type),
                                               .payload = std::move(m.payload),
                                               .sent_at_ms = m.sent_at_ms,
                                               .room_id = m.room,
                                               .room_seq = seq});
        },
        std::move(m.exclude), /*create=*/false, {}, meta);
    return {true, pub.seq, pub.online};
}

LocalRouting::RoomView LocalRouting::room_view(std::uint64_t room) {
    auto st = hub_.room_state(room);
    return {st.online, st.seq, st.epoch, {}};
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> LocalRouting::home_rooms_online() {
    return hub_.rooms_with_members();
}

void LocalRouting::publish_room_unsequenced(const RoomMessage& m) {
    hub_.publish_unsequenced(m.room, server::push_packet({.msg_id = m.msg_id,
                                                          .type = m.type,
                                                          .payload = m.payload,
                                                          .sent_at_ms = m.sent_at_ms,
                                                          .room_id = m.room}));
}

LocalRouting::UsersPushed LocalRouting::push_users(const std::vector<std::uint64_t>& users,
                                                   const UserMessage& m, LocalDelivery& here) {
    UsersPushed out;
    auto r = here.send(users, m);
    if (m.qos == 1) {
        if (r.sessions == 0 && r.share_full) {
            out.status = UsersPushed::Status::ShareFull;
            return out;
        }
        if (r.sessions == 0 && r.unavailable) {
            out.status = UsersPushed::Status::Unavailable;
            out.why = "the inbox is unavailable: not stored";
            return out;
        }
        out.stored = m.online_only ? 0 : r.stored;
    }
    out.sessions = r.sessions;
    return out;
}

std::uint64_t LocalRouting::broadcast(const server::SharedPacket& packet, const UserMessage&,
                                      const std::vector<std::uint64_t>& exclude) {
    return hub_.broadcast(packet, exclude);
}

std::uint64_t LocalRouting::kick(std::uint64_t user, const std::string& reason) {
    return hub_.post_to_user(user, [reason](server::Session& s) { s.kick(reason); });
}

std::vector<std::uint64_t> LocalRouting::online(const std::vector<std::uint64_t>& users) {
    std::vector<std::uint64_t> out;
    for (auto u : users)
        if (!hub_.user_sessions(u).empty()) out.push_back(u);
    return out;
}

}  // namespace lp::router
