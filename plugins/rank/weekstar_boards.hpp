// plugins/rank/weekstar_boards: the week-star boards as the store holds them.
//
// What it is for: every read and write of a board goes through here, so the key layout and
// the rules that keep boards exact under concurrency live in one place.
//
// Store layout (the host prefixes every key with "plugin:rank:"); {board} is
// {week}:{channel}:{gift}, e.g. 2026-W53:music:rose:
//   weekstar:realtime:{board}             zset receiver -> packed score (weekstar_score.hpp)
//   weekstar:supporters:{board}:{recv}    zset sender -> packed score (what sender gave recv)
//   weekstar:count:{board}:{recv}         "count:slot", the exact state behind a zset entry
//   weekstar:support_count:{board}:{recv}:{sender}   the same for a supporter entry
//   weekstar:boards:{week}                set of "{channel}:{gift}" that counted a gift that week
//   weekstar:settled:{board}              settlement JSON {winner, score, top_supporter, ...}
//   weekstar:settled_week:{week}          present once every board of the week is settled
//   weekstar:fine_since                   the first week packed at 10 ms (see "Packing")
// Realtime, supporter, count and boards keys expire `keep_weeks` after their week ends;
// settled results and the settled-week marks stay.
//
// Why a count key beside each zset entry: a new gift moves an entry to (count + n, the later
// of the two times), which is not an increment of the packed score, so it cannot be one
// zincr_by. The count key is advanced with compare_and_set (exact, and commutative: any order of
// the same gifts ends in the same state); then the zset is written from it and re-read until
// the zset holds the latest state, so two racing writers cannot leave an older score behind.
//
// Packing (weekstar_score.hpp): a week's boards are all in one packing, which the week decides.
// Weeks from weekstar:fine_since on use kTenMs (slot = 10 ms, F = 10^8); earlier weeks use the
// legacy kSecond (slot = 1 s, F = 10^6) that nodes before the upgrade wrote, in scores and in
// the count keys' slot. Key names are the same in both. fine_since is written once per store
// (set_if_absent) by the first upgraded node to need it: the current week when no board of it
// has counted anything yet (a new store, or a quiet week), else the next week. So a week in
// progress at upgrade time stays in seconds to its end, and old and new nodes share its boards
// during a rolling upgrade exactly as old nodes share them (same counts, same ordering, ties
// within a second by member); 10 ms ordering starts with the next week.
// What is NOT covered: an old node still running once the 10 ms week has begun (a rollout
// that spans Monday 00:00) reads "count:slot" as "count:second": it adds its gifts to the
// exact count correctly, but writes a seconds-packed score (about 100x smaller) that ranks the
// member below its count until an upgraded node counts that member again, and may keep a slot
// earlier than the real one. Finish a rolling upgrade within the week it started.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plugins/rank/iso_week.hpp"
#include "plugins/rank/weekstar_score.hpp"
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
    // `current_week`: this node's current week (decides fine_since when the store has none).
    WeekstarBoards(sdk::Store& store, std::function<IsoWeek()> current_week)
        : store_(store), current_week_(std::move(current_week)) {}

    static constexpr const char* kFineSinceKey = "weekstar:fine_since";
    // The packing of `week`'s boards ("YYYY-Www"); nullopt when the store failed. Reads (and,
    // the first time for a store, writes) fine_since once, then answers from memory.
    std::optional<Packing> packing_of(const std::string& week);

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
    // Adds `count` gifts reached in `slot` of the week (in `packing`'s slots) to `member`'s
    // exact count (count_key) and shows the result in `zset_key`. `keep`: the TTL of both.
    AddResult add(const std::string& zset_key, const std::string& count_key,
                  const std::string& member, std::int64_t count, std::int64_t slot,
                  const Packing& packing, std::chrono::milliseconds keep);
    // Writes `member`'s zset score from its count key (idempotent: heals a count_only add).
    bool republish(const std::string& zset_key, const std::string& count_key,
                   const std::string& member, const Packing& packing);
    // Remembers that the board counted something in its week (settlement walks these); the
    // week's list lives as long as its boards (`keep`).
    bool note_board(const BoardRef& b, std::chrono::milliseconds keep);

    // Highest first, ranks 1..n. nullopt when the store failed.
    std::optional<std::vector<BoardEntry>> top(const std::string& zset_key, std::size_t n,
                                               const Packing& packing);
    // The member's entry; an empty optional inside when it is not on the board.
    std::optional<std::optional<BoardEntry>> entry_of(const std::string& zset_key,
                                                      const std::string& member,
                                                      const Packing& packing);

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
                 const std::string& member, std::string state, const Packing& packing);

    sdk::Store& store_;
    std::function<IsoWeek()> current_week_;
    std::mutex fine_mu_;
    std::optional<std::string> fine_since_;  // cached once read: it never changes
};

}  // namespace lp::plugins::rank
