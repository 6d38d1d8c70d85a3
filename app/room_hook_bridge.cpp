// app/room_hook_bridge: see room_hook_bridge.hpp.
#include "app/room_hook_bridge.hpp"

#include "server/session.hpp"

namespace lp::app {

void RoomHookBridge::filter(Chat chat, std::function<void(Verdict)> done) {
    sdk::ChatToFilter c;
    c.user_id = chat.user_id;
    c.role = std::string(server::to_string(chat.role));
    c.room_id = chat.room_id;
    c.text = std::move(chat.text);
    c.profile_json = std::move(chat.profile_json);
    runner_.filter_chat(
        std::move(c), [done = std::move(done)](plugins::RoomHookRunner::FilterResult r) {
            using Outcome = plugins::RoomHookRunner::Outcome;
            Verdict v;
            if (r.pass) {
                v.kind = Verdict::Kind::Pass;
                v.text = std::move(r.text);
                v.rewritten = r.outcome == Outcome::Rewritten;
            } else {
                v.kind =
                    r.outcome == Outcome::Denied ? Verdict::Kind::Reject : Verdict::Kind::Unjudged;
                v.reason = std::move(r.reason);
            }
            done(std::move(v));
        });
}

void RoomHookBridge::on_member(const server::Session& s, std::uint64_t room, bool entered) {
    if (!runner_.wants_room_visits()) return;
    sdk::RoomVisit v{s.user.id, room, std::string(server::to_string(s.user.role))};
    if (entered)
        runner_.entered(std::move(v));
    else
        runner_.left(std::move(v));
}

}  // namespace lp::app
