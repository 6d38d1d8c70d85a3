// tests/push/connection_registry_test: the API's connection cap and idle eviction
// (push/connection_registry) with fake connections: no sockets, no threads.
#include "push/connection_registry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

namespace lp::push {
namespace {

using namespace std::chrono_literals;

// Like the API's connection: closing is asynchronous (close() only asks), and the connection
// leaves the registry when it is destroyed.
struct FakeConnection;
using Registry = ConnectionRegistry<FakeConnection>;
using Admit = Registry::Admit;

struct FakeConnection {
    explicit FakeConnection(Registry* r = nullptr) : registry(r) {}
    ~FakeConnection() {
        if (registry) registry->remove(this);
    }
    void close() { ++closes; }

    Registry* registry;
    int closes = 0;
};

// Idle times are told apart by the steady clock; a short sleep makes their order certain.
void later() {
    std::this_thread::sleep_for(2ms);
}

TEST(ConnectionRegistry, AdmitsUpToTheCapWithoutClosingAnything) {
    Registry r;
    auto a = std::make_shared<FakeConnection>();
    auto b = std::make_shared<FakeConnection>();
    EXPECT_EQ(r.admit(a, 2), Admit::Yes);
    EXPECT_EQ(r.admit(b, 2), Admit::Yes);
    EXPECT_EQ(a->closes + b->closes, 0);
}

TEST(ConnectionRegistry, AtTheCapTheLongestIdleConnectionIsClosedForTheNewOne) {
    Registry r;
    auto first = std::make_shared<FakeConnection>(&r);
    auto second = std::make_shared<FakeConnection>(&r);
    r.admit(first, 2);
    later();
    r.admit(second, 2);
    later();
    // `first` served a request and waits for its next one: idle since now, after `second`.
    r.set_idle(first.get(), false);
    r.set_idle(first.get(), true);
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(&r), 2), Admit::EvictedIdle);
    EXPECT_EQ(second->closes, 1);
    EXPECT_EQ(first->closes, 0);
}

TEST(ConnectionRegistry, AConnectionBusyWithARequestIsNeverClosedForANewcomer) {
    Registry r;
    auto busy = std::make_shared<FakeConnection>();
    auto idle = std::make_shared<FakeConnection>();
    r.admit(busy, 2);
    later();
    r.admit(idle, 2);
    r.set_idle(busy.get(), false);  // reading its body, being answered
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(), 2), Admit::EvictedIdle);
    EXPECT_EQ(busy->closes, 0);
    EXPECT_EQ(idle->closes, 1);
}

TEST(ConnectionRegistry, WhenEveryConnectionIsBusyTheNewOneIsRefused) {
    Registry r;
    auto a = std::make_shared<FakeConnection>();
    r.admit(a, 1);
    r.set_idle(a.get(), false);
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(), 1), Admit::OverLimit);
    EXPECT_EQ(a->closes, 0);
}

TEST(ConnectionRegistry, AnEvictedConnectionCountsUntilItIsGoneAndIsClosedOnce) {
    Registry r;
    auto first = std::make_shared<FakeConnection>(&r);
    r.admit(first, 2);
    later();
    auto second = std::make_shared<FakeConnection>(&r);
    r.admit(second, 2);
    r.set_idle(second.get(), false);
    auto third = std::make_shared<FakeConnection>(&r);
    EXPECT_EQ(r.admit(third, 2), Admit::EvictedIdle);
    r.set_idle(third.get(), false);
    // `first` is closing but not gone yet: it is not picked a second time, and it still counts
    // (three open, so even a cap of 3 admits nobody while the other two are busy).
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(&r), 2), Admit::OverLimit);
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(&r), 3), Admit::OverLimit);
    EXPECT_EQ(first->closes, 1);
    first.reset();  // its socket closed: it leaves the registry
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(&r), 3), Admit::Yes);
}

TEST(ConnectionRegistry, AfterCloseAllNothingIsAdmittedAndEveryOpenOneIsReturned) {
    Registry r;
    auto a = std::make_shared<FakeConnection>();
    auto b = std::make_shared<FakeConnection>();
    r.admit(a, 4);
    r.admit(b, 4);
    EXPECT_EQ(r.close_all().size(), 2u);
    EXPECT_EQ(r.admit(std::make_shared<FakeConnection>(), 4), Admit::Closing);
}

}  // namespace
}  // namespace lp::push
