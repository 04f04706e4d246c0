// Polling until a condition holds, with a timeout that fails the test.
#ifndef SLUICE_INTEGRATION_COMMON_WAIT_H_
#define SLUICE_INTEGRATION_COMMON_WAIT_H_

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>

namespace sluice::itest {

// Throws HarnessError "timed out after N s waiting for: WHAT[; last check: ...]".
[[noreturn]] void ThrowWaitTimeout(std::chrono::milliseconds timeout, std::string_view what,
                                   const std::string& last_message);

// Calls `predicate` until it returns true (a bool or a testing::AssertionResult), every
// `interval`. On timeout it throws HarnessError naming `what` and, for an AssertionResult, the
// last failure message (e.g. the last table difference); GoogleTest then fails the test.
// Exceptions from the predicate propagate at once. Thread-safe if the predicate is.
//
//   WaitUntil([&] { return TablesMatch(Source(), Target()); }, 30s, "target catches up");
template <typename Predicate>
void WaitUntil(Predicate&& predicate, std::chrono::milliseconds timeout, std::string_view what,
               std::chrono::milliseconds interval = std::chrono::milliseconds(200)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_message;
  for (;;) {
    auto result = predicate();
    if constexpr (std::is_same_v<std::decay_t<decltype(result)>, ::testing::AssertionResult>) {
      if (result) return;
      last_message = result.message();
    } else {
      if (static_cast<bool>(result)) return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ThrowWaitTimeout(timeout, what, last_message);
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_WAIT_H_
