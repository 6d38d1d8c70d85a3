// ack/inbox_resync: see inbox_resync.hpp.
#include "ack/inbox_resync.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "ack/qos_delivery.hpp"

namespace lp::ack {

InboxResync::InboxResync(QosDelivery& delivery)
    : InboxResync(Recheck([&delivery] { return delivery.resync_local_users(); })) {}

InboxResync::InboxResync(Recheck recheck)
    : recheck_(std::move(recheck)), thread_([this] { run(); }) {}

InboxResync::~InboxResync() {
    stop();
}

void InboxResync::request() {
    {
        std::lock_guard lock(mu_);
        pending_ = true;
    }
    cv_.notify_one();
}

void InboxResync::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void InboxResync::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return pending_ || stopping_; });
        if (stopping_) return;
        pending_ = false;
        lock.unlock();
        try {
            const auto users = recheck_();
            spdlog::info("inbox re-check after a node left: {} local users had stored messages",
                         users);
        } catch (const std::exception& e) {
            spdlog::error("inbox re-check failed: {}", e.what());
        }
        lock.lock();
    }
}

}  // namespace lp::ack
