// plugins/pk/pk_battles: see pk_battles.hpp. About 610 lines: one battle's whole life (invite,
// start, scores, end, settle) is one state machine over the store, kept together so each
// transition's checks sit next to each other.
#include "plugins/pk/pk_battles.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "plugins/sdk/wall_clock.hpp"

namespace lp::plugins::pk {

namespace {

using std::chrono::milliseconds;

// Transitions of one PK are few (at most four), so a compare_and_set that keeps losing means
// the store is failing; give up after this many attempts.
constexpr int kMaxCasAttempts = 16;
// A phase end that failed because the store was unavailable is retried after this long.
constexpr milliseconds kRetryDelay{100};
// How long a gift's idempotency mark outlives the scoring phase (redeliveries and clock skew
// between nodes; after scoring, the state check alone rejects the event).
constexpr milliseconds kGiftMarkSlack{60'000};

const std::string kSeqKey = "pk:seq";
const std::string kWhitelistKey = "pk:whitelist";

std::string record_key(const std::string& id) {
    return "pk:" + id;
}
std::string scores_key(const std::string& id) {
    return "pk:" + id + ":scores";
}
std::string gift_key(const std::string& id, const std::string& event_id) {
    return "pk:" + id + ":gift:" + event_id;
}
std::string tick_key(const std::string& id) {
    return "pk:" + id + ":tick";
}
std::string trail_key(const std::string& id) {
    return "pk:" + id + ":trail";
}
std::string anchor_key(std::uint64_t anchor) {
    return "pk:anchor:" + std::to_string(anchor);
}

const char* state_text(PkState state) {
    switch (state) {
        case PkState::invited:
            return "an open invitation (state 0)";
        case PkState::scoring:
            return "scoring (state 1)";
        case PkState::penalty:
            return "in its penalty phase (state 2)";
        case PkState::ended:
            return "ended (state 3)";
        case PkState::closed:
            return "closed by an operator (state 4)";
        case PkState::idle:
            return "idle: rejected or expired (state 5)";
    }
    return "in an unknown state";
}

PkOutcome failure(int status, std::string error) {
    return PkOutcome{status, std::move(error), {}};
}

PkOutcome store_unavailable() {
    return failure(503, "the PK store is unavailable; retry");
}

std::string whitelist_body(std::uint64_t anchor, bool whitelisted) {
    return "{\"anchor_id\":\"" + std::to_string(anchor) +
           "\",\"whitelisted\":" + (whitelisted ? "true" : "false") + "}";
}

}  // namespace

bool is_pk_id(std::string_view text) {
    return !text.empty() && text.size() <= 20 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

PkSettings PkSettings::from(const sdk::Context& ctx) {
    PkSettings s;
    auto ms = [&](const char* key, milliseconds fallback) {
        return milliseconds(std::max<std::int64_t>(1, ctx.config_int(key, fallback.count())));
    };
    s.invite_timeout = ms("invite_timeout_ms", s.invite_timeout);
    s.scoring = ms("scoring_ms", s.scoring);
    s.penalty = ms("penalty_ms", s.penalty);
    s.score_push_interval = ms("score_push_interval_ms", s.score_push_interval);
    s.retention = ms("retention_ms", s.retention);
    return s;
}

PkBattles::PkBattles(sdk::Context& ctx, PkSettings settings) : ctx_(ctx), settings_(settings) {
    if (ctx_.push == nullptr || ctx_.store == nullptr || ctx_.jobs == nullptr) {
        throw std::invalid_argument("pk plugin: the context needs push, store and jobs");
    }
}

// ---------------------------------------------------------------- requests

PkOutcome PkBattles::invite(const PkInvite& in) {
    if (in.from_anchor == 0 || in.to_anchor == 0) {
        return failure(400, "\"from_anchor\" and \"to_anchor\" must be non-zero anchor ids");
    }
    if (in.from_room == 0 || in.to_room == 0) {
        return failure(400, "\"from_room\" and \"to_room\" must be non-zero room ids");
    }
    if (in.from_anchor == in.to_anchor) return failure(400, "an anchor cannot invite itself");
    if (in.from_room == in.to_room) return failure(400, "the two anchors need two rooms");
    for (std::uint64_t anchor : {in.from_anchor, in.to_anchor}) {
        if (!whitelisted(anchor)) {
            return failure(403, "anchor " + std::to_string(anchor) + " is not on the PK whitelist");
        }
    }

    // A read-only look first, so that the common refusal costs no id and no record; the claims
    // below decide.
    for (std::uint64_t anchor : {in.from_anchor, in.to_anchor}) {
        if (AnchorSlot slot = anchor_slot(anchor); slot.busy) return busy_error(anchor, *slot.busy);
    }

    auto seq = ctx_.store->incr_by(kSeqKey, 1);
    if (!seq) return store_unavailable();
    const std::int64_t now = sdk::wall_ms();
    PkRecord record;
    record.pk_id = std::to_string(*seq);
    record.version = 1;
    record.state = PkState::invited;
    record.from_anchor = in.from_anchor;
    record.from_room = in.from_room;
    record.to_anchor = in.to_anchor;
    record.to_room = in.to_room;
    record.created_ms = now;
    record.phase_ends_at_ms = now + settings_.invite_timeout.count();
    record.reason = "invited";

    // The expiry job first: a node dying after the record is written must not leave an
    // invitation (and two busy anchors) without a deadline.
    if (!schedule_phase_job(record, now)) return store_unavailable();
    const std::string text = record.to_json();
    const milliseconds ttl = settings_.invite_timeout + settings_.retention;
    if (!ctx_.store->set_if_absent(record_key(record.pk_id), text, ttl)) {
        ctx_.jobs->cancel(kJobTopic, record.pk_id + ":invite");
        return store_unavailable();
    }
    for (std::uint64_t anchor : {in.from_anchor, in.to_anchor}) {
        PkOutcome claimed = claim_anchor(anchor, record.pk_id);
        if (claimed.ok()) continue;
        // Never shown to anyone: retire it so that an anchor already pointing at it is free.
        PkRecord retired = record;
        retired.version = 2;
        retired.state = PkState::idle;
        retired.phase_ends_at_ms = 0;
        retired.reason = "not_created";
        if (ctx_.store->compare_and_set(record_key(record.pk_id), text, retired.to_json(),
                                        settings_.retention)) {
            ctx_.jobs->cancel(kJobTopic, record.pk_id + ":invite");
        }  // else the expiry job (or anchor_slot after the deadline) retires it
        return claimed;
    }
    count("invites");
    const std::string view = view_json(record, PkScores{});
    push_state(record, view);
    return PkOutcome{200, {}, view};
}

PkOutcome PkBattles::accept(const std::string& pk_id, std::optional<std::uint64_t> by_anchor) {
    return answer(pk_id, by_anchor, true);
}

PkOutcome PkBattles::reject(const std::string& pk_id, std::optional<std::uint64_t> by_anchor) {
    return answer(pk_id, by_anchor, false);
}

PkOutcome PkBattles::answer(const std::string& pk_id, std::optional<std::uint64_t> by_anchor,
                            bool accept) {
    auto change = [&](PkRecord& r, std::int64_t now) -> std::optional<Refusal> {
        if (by_anchor && *by_anchor != r.to_anchor) {
            return Refusal{403, "only the invited anchor (" + std::to_string(r.to_anchor) +
                                    ") may answer pk " + pk_id};
        }
        if (r.state != PkState::invited) {
            return Refusal{
                409, "pk " + pk_id + " is " + state_text(r.state) + ", not an open invitation"};
        }
        if (now >= r.phase_ends_at_ms) {
            return Refusal{409, "the invitation of pk " + pk_id + " has expired", true};
        }
        if (!accept) {
            r.state = PkState::idle;
            r.phase_ends_at_ms = 0;
            r.reason = "rejected";
            return std::nullopt;
        }
        for (std::uint64_t anchor : {r.from_anchor, r.to_anchor}) {
            if (!whitelisted(anchor)) {
                return Refusal{
                    403, "anchor " + std::to_string(anchor) + " is no longer on the PK whitelist"};
            }
        }
        r.state = PkState::scoring;
        r.phase_ends_at_ms = now + settings_.scoring.count();
        r.reason = "accepted";
        return std::nullopt;
    };
    Advanced result = advance(pk_id, true, change);
    // Answered after the deadline but before the expiry job ran: expire it now.
    if (result.refusal && result.refusal->overdue) end_phase(pk_id, PkState::invited, false);
    return result.outcome;
}

PkOutcome PkBattles::close(const std::string& pk_id) {
    auto change = [&](PkRecord& r, std::int64_t) -> std::optional<Refusal> {
        if (r.state == PkState::closed) return Refusal{200, {}};  // an operator's retry
        if (is_terminal(r.state)) {
            return Refusal{409, "pk " + pk_id + " is already over: " + state_text(r.state)};
        }
        if (!r.frozen && r.state == PkState::scoring) {
            auto scores = read_scores(r);
            if (!scores) return Refusal{503, "the PK store is unavailable; retry"};
            r.frozen = *scores;
        }
        if (!r.frozen) r.frozen = PkScores{};
        r.state = PkState::closed;
        r.winner = 0;
        r.phase_ends_at_ms = 0;
        r.reason = "closed";
        return std::nullopt;
    };
    return advance(pk_id, true, change).outcome;
}

PkOutcome PkBattles::get(const std::string& pk_id) {
    auto loaded = load(pk_id);
    if (!loaded) return failure(404, "unknown pk " + pk_id);
    return PkOutcome{200, {}, view_json(loaded->record, scores_to_show(loaded->record))};
}

PkOutcome PkBattles::whitelist_add(std::uint64_t anchor) {
    if (anchor == 0) return failure(400, "\"anchor_id\" must be a non-zero anchor id");
    if (!ctx_.store->hset(kWhitelistKey, std::to_string(anchor), "1")) return store_unavailable();
    return PkOutcome{200, {}, whitelist_body(anchor, true)};
}

PkOutcome PkBattles::whitelist_remove(std::uint64_t anchor) {
    if (anchor == 0) return failure(400, "\"anchor_id\" must be a non-zero anchor id");
    ctx_.store->hdel(kWhitelistKey, std::to_string(anchor));  // false also when absent
    return PkOutcome{200, {}, whitelist_body(anchor, false)};
}

PkOutcome PkBattles::whitelist_get(std::uint64_t anchor) {
    if (anchor == 0) return failure(400, "the anchor id must be non-zero");
    return PkOutcome{200, {}, whitelist_body(anchor, whitelisted(anchor))};
}

// ---------------------------------------------------------------- events and jobs

void PkBattles::on_gift(const GiftEvent& gift) {
    auto points = points_from_value(gift.value_text);
    if (!points) {
        count("gifts_invalid");
        warn("gift event " + gift.event_id +
             ": \"value\" is not a non-negative decimal: " + gift.value_text);
        return;
    }
    auto pk_id = ctx_.store->get(anchor_key(gift.anchor_id));
    if (*points == 0 || !pk_id) return count("gifts_ignored");
    auto loaded = load(*pk_id);
    if (!loaded || loaded->record.state != PkState::scoring ||
        !loaded->record.has_anchor(gift.anchor_id)) {
        return count("gifts_ignored");
    }
    const PkRecord& record = loaded->record;
    const std::int64_t now = sdk::wall_ms();
    if (now >= record.phase_ends_at_ms) return count("gifts_late");

    const milliseconds mark_ttl{record.phase_ends_at_ms - now + kGiftMarkSlack.count()};
    if (!ctx_.store->set_if_absent(gift_key(*pk_id, gift.event_id), "1", mark_ttl)) {
        return count("gifts_duplicate");
    }
    if (!ctx_.store->hincr_by(scores_key(*pk_id), std::to_string(gift.anchor_id), *points)) {
        // Not counted: let a redelivery try again.
        ctx_.store->del(gift_key(*pk_id, gift.event_id));
        count("gifts_failed");
        warn("gift event " + gift.event_id + " not counted in pk " + *pk_id +
             ": the store is unavailable");
        return;
    }
    count("gifts_counted");
    score_changed(record);
}

std::string PkBattles::describe_gift(const GiftEvent& gift) {
    const auto points = points_from_value(gift.value_text);
    const std::string anchor = std::to_string(gift.anchor_id);
    const auto said = [](bool scored, const std::string& extra) {
        return std::string("{\"scored\":") + (scored ? "true" : "false") + extra + "}";
    };
    const auto reason = [](const std::string& why) { return ",\"reason\":\"" + why + "\""; };
    if (!points) return said(false, reason("value is not a non-negative decimal"));
    if (*points == 0) return said(false, reason("a value under 0.1 scores no point"));
    auto pk_id = ctx_.store->get(anchor_key(gift.anchor_id));
    if (!pk_id) return said(false, reason("anchor " + anchor + " is in no PK"));
    auto loaded = load(*pk_id);
    const std::string id = ",\"pk_id\":\"" + *pk_id + "\"";
    if (!loaded || loaded->record.state != PkState::scoring ||
        !loaded->record.has_anchor(gift.anchor_id) ||
        sdk::wall_ms() >= loaded->record.phase_ends_at_ms)
        return said(false,
                    id + reason("PK " + *pk_id + " of anchor " + anchor + " is not scoring"));
    return said(true, id + ",\"points\":" + std::to_string(*points));
}

void PkBattles::on_job(const std::string& job_id) {
    const auto colon = job_id.rfind(':');
    const std::string pk_id = job_id.substr(0, colon == std::string::npos ? 0 : colon);
    const std::string phase = colon == std::string::npos ? "" : job_id.substr(colon + 1);
    if (!is_pk_id(pk_id)) return warn("pk job with a malformed id: " + job_id);
    if (phase == "invite") return end_phase_job(pk_id, PkState::invited, job_id);
    if (phase == "scoring") return end_phase_job(pk_id, PkState::scoring, job_id);
    if (phase == "penalty") return end_phase_job(pk_id, PkState::penalty, job_id);
    if (phase == "score") return trailing_score_push(pk_id);
    warn("pk job of an unknown kind: " + job_id);
}

void PkBattles::end_phase_job(const std::string& pk_id, PkState phase, const std::string& job_id) {
    Advanced result = end_phase(pk_id, phase, true);
    if (!result.refusal) return;
    if (result.refusal->early_by_ms > 0) {
        // This node's clock (or the queue's) is behind the one that set the deadline.
        ctx_.jobs->schedule(kJobTopic, job_id, milliseconds(result.refusal->early_by_ms), "{}");
    } else if (result.refusal->status == 503) {
        warn("pk " + pk_id + ": could not end phase " + phase_name(phase) +
             ", retrying: " + result.refusal->error);
        ctx_.jobs->schedule(kJobTopic, job_id, kRetryDelay, "{}");
    }
    // Anything else: the PK has moved on (a re-run, a race lost, closed): nothing to do.
}

PkBattles::Advanced PkBattles::end_phase(const std::string& pk_id, PkState phase, bool from_job) {
    return advance(pk_id, !from_job, [&](PkRecord& r, std::int64_t now) -> std::optional<Refusal> {
        if (r.state != phase) return Refusal{409, "pk " + pk_id + " is " + state_text(r.state)};
        if (now < r.phase_ends_at_ms) {
            return Refusal{409, "pk " + pk_id + ": the phase is not over yet", false,
                           r.phase_ends_at_ms - now};
        }
        switch (phase) {
            case PkState::invited:
                r.state = PkState::idle;
                r.reason = "expired";
                r.phase_ends_at_ms = 0;
                break;
            case PkState::scoring: {
                auto scores = read_scores(r);
                if (!scores) return Refusal{503, "the PK store is unavailable"};
                r.frozen = *scores;
                if (scores->from == scores->to) {
                    r.state = PkState::ended;
                    r.winner = 0;
                    r.reason = "draw";
                    r.phase_ends_at_ms = 0;
                } else {
                    r.state = PkState::penalty;
                    r.winner = scores->from > scores->to ? r.from_anchor : r.to_anchor;
                    r.reason = "scoring_ended";
                    r.phase_ends_at_ms = now + settings_.penalty.count();
                }
                break;
            }
            case PkState::penalty:
                r.state = PkState::ended;
                r.reason = "penalty_ended";
                r.phase_ends_at_ms = 0;
                break;
            default:
                return Refusal{409, "not a timed phase"};
        }
        return std::nullopt;
    });
}

// ---------------------------------------------------------------- the state machine's core

template <class Change>
PkBattles::Advanced PkBattles::advance(const std::string& pk_id, bool cancel_old_job,
                                       Change&& change) {
    for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
        auto loaded = load(pk_id);
        if (!loaded) {
            return Advanced{failure(404, "unknown pk " + pk_id), Refusal{404, "unknown pk"}};
        }
        PkRecord next = loaded->record;
        const std::int64_t now = sdk::wall_ms();
        if (std::optional<Refusal> refusal = change(next, now)) {
            if (refusal->status == 200) {
                return Advanced{
                    PkOutcome{200, {}, view_json(loaded->record, scores_to_show(loaded->record))},
                    refusal};
            }
            return Advanced{failure(refusal->status, refusal->error), refusal};
        }
        next.version = loaded->record.version + 1;
        // The new phase's job before the commit (see the header): a job of a transition that
        // then loses its race finds the state moved on and does nothing.
        if (!schedule_phase_job(next, now)) {
            return Advanced{store_unavailable(), Refusal{503, "could not schedule"}};
        }
        const milliseconds ttl = settings_.retention + milliseconds(std::max<std::int64_t>(
                                                           0, next.phase_ends_at_ms - now));
        if (!ctx_.store->compare_and_set(record_key(pk_id), loaded->text, next.to_json(), ttl)) {
            continue;  // another node moved it (or the store failed): look again
        }
        count("transitions");
        std::string view = after_commit(loaded->record, next, cancel_old_job);
        return Advanced{PkOutcome{200, {}, std::move(view)}, std::nullopt};
    }
    return Advanced{store_unavailable(), Refusal{503, "compare_and_set kept failing"}};
}

std::string PkBattles::after_commit(const PkRecord& before, const PkRecord& after,
                                    bool cancel_old_job) {
    const char* old_phase = phase_name(before.state);
    if (cancel_old_job && old_phase != nullptr && before.state != after.state) {
        ctx_.jobs->cancel(kJobTopic, after.pk_id + ":" + old_phase);
    }
    if (before.state == PkState::scoring) {
        // The record holds the frozen scores now; the hash only has to outlive late readers.
        ctx_.store->expire(scores_key(after.pk_id), settings_.retention);
    }
    std::string view = view_json(after, scores_to_show(after));
    push_state(after, view);
    return view;
}

bool PkBattles::schedule_phase_job(const PkRecord& record, std::int64_t now) {
    const char* phase = phase_name(record.state);
    if (phase == nullptr) return true;
    const milliseconds delay{std::max<std::int64_t>(0, record.phase_ends_at_ms - now)};
    return ctx_.jobs->schedule(kJobTopic, record.pk_id + ":" + phase, delay, "{}");
}

PkBattles::AnchorSlot PkBattles::anchor_slot(std::uint64_t anchor) {
    AnchorSlot slot;
    slot.pointer = ctx_.store->get(anchor_key(anchor));
    if (!slot.pointer) return slot;
    auto loaded = load(*slot.pointer);
    if (!loaded || is_terminal(loaded->record.state)) return slot;
    if (sdk::wall_ms() >= loaded->record.phase_ends_at_ms) {
        // Its deadline has passed and its job has not run yet: run the phase end here.
        end_phase(loaded->record.pk_id, loaded->record.state, false);
        slot.pointer = ctx_.store->get(anchor_key(anchor));
        if (!slot.pointer) return slot;
        loaded = load(*slot.pointer);
        if (!loaded || is_terminal(loaded->record.state)) return slot;
    }
    slot.busy = std::move(loaded->record);
    return slot;
}

PkOutcome PkBattles::busy_error(std::uint64_t anchor, const PkRecord& busy) {
    return failure(409, "anchor " + std::to_string(anchor) + " is busy: pk " + busy.pk_id + " is " +
                            state_text(busy.state));
}

PkOutcome PkBattles::claim_anchor(std::uint64_t anchor, const std::string& pk_id) {
    const milliseconds ttl =
        settings_.invite_timeout + settings_.scoring + settings_.penalty + settings_.retention;
    for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
        AnchorSlot slot = anchor_slot(anchor);
        if (slot.busy && slot.busy->pk_id != pk_id) return busy_error(anchor, *slot.busy);
        if (ctx_.store->compare_and_set(anchor_key(anchor), slot.pointer, pk_id, ttl)) {
            return PkOutcome{};
        }
    }
    return store_unavailable();
}

// ---------------------------------------------------------------- reading

std::optional<PkBattles::Loaded> PkBattles::load(const std::string& pk_id) {
    auto text = ctx_.store->get(record_key(pk_id));
    if (!text) return std::nullopt;
    auto record = PkRecord::from_json(*text);
    if (!record) {
        warn("pk " + pk_id + ": unreadable record");
        return std::nullopt;
    }
    return Loaded{std::move(*text), std::move(*record)};
}

std::optional<PkScores> PkBattles::read_scores(const PkRecord& record) {
    auto hash = ctx_.store->hgetall(scores_key(record.pk_id));
    if (!hash) return std::nullopt;
    auto points = [&](std::uint64_t anchor) -> std::int64_t {
        auto it = hash->find(std::to_string(anchor));
        if (it == hash->end()) return 0;
        try {
            return std::stoll(it->second);
        } catch (const std::exception&) {
            return 0;
        }
    };
    return PkScores{points(record.from_anchor), points(record.to_anchor)};
}

PkScores PkBattles::scores_to_show(const PkRecord& record) {
    if (record.frozen) return *record.frozen;
    if (record.state != PkState::scoring) return PkScores{};
    return read_scores(record).value_or(PkScores{});
}

bool PkBattles::whitelisted(std::uint64_t anchor) {
    return ctx_.store->hget(kWhitelistKey, std::to_string(anchor)).has_value();
}

// ---------------------------------------------------------------- pushes

void PkBattles::push_state(const PkRecord& record, const std::string& view) {
    sdk::PushOptions anchors;
    anchors.qos = 1;
    const sdk::PushOptions rooms;  // qos0
    bool ok = true;
    for (std::uint64_t anchor : {record.from_anchor, record.to_anchor}) {
        ok &= ctx_.push->to_user(anchor, "pk.state", view, anchors).ok;
    }
    for (std::uint64_t room : {record.from_room, record.to_room}) {
        // Critical: a state change (and the result it carries) is never shed by a budget.
        ok &= ctx_.push->to_room_as(sdk::RoomClass::Critical, room, "pk.state", view, rooms).ok;
    }
    if (!ok) {
        count("push_failures");
        warn("pk " + record.pk_id + ": a pk.state push failed");
    }
    keep_in_room_state(record, view);
}

void PkBattles::keep_in_room_state(const PkRecord& record, const std::string& view) {
    if (ctx_.room_state == nullptr) return;  // a host without room state (SDK < 5 semantics)
    for (std::uint64_t room : {record.from_room, record.to_room}) {
        const sdk::RoomStateResult r = ctx_.room_state->set(room, "pk", view);
        if (!r.ok) {
            count("room_state_failures");
            warn("pk " + record.pk_id + ": room state \"pk\" of room " + std::to_string(room) +
                 " not set: " + r.error);
        }
    }
}

// Throttle, cluster-wide through the store: a push takes the `tick` (set_if_absent with a TTL
// of one interval); a change that finds the tick taken makes sure one trailing push is
// scheduled (the `trail` mark), which reads the scores when it runs, so the latest score is
// always delivered, at most one interval late (two when a leading push took the tick first).
void PkBattles::score_changed(const PkRecord& record) {
    const milliseconds interval = settings_.score_push_interval;
    if (ctx_.store->set_if_absent(tick_key(record.pk_id), "1", interval)) {
        push_scores(record);
        return;
    }
    // The mark expires on its own in case the job is lost with the store.
    if (ctx_.store->set_if_absent(trail_key(record.pk_id), "1", interval * 5)) {
        ctx_.jobs->schedule(kJobTopic, record.pk_id + ":score", interval, "{}");
    }
}

void PkBattles::trailing_score_push(const std::string& pk_id) {
    // Clear the mark before reading: a change after this point schedules its own push.
    ctx_.store->del(trail_key(pk_id));
    auto loaded = load(pk_id);
    if (!loaded || loaded->record.state != PkState::scoring) return;  // pk.state carried them
    const milliseconds interval = settings_.score_push_interval;
    if (!ctx_.store->set_if_absent(tick_key(pk_id), "1", interval)) {
        // A leading push went out within the interval; changes after it still need one.
        if (ctx_.store->set_if_absent(trail_key(pk_id), "1", interval * 5)) {
            ctx_.jobs->schedule(kJobTopic, pk_id + ":score", interval, "{}");
        }
        return;
    }
    push_scores(loaded->record);
}

void PkBattles::push_scores(const PkRecord& record) {
    auto scores = read_scores(record);
    if (!scores) return;
    const std::string view = view_json(record, *scores);
    bool ok = true;
    for (std::uint64_t room : {record.from_room, record.to_room}) {
        // High: the score bar is never shed by a viewer budget.
        ok &= ctx_.push->to_room_as(sdk::RoomClass::High, room, "pk.score", view).ok;
    }
    count("score_pushes");
    if (!ok) count("push_failures");
    keep_in_room_state(record, view);
    // A transition (scoring end, close) may have set "pk" while this push read the scores: its
    // view must stay the last word, so re-read the record and restore it if it moved on.
    auto now = load(record.pk_id);
    if (now && now->record.state != PkState::scoring)
        keep_in_room_state(now->record, view_json(now->record, scores_to_show(now->record)));
}

// ---------------------------------------------------------------- logs and counters

void PkBattles::count(const char* name, std::uint64_t n) {
    if (ctx_.metrics != nullptr) ctx_.metrics->count(name, n);
}

void PkBattles::warn(const std::string& message) {
    if (ctx_.log != nullptr) ctx_.log->warn(message);
}

}  // namespace lp::plugins::pk
