// ack/memory_inbox: the embedded-mode inbox. Per-user deques over 16 striped maps, capped per
// user and by TTL. Lost when the process exits; cluster mode uses Redis instead.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "ack/defaults.hpp"
#include "ack/inbox_store.hpp"

namespace lp::ack {

class MemoryInbox final : public InboxStore {
public:
    // max_per_sender: messages from one (non-zero) sender in one inbox; 0 = no share.
    explicit MemoryInbox(std::size_t max_per_user = kDefaultInboxMax,
                         std::size_t max_per_sender = 0)
        : max_per_user_(max_per_user), max_per_sender_(max_per_sender) {}
    [[nodiscard]] bool append(std::uint64_t user, const StoredMessage& m) override;  // always true
    [[nodiscard]] AppendResult append_checked(std::uint64_t user, const StoredMessage& m) override;
    // Messages from `sender` in `user`'s inbox now (for tests).
    std::size_t from_sender(std::uint64_t user, std::uint64_t sender);
    std::vector<StoredMessage> load(std::uint64_t user, std::size_t max) override;
    void remove(std::uint64_t user, const std::vector<std::uint64_t>& msg_ids) override;
    std::size_t size(std::uint64_t user) override;
    void sweep(std::uint64_t now_ms) override;
    InboxCounters counters() const override;

private:
    // One user's messages, oldest first, and the largest msg_id ever appended: ids mostly
    // grow, so an append above it cannot be a duplicate and skips the scan of the queue.
    struct UserInbox {
        std::deque<StoredMessage> q;
        std::uint64_t max_id = 0;
        std::unordered_map<std::uint64_t, std::uint32_t> per_sender;  // sender != 0 -> held
    };
    struct alignas(64) Stripe {
        std::mutex mu;
        std::unordered_map<std::uint64_t, UserInbox> users;
    };
    Stripe& stripe(std::uint64_t user) { return stripes_[(user * 0x9E3779B97F4A7C15ull) >> 60]; }
    // Drops expired messages at the front and back-fills counters; the stripe is locked.
    void drop_expired(UserInbox& u, std::uint64_t now_ms);
    void erase_if_empty(Stripe& st, std::uint64_t user);
    static void forget_sender(UserInbox& u, const StoredMessage& m);
    AppendResult append_locked(std::uint64_t user, const StoredMessage& m, bool check_share);

    std::size_t max_per_user_;
    std::size_t max_per_sender_;
    std::array<Stripe, 16> stripes_;
    std::atomic<std::uint64_t> stored_{0}, duplicates_{0}, dropped_cap_{0}, expired_{0},
        removed_{0}, size_{0}, users_{0}, share_full_{0};
};

}  // namespace lp::ack
