// handlers/gateway_chat_filter: a room.chat that the chat filter (the plugins' filter_chat room
// hook) judges before it is published. The loop only hands the chat over; the verdict comes
// back from another thread and is posted to the sender's loop, where the chat is published as
// it would have been without a filter (its text perhaps rewritten) or refused: CHAT_REJECTED
// with the plugin's reason, or CHAT_FILTER_TIMEOUT when no verdict came in time and the filter
// fails closed. It must never wait on the filter on the loop.
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "handlers/biz_data.hpp"
#include "handlers/gateway.hpp"
#include "server/event_loop.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using server::Session;

BizReply Gateway::filter_then_publish(BizCall& c, std::uint64_t room, std::string text, bool shadow,
                                      bool staff) {
    ChatFilter::Chat chat;
    chat.user_id = c.session.user.id;
    chat.role = c.session.user.role;
    chat.room_id = room;
    chat.text = std::move(text);
    if (c.session.user.profile) chat.profile_json = *c.session.user.profile;
    BizReply r;
    r.defer = [this, weak = std::weak_ptr<Session>(c.session.shared_from_this()),
               &io = c.session.loop().io(), room, shadow, staff,
               chat = std::move(chat)](std::function<void(BizReply)> done) mutable {
        chat_filter_->filter(std::move(chat), [this, weak, &io, room, shadow, staff,
                                               done =
                                                   std::move(done)](ChatFilter::Verdict v) mutable {
            boost::asio::post(io, [this, weak, room, shadow, staff, v = std::move(v),
                                   done = std::move(done)]() mutable {
                auto sp = weak.lock();
                if (!sp || sp->closing()) return done(BizReply{});  // nobody to answer
                if (v.kind == ChatFilter::Verdict::Kind::Reject)
                    return done(error_reply(pb::CHAT_REJECTED, "room.chat refused: " + v.reason));
                if (v.kind == ChatFilter::Verdict::Kind::Unjudged)
                    return done(error_reply(pb::CHAT_FILTER_TIMEOUT,
                                            "room.chat not published: " + v.reason));
                // The sender may have left while the filter judged.
                bool member = false;
                for (const auto& r : sp->rooms) member |= r.room_id == room;
                if (!member)
                    return done(
                        error_reply(pb::NOT_IN_ROOM, "room.chat: not in room " + id_str(room)));
                BizReply out = publish_chat(*sp, room, v.text, shadow, staff);
                if (v.rewritten) {
                    // The sender learns what the room saw.
                    auto data = json::parse(out.data_json).as_object();
                    data["text"] = v.text;
                    data["rewritten"] = true;
                    out.data_json = json::serialize(data);
                }
                done(std::move(out));
            });
        });
    };
    return r;
}

}  // namespace lp::handlers
