// plugins/pk/pk_record: one PK battle as the store keeps it and as clients see it.
//
// The record is the unit of the state machine: it is stored as JSON under `pk:{id}` and every
// transition replaces it with compare-and-set from the exact text that was read, so two nodes
// racing on one PK cannot both move it. `version` grows by one per transition, which keeps two
// records with equal content apart and lets clients order pushes that arrive out of order.
//
// Scores live beside the record while they grow (the hash `pk:{id}:scores`, hincr_by per gift);
// when scoring stops (penalty, draw, operator close) the transition copies them into `frozen`,
// and from then on the record alone is the truth (see pk_battles.hpp for why).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::plugins::pk {

// The link states of domain.md. The numbers are the wire values.
enum class PkState : int {
    invited = 0,  // not started: an open invitation
    scoring = 1,  // in progress: gifts to either anchor score
    penalty = 2,  // scores frozen, the loser performs the penalty
    ended = 3,    // over, with a winner (or a draw: winner 0)
    closed = 4,   // closed by an operator
    idle = 5,     // the invitation was rejected or expired
};

// 3, 4, 5: the anchors of such a PK are free to start or accept another.
bool is_terminal(PkState state);
// The timed phase a state is in ("invite", "scoring", "penalty"); nullptr for terminal states.
// It names the phase's delayed job: "<pk_id>:<phase>".
const char* phase_name(PkState state);

struct PkScores {
    std::int64_t from = 0;  // the inviter's points
    std::int64_t to = 0;    // the invitee's points
};

struct PkRecord {
    std::string pk_id;
    std::uint64_t version = 0;
    PkState state = PkState::invited;
    std::uint64_t from_anchor = 0;  // the inviter (an anchor's id is its user id)
    std::uint64_t from_room = 0;
    std::uint64_t to_anchor = 0;  // the invitee
    std::uint64_t to_room = 0;
    std::int64_t created_ms = 0;
    std::int64_t phase_ends_at_ms = 0;  // deadline of the current phase; 0 in terminal states
    std::uint64_t winner = 0;           // 0 = none (undecided, draw, closed)
    std::optional<PkScores> frozen;     // set once scoring has stopped
    std::string reason;                 // what made the last transition (invited, accepted, ...)

    bool has_anchor(std::uint64_t anchor) const {
        return anchor != 0 && (anchor == from_anchor || anchor == to_anchor);
    }

    std::string to_json() const;
    // nullopt when `text` is not a record this version wrote.
    static std::optional<PkRecord> from_json(std::string_view text);
};

// What GET answers and what pk.state / pk.score pushes carry:
// {"pk_id","state","scores":{"<anchor>":points,...},"winner","phase_ends_at_ms","anchors",
//  "rooms","reason","version"}. Ids are decimal strings (the API's rule: JavaScript loses
// integers above 2^53); winner "0" means none.
std::string view_json(const PkRecord& record, const PkScores& scores);

}  // namespace lp::plugins::pk
