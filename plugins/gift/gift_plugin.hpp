// plugins/gift: room gift effects (domain.md "Gift effects").
//
// A gift event — from Kafka topic `gift` in cluster mode, or POST /v1/gift/events — becomes a
// `gift.effect` broadcast to the room (sender, gift, count, effect; room messages are coalesced
// by the node), and the sender gets a qos1 `gift.confirmed`; a failed event (status "failed")
// goes to the sender only as `gift.failed`. The same `gift` events feed the pk and rank
// plugins: every plugin consuming the topic gets each event once.
#pragma once

#include <memory>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

std::unique_ptr<sdk::Plugin> make_gift_plugin();

}  // namespace lp::plugins
