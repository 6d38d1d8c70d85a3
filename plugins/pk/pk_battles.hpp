// plugins/pk/pk_battles: the PK battle state machine (domain.md, "PK battles"), kept entirely
// in the plugin store so that any node of a cluster can run any step of any PK.
//
// Store layout (the host prefixes every key with "plugin:pk:"):
//   pk:seq                 counter: pk ids (incr_by), unique across nodes
//   pk:{id}                the PkRecord JSON; every transition is compare_and_set(old → new)
//   pk:{id}:scores         hash anchor id → points, hincr_by per counted gift
//   pk:{id}:gift:{event}   idempotency mark of a counted gift event (set_if_absent, TTL)
//   pk:{id}:tick           score-push throttle: present for score_push_interval after a push
//   pk:{id}:trail          a trailing score push is scheduled (job "<id>:score")
//   pk:anchor:{anchor}     the anchor's current pk id (compare_and_set to claim it)
//   pk:whitelist           hash anchor id → "1"
// Room state (not in the plugin store): key "pk" of both rooms holds the latest view (the
// pk.state / pk.score payload), set with every push; see keep_in_room_state.
//
// Transitions (each one compare_and_set from the state it expects; the loser of a race sees
// 409 or, in a job, does nothing; only the winner pushes):
//   (new) → 0 invited   invite: both anchors whitelisted and free (their current PK, if any,
//                       in 3/4/5); the invitation expires at now + invite_timeout. The record
//                       is written first, then each anchor's pointer is claimed by CAS; if the
//                       second claim finds the anchor busy, the record (never shown) is retired
//                       to 5 "not_created", which frees the first anchor again.
//   0 → 1 scoring       accept by the invitee (both still whitelisted) before the deadline
//   0 → 5 idle          reject by the invitee before the deadline ("rejected"), or the
//                       "<id>:invite" job at the deadline ("expired"); an accept or reject
//                       that arrives after the deadline gets 409 and runs the expiry itself
//   1 → 2 penalty       the "<id>:scoring" job at the scoring deadline, scores unequal:
//                       scores frozen into the record, winner set, penalty until now + penalty
//   1 → 3 ended         the same job, scores equal: a draw, winner 0
//   2 → 3 ended         the "<id>:penalty" job at the penalty deadline
//   0/1/2 → 4 closed    an operator (scores frozen, winner 0, even when closed in penalty: a
//                       closed PK has no result); closing a closed PK answers 200 and changes
//                       nothing; closing an ended (3) or idle (5) PK is a 409
//
// Why it is cluster safe:
// - A phase's job is scheduled *before* the transition that enters the phase commits, so a node
//   dying right after the commit cannot leave a PK without its deadline (a job for a transition
//   that lost its race finds the state moved on and does nothing).
// - Jobs run at least once and may run early on a node whose clock is ahead: a phase job checks
//   the state it ends and the record's deadline, and reschedules itself if it came early.
// - A handler that finds a PK past its deadline (accept at the last moment, an invite naming a
//   busy anchor) runs the phase end itself: the same idempotent transition the job would run.
// - Anchors are freed by the PK reaching 3/4/5, never by clearing their pointer: the pointer
//   only moves by compare_and_set from the value the busy check read, so two invites racing
//   for one anchor cannot both claim it.
// - The scoring freeze is decided by handling time: a gift counts when it is handled while the
//   record says "scoring" and the handling node's clock is before phase_ends_at_ms. The
//   scoring-end transition snapshots the hash into the record; from then on the record's
//   frozen scores are the only ones shown, so a gift that passed its check a moment before the
//   deadline but whose hincr landed after the snapshot changes nothing visible (it is as if it
//   came after the deadline). Event time (ts_ms) is not used: producers' clocks are not ours.
// - Gift idempotency: the per-PK event mark is set before the hincr. A node dying between the
//   two loses that gift (at most once) rather than counting it twice.
// - Pushes are made by the transition's winner right after its commit: one push per
//   transition. A node dying between commit and push loses that push; anchors re-read with
//   pk.get (the record is the truth).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plugins/pk/gift_event.hpp"
#include "plugins/pk/pk_record.hpp"
#include "plugins/sdk/plugin.hpp"

namespace lp::plugins::pk {

// The answer to a request: an HTTP status (200, 400, 403, 404, 409, 503) and either the PK's
// view (view_json) or what went wrong.
struct PkOutcome {
    int status = 200;
    std::string error;
    std::string body_json;

    bool ok() const { return status == 200; }
};

// A pk id as the store makes them: 1 to 20 decimal digits.
bool is_pk_id(std::string_view text);

struct PkSettings {
    std::chrono::milliseconds invite_timeout{15000};
    std::chrono::milliseconds scoring{360000};
    std::chrono::milliseconds penalty{120000};
    std::chrono::milliseconds score_push_interval{200};     // at most one pk.score per interval
    std::chrono::milliseconds retention{24 * 3600 * 1000};  // how long ended PKs stay readable

    // From the plugin's config section: invite_timeout_ms, scoring_ms, penalty_ms,
    // score_push_interval_ms, retention_ms.
    static PkSettings from(const sdk::Context& ctx);
};

struct PkInvite {
    std::uint64_t from_anchor = 0;
    std::uint64_t from_room = 0;
    std::uint64_t to_anchor = 0;
    std::uint64_t to_room = 0;
};

class PkBattles {
public:
    static constexpr const char* kJobTopic = "pk";

    // `ctx` must have push, store and jobs; it outlives this object.
    PkBattles(sdk::Context& ctx, PkSettings settings);

    PkOutcome invite(const PkInvite& invite);
    // `by_anchor`: who asks (BIZ: the caller; HTTP: optional). Only the invitee may.
    PkOutcome accept(const std::string& pk_id, std::optional<std::uint64_t> by_anchor);
    PkOutcome reject(const std::string& pk_id, std::optional<std::uint64_t> by_anchor);
    PkOutcome close(const std::string& pk_id);
    PkOutcome get(const std::string& pk_id);

    PkOutcome whitelist_add(std::uint64_t anchor);
    PkOutcome whitelist_remove(std::uint64_t anchor);
    PkOutcome whitelist_get(std::uint64_t anchor);

    // A `gift` event: scores it if its anchor is scoring in a PK. Idempotent per event id.
    void on_gift(const GiftEvent& gift);
    // What on_gift would do now, as JSON {"scored": bool, "pk_id"?, "points"?, "reason"?};
    // changes nothing.
    std::string describe_gift(const GiftEvent& gift);
    // A job of topic "pk": "<pk_id>:invite|scoring|penalty" (phase ends), "<pk_id>:score"
    // (trailing score push).
    void on_job(const std::string& job_id);

private:
    struct Loaded {
        std::string text;  // exactly as stored: the compare_and_set's expectation
        PkRecord record;
    };
    // Why a transition did not happen. status 200 = nothing to do, answer with the record.
    struct Refusal {
        int status = 409;
        std::string error;
        bool overdue = false;  // the record's phase deadline has passed: end the phase first
        std::int64_t early_by_ms = 0;  // a phase job that came before its deadline
    };
    struct Advanced {
        PkOutcome outcome;
        std::optional<Refusal> refusal;  // set when nothing was committed
    };
    PkOutcome answer(const std::string& pk_id, std::optional<std::uint64_t> by_anchor, bool accept);
    // Reads the record, lets `change` edit a copy (or refuse), schedules the new phase's job
    // and commits with compare_and_set; re-reads and retries when another writer got there
    // first. `cancel_old_job`: cancel the job of the phase being left (not when that job is the
    // caller).
    template <class Change>
    Advanced advance(const std::string& pk_id, bool cancel_old_job, Change&& change);

    std::optional<Loaded> load(const std::string& pk_id);
    // The scores hash of `record`'s PK; nullopt when the store is unavailable.
    std::optional<PkScores> read_scores(const PkRecord& record);
    // Frozen scores when scoring has stopped, the live hash while scoring, zeros before.
    PkScores scores_to_show(const PkRecord& record);
    bool whitelisted(std::uint64_t anchor);

    // An anchor's pointer (pk:anchor:{id}) and, when that PK is still open, the PK keeping it
    // busy. A PK found past its phase deadline has that phase ended first.
    struct AnchorSlot {
        std::optional<std::string> pointer;
        std::optional<PkRecord> busy;
    };
    AnchorSlot anchor_slot(std::uint64_t anchor);
    static PkOutcome busy_error(std::uint64_t anchor, const PkRecord& busy);
    // Points `anchor` at `pk_id` when its current PK, if any, is over. status 200 on success.
    PkOutcome claim_anchor(std::uint64_t anchor, const std::string& pk_id);
    // Runs the end of the phase `phase` of `pk_id` (the job's work). Returns what happened.
    Advanced end_phase(const std::string& pk_id, PkState phase, bool from_job);
    void end_phase_job(const std::string& pk_id, PkState phase, const std::string& job_id);

    bool schedule_phase_job(const PkRecord& record, std::int64_t now_ms);
    // Cancels the old phase's job (when asked), pushes the new state; returns its view.
    std::string after_commit(const PkRecord& before, const PkRecord& after, bool cancel_old_job);
    void push_state(const PkRecord& record, const std::string& view);
    void score_changed(const PkRecord& record);
    void trailing_score_push(const std::string& pk_id);
    void push_scores(const PkRecord& record);
    // The battle's view as room state key "pk" in both rooms (SDK version 5), so a viewer who
    // enters mid-battle draws the score bar from room.enter's state at once.
    void keep_in_room_state(const PkRecord& record, const std::string& view);

    void count(const char* name, std::uint64_t n = 1);
    void warn(const std::string& message);

    sdk::Context& ctx_;
    PkSettings settings_;
};

}  // namespace lp::plugins::pk
