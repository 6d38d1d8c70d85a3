// plugins/rank/weekstar_boards: the week-star boards as the store holds them.
//
// What it is for: every read and write of a board goes through here, so the key layout and
// the rules that keep boards exact under concurrency live in one place.
//
// Store layout (the host prefixes every key with "plugin:rank:"); {board} is
// {week}:{channel}:{gift}, e.g. 2026-W53:music:rose:
//   weekstar:realtime:{board}             zset receiver -> packed score (weekstar_score.hpp)
//   weekstar:supporters:{board}:{recv}    zset sender -> packed score (what sender gave recv)
//   weekstar:count:{board}:{recv}         "count:second", the exact state behind a zset entry
//   weekstar:support_count:{board}:{recv}:{sender}   the same for a supporter entry
//   weekstar:boards:{week}                set of "{channel}:{gift}" that counted a gift that week
//   weekstar:settled:{board}              settlement JSON {winner, score, top_supporter, ...}
//   weekstar:settled_week:{week}          present once every board of the week is settled
// Realtime, supporter, count and boards keys expire `keep_weeks` after their week ends;
// settled results and the settled-week marks stay.
//
// Why a count key beside each zset entry: a new gift moves an entry to (count + n, the later
// of the two times), which is not an increment of the packed score, so it cannot be one
// zincr_by. The count key is advanced with compare_and_set (exact, and commutative: any order of
// the same gifts ends in the same state); then the zset is written from it and re-read until
// the zset holds the latest state, so two racing writers cannot leave an older score behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins::rank {

struct BoardRef {
    std::string week;  // "YYYY-Www"
    std::string channel;
    std::string gift;
    std::string id() const { return week + ":" + channel + ":" + gift; }
};

struct BoardEntry {
    std::string member;
    std::int64_t count = 0;
    std::int64_t rank = 0;  // 1-based
};

struct Settlement {
    std::optional<BoardEntry> winner;
    std::optional<BoardEntry> top_supporter;
    std::int64_t settled_ms = 0;
    std::string to_json(const BoardRef& board) const;
    static std::optional<Settlement> from_json(const std::string& text);
};

class WeekstarBoards {
public:
    explicit WeekstarBoards(sdk::Store& store) : store_(store) {}

    static std::string realtime_key(const BoardRef& b) { return "weekstar:realtime:" + b.id(); }
    static std::string supporters_key(const BoardRef& b, const std::string& receiver) {
        return "weekstar:supporters:" + b.id() + ":" + receiver;
    }
    static std::string settled_key(const BoardRef& b) { return "weekstar:settled:" + b.id(); }

    static std::string count_key(const BoardRef& b, const std::string& receiver) {
        return "weekstar:count:" + b.id() + ":" + receiver;
    }
    static std::string support_count_key(const BoardRef& b, const std::string& receiver,
                                         const std::string& sender) {
        return "weekstar:support_count:" + b.id() + ":" + receiver + ":" + sender;
    }

    enum class AddResult {
        added,       // the count advanced and the zset shows it
        count_only,  // the count advanced but writing the zset failed: republish() later
        failed,      // nothing changed (the store failed)
    };
    // Adds `count` gifts reached at `second` of the week to `member`'s exact count (count_key)
    // and shows the result in `zset_key`. `keep`: the TTL of both.
    AddResult add(const std::string& zset_key, const std::string& count_key,
                  const std::string& member, std::int64_t count, std::int64_t second,
                  std::chrono::milliseconds keep);
    // Writes `member`'s zset score from its count key (idempotent: heals a count_only add).
    bool republish(const std::string& zset_key, const std::string& count_key,
                   const std::string& member);
    // Remembers that the board counted something in its week (settlement walks these); the
    // week's list lives as long as its boards (`keep`).
    bool note_board(const BoardRef& b, std::chrono::milliseconds keep);

    // Highest first, ranks 1..n. nullopt when the store failed.
    std::optional<std::vector<BoardEntry>> top(const std::string& zset_key, std::size_t n);
    // The member's entry; an empty optional inside when it is not on the board.
    std::optional<std::optional<BoardEntry>> entry_of(const std::string& zset_key,
                                                      const std::string& member);

    // Settles the board (the winner and the winner's top supporter) once: a second call returns
    // the first result unchanged. nullopt when the store failed.
    std::optional<Settlement> settle(const BoardRef& b, std::int64_t now_ms);
    // Settles every board of the week, then marks the week settled. False when the store failed.
    bool settle_week(const std::string& week, std::int64_t now_ms);
    // The settled result; inner empty when not settled (yet). nullopt when the store failed.
    std::optional<std::optional<Settlement>> settled(const BoardRef& b);
    std::optional<bool> week_settled(const std::string& week);

    // get() that tells "absent" (inner empty) from "store unavailable" (nullopt).
    std::optional<std::optional<std::string>> read(const std::string& key);

private:
    // Writes the zset from `state` and re-reads the count key until the two agree.
    bool publish(const std::string& zset_key, const std::string& count_key,
                 const std::string& member, std::string state);

    sdk::Store& store_;
};

}  // namespace lp::plugins::rank
