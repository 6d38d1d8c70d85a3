// load-test/live_room_run: livepush-load's live-room scenario (issue 14): one room of
// --connections viewers on one node; the first --senders of them chat (room.chat, --chat-rate
// in total) and like (room.like {room_id, count}, --like-rate in total); a business service
// plays the gifts: POST /v1/push/room {type gift.effect, class high} at --gift-rate. For
// --duration-s, then a drain.
//
// Reports, per viewer: room messages received by class (min / median / max over the viewers
// and per second), gifts lost (must be 0: high is never shed), room_seq gaps (what the budget
// shed: not loss); per sender: own chats accepted and seen back (all); the chat refusals
// (RATE_LIMITED when over room.chat_rate_per_s); the likes totals seen (never going down,
// ending at the exact sum) or "not supported by server"; gift (high) latency from the API
// send, room.chat (normal) latency from Push.sent_at_ms; the server's CPU (--server-pid).
// The node's budget (room.viewer_budget_per_s) is the node's setting: the run script starts
// the node once with it on and once off (scripts/bench/live_room.sh).
//
// Owns this timeline and report only; the sessions are the shards' (load_shard_live.cpp sends
// the chats and likes, live_room_receiver.hpp keeps the books). Every wait is bounded.
#pragma once

#include <memory>

#include "load-test/load_options.hpp"
#include "load-test/scenario_run.hpp"

namespace lp::load {

// Sets what the shards check and send (run.load.live and the senders' rates).
std::unique_ptr<ScenarioRun> make_live_room_run(RunOptions& run);

}  // namespace lp::load
