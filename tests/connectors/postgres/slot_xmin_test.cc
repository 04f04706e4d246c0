// SlotXminFetcher: when catalog_xmin is read again, and what a failed reading leaves.
#include "connectors/postgres/slot_xmin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>

namespace sluice::pg {
namespace {

using std::chrono::milliseconds;

struct ScriptedFetch {
  std::deque<core::Result<uint64_t>> answers;
  int calls = 0;
  SlotXminFetcher::Fetch fn() {
    return [this]() -> core::Result<uint64_t> {
      ++calls;
      core::Result<uint64_t> next = answers.front();
      answers.pop_front();
      return next;
    };
  }
};

TEST(SlotXminFetcherTest, ReadsFirstThenAtMostOncePerInterval) {
  ScriptedFetch script;
  script.answers = {uint64_t{741}, uint64_t{745}};
  SlotXminFetcher fetcher(milliseconds(500), script.fn(), nullptr);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(fetcher.Current(t0), 741u);
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(499)), 741u);
  EXPECT_EQ(script.calls, 1);
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(500)), 745u);
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(999)), 745u);
  EXPECT_EQ(script.calls, 2);
}

TEST(SlotXminFetcherTest, AFailedReadingKeepsTheLastValueAndRetriesAfterTheInterval) {
  ScriptedFetch script;
  script.answers = {core::UnavailableError("server closed the connection"), uint64_t{900},
                    core::UnavailableError("again"), uint64_t{0}};
  SlotXminFetcher fetcher(milliseconds(100), script.fn(), nullptr);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  EXPECT_EQ(fetcher.Current(t0), 0u) << "null before the first successful reading";
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(50)), 0u);
  EXPECT_EQ(script.calls, 1) << "a failure is not retried before the interval";
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(100)), 900u);
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(200)), 900u) << "kept across a failure";
  EXPECT_EQ(fetcher.Current(t0 + milliseconds(300)), 0u) << "a NULL catalog_xmin reads as null";
  EXPECT_EQ(script.calls, 4);
}

}  // namespace
}  // namespace sluice::pg
