// plugins/welcome: the platform's first-recharge pop-up (a room hook, SDK 5).
//
// A viewer still in a room `delay_s` seconds (default 30) after entering it, who is not in the
// recharged set, gets one qos1 `welcome.first_recharge` push {room_id} (online only: a pop-up
// is worthless at the next login), at most one a day (UTC) per user, cluster-wide.
//
// How: on_room_enter schedules a delayed job (topic welcome.first_recharge, id "user:room",
// cluster-safe through the node's job queue); on_room_leave (room.leave, a disconnect, a kick,
// a ban) cancels it. When it runs it checks the recharged set again and takes the day's mark
// with set_if_absent, so a job run twice (at least once delivery) pushes once. Guests (role
// guest) are skipped: their ids change with each connection and they cannot recharge.
//
// Store keys (under plugin:welcome:): recharged:{user} = "1" (no expiry); shown:{day}:{user} =
// "1", day = the UTC day number (days since 1970-01-01), expiring after two days.
//
// HTTP: POST /v1/welcome/recharged {user_id}: business services add a user who recharged; no
// pop-up is scheduled or pushed for them from then on.
//
// Counters: scheduled, cancelled, pushed, skipped_recharged, skipped_today, skipped_guest,
// push_failed (livepush_plugin_welcome_*_total).
#pragma once

#include <memory>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

std::unique_ptr<sdk::Plugin> make_welcome_plugin();

}  // namespace lp::plugins
