// push/moderation_routes: the API's moderation routes (docs/api.md, docs/rooms.md "Moderation"),
// over router::RoomModeration. The API acts as "system": any room, any target.
//   PUT  /v1/rooms/{id}/meta        {anchor_id, moderators: [ids]}   -> {"room_id","action"}
//   POST /v1/rooms/{id}/mute        {user_id, duration_s?}           ->
//   {"room_id","action","until_ms"} POST /v1/rooms/{id}/unmute      {user_id} POST
//   /v1/rooms/{id}/ban         {user_id, duration_s?} POST /v1/rooms/{id}/unban       {user_id}
//   (lifts a shadow ban too) POST /v1/rooms/{id}/mute_all    {on} POST /v1/rooms/{id}/slow_mode
//   {interval_s}       (0 = off) POST /v1/rooms/{id}/shadow_ban  {user_id, duration_s?} GET
//   /v1/rooms/{id}/moderation  -> {"room_id","anchor_id","moderators","muted","banned",
//                                      "shadow_banned" ([{"user_id","until_ms"}]),"mute_all",
//                                      "slow_mode_s"}
// Errors: 400 (bad id or body, BAD_BIZ_DATA), 409 (moderation.max_entries, ROOM_LIMIT),
// 503 (store down or no answer in time, UNAVAILABLE). Handlers run on the API's threads and
// wait (bounded) for the store.
#pragma once

#include <chrono>

#include "push/api.hpp"
#include "router/moderation.hpp"

namespace lp::push {

class HttpApi;

void add_moderation_routes(HttpApi& api, router::RoomModeration& moderation,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace lp::push
