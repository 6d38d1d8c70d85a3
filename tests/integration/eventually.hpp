// tests/integration/eventually: the one way tests wait for something another thread or process
// does. Polls `pred` until it holds or `timeout` passes; the last answer decides, so a condition
// that becomes true just at the deadline still counts.
#pragma once

#include <chrono>
#include <thread>

namespace lp::testing {

template <class Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000),
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(poll);
    }
    return pred();
}

}  // namespace lp::testing
