// plugins/pk/pk_plugin: the built-in `pk` plugin (design.md section 7): PK battles between two
// whitelisted anchors, with live scores from gift events.
//
// This class is the plugin's face: it declares what the plugin owns and turns HTTP requests,
// BIZ packets, `gift` events and jobs into calls on PkBattles (pk_battles.hpp), which holds the
// rules and keeps all state in the store. It keeps no state of its own, so several nodes (or
// several instances in one test) can serve the same PKs.
//
// HTTP (internal API, operators and business services; bodies and answers are JSON):
//   POST /v1/pk/invite {from_anchor, from_room, to_anchor, to_room}  -> the PK (pk_id, state 0)
//   POST /v1/pk/{id}/accept [{anchor_id}]   the invitee accepts (anchor_id, when given, must
//   POST /v1/pk/{id}/reject [{anchor_id}]   be the invitee: 403 otherwise)
//   POST /v1/pk/{id}/close                  an operator closes it (state 4)
//   GET  /v1/pk/{id}                        {pk_id, state, scores, winner, phase_ends_at_ms,
//                                            anchors, rooms, reason, version}; winner is
//                                            the anchor id, null while undecided or on a draw
//   POST /v1/pk/whitelist {anchor_id}       adds an anchor; /whitelist/remove removes one;
//   GET  /v1/pk/whitelist/{anchor_id}       -> {anchor_id, whitelisted}
// Errors: {"error": "<what to fix>", "code": <status>}: 400 bad body or id, 403 not whitelisted
// or not the invitee, 404 unknown pk, 405 wrong method, 409 wrong state or anchor busy, 503
// store unavailable.
//
// BIZ types (the caller's user id is its anchor id): pk.invite {to_anchor, to_room, from_room},
// pk.accept {pk_id}, pk.reject {pk_id}, pk.get {pk_id}. Result.code is 0 or the HTTP status
// above; Result.data is the PK's view.
//
// Pushes: pk.state on every state change (qos1 to both anchors, qos0 to both rooms) and
// pk.score while scoring (qos0 to both rooms, at most one per score_push_interval_ms per PK).
// Config ([plugins.pk]): invite_timeout_ms (15000), scoring_ms (360000), penalty_ms (120000),
// score_push_interval_ms (200), retention_ms (86400000).
#pragma once

#include <memory>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

namespace pk {
class PkBattles;
}

class PkPlugin : public sdk::Plugin {
public:
    PkPlugin();
    ~PkPlugin() override;

    std::string name() const override { return "pk"; }
    std::vector<std::string> biz_types() const override;
    std::vector<sdk::Route> routes() const override;
    std::vector<std::string> event_topics() const override { return {"gift"}; }
    std::vector<std::string> job_topics() const override { return {"pk"}; }

    void start(sdk::Context& ctx) override;

    sdk::Reply on_biz(const sdk::BizRequest& req) override;
    sdk::Reply on_http(const sdk::HttpRequest& req) override;
    void on_event(const std::string& topic, const std::string& key,
                  const std::string& value_json) override;
    void on_job(const std::string& topic, const std::string& id, const std::string& body) override;
    std::string describe_event(const std::string& topic, const std::string& value_json) override;

private:
    sdk::Context* ctx_ = nullptr;
    std::unique_ptr<pk::PkBattles> battles_;
};

std::unique_ptr<sdk::Plugin> make_pk_plugin();

}  // namespace lp::plugins
