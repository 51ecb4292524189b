// The I/O threads of one endpoint (transport/io_pool.h): one context per
// thread, connections spread over them, a drain after stop, and a shutdown
// that releases what handlers of one context hold of another.
#include "transport/io_pool.h"

#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <set>
#include <thread>

namespace eccl::transport {
namespace {

using namespace std::chrono_literals;

// Runs `work` on `context` and waits for it.
template <typename Work>
auto runOn(asio::io_context& context, Work work) {
  std::promise<decltype(work())> done;
  auto result = done.get_future();
  asio::post(context, [&] { done.set_value(work()); });
  EXPECT_EQ(result.wait_for(10s), std::future_status::ready);
  return result.get();
}

TEST(IoPool, EachContextRunsOnItsOwnThreadAndNextGoesRoundRobin) {
  IoPool pool(3);
  std::set<std::thread::id> threads;
  std::set<asio::io_context*> contexts;
  for (int i = 0; i < 6; ++i) {
    asio::io_context& context = pool.next();
    contexts.insert(&context);
    threads.insert(runOn(context, [] { return std::this_thread::get_id(); }));
    EXPECT_TRUE(runOn(context, [&] { return pool.onIoThread(); }));
  }
  EXPECT_EQ(contexts.size(), 3u) << "six connections over three threads use every one";
  EXPECT_EQ(threads.size(), 3u) << "every context has a thread of its own";
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_FALSE(pool.onIoThread());
  EXPECT_TRUE(contexts.count(&pool.primary()));
}

TEST(IoPool, ABadThreadCountStillGivesOneThread) {
  IoPool pool(0);
  EXPECT_EQ(&pool.next(), &pool.primary());
  EXPECT_TRUE(runOn(pool.primary(), [&] { return pool.onIoThread(); }));
}

// Counts the objects alive, so the test sees what shutdown released.
struct Token {
  explicit Token(std::atomic<int>& counter) : live(counter) { ++live; }
  ~Token() { --live; }
  std::atomic<int>& live;
};

TEST(IoPool, HandlersHoldingTimersOfAnotherContextAreAllReleased) {
  std::atomic<int> live{0};
  {
    IoPool pool(2);
    asio::io_context& first = pool.next();
    asio::io_context& second = pool.next();
    ASSERT_NE(&first, &second);
    // A wait on the second context owns a timer of the first and the other
    // way round: whichever context shuts down first destroys a handler that
    // destroys a timer of the other.
    auto on_first = std::make_shared<asio::steady_timer>(first, 1h);
    auto on_second = std::make_shared<asio::steady_timer>(second, 1h);
    auto token_a = std::make_shared<Token>(live);
    auto token_b = std::make_shared<Token>(live);
    std::promise<void> armed;
    asio::post(first, [&] {
      on_first->async_wait([held = on_second, token_a](std::error_code) {});
      on_second->async_wait([held = on_first, token_b](std::error_code) {});
      armed.set_value();
    });
    ASSERT_EQ(armed.get_future().wait_for(10s), std::future_status::ready);
    on_first.reset();
    on_second.reset();
    token_a.reset();
    token_b.reset();
    EXPECT_EQ(live.load(), 2) << "the pending waits hold them";
  }
  EXPECT_EQ(live.load(), 0) << "destroying the pool destroyed every pending handler";
}

TEST(IoPool, DrainRunsWhatWasQueuedAfterStopOnTheCallingThread) {
  IoPool pool(2);
  pool.stop();
  std::thread::id ran_on_first, ran_on_second;
  asio::post(pool.next(), [&] { ran_on_first = std::this_thread::get_id(); });
  asio::post(pool.next(), [&] { ran_on_second = std::this_thread::get_id(); });
  pool.drain();
  EXPECT_EQ(ran_on_first, std::this_thread::get_id());
  EXPECT_EQ(ran_on_second, std::this_thread::get_id());
}

}  // namespace
}  // namespace eccl::transport
