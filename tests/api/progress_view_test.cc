#include "api/progress_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::api {
namespace {

core::ProgressSnapshot Snapshot() {
  core::ProgressSnapshot s;
  s.phase = "snapshot";
  s.elapsed_s = 10;
  s.tables = {{"public.a", 500, 1000, 4096, false, 0, 0},
              {"public.b", 300, 300, 1024, true, 2, 5},
              {"public.c", 10, 0, 80, false, 5, 0}};
  return s;
}

TEST(ProgressViewTest, RatesAndEta) {
  auto rates = ComputeRates(Snapshot());
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_DOUBLE_EQ(rates[0].percent, 50);
  EXPECT_DOUBLE_EQ(rates[0].rows_per_s, 50);
  EXPECT_DOUBLE_EQ(rates[0].eta_s, 10);
  EXPECT_DOUBLE_EQ(rates[1].percent, 100);
  EXPECT_DOUBLE_EQ(rates[1].rows_per_s, 100);
  EXPECT_DOUBLE_EQ(rates[1].eta_s, 0);
  EXPECT_LT(rates[2].percent, 0);  // no estimate
  EXPECT_LT(rates[2].eta_s, 0);
}

TEST(ProgressViewTest, Json) {
  auto j = ProgressToJson(Snapshot());
  EXPECT_EQ(j["rows_done"], 810);
  EXPECT_TRUE(j["percent"].is_null());  // one table has no estimate
  EXPECT_TRUE(j["tables"][2]["eta_s"].is_null());
  EXPECT_EQ(ProgressToJson(Snapshot(), true)["percent"], 100.0);
}

TEST(ProgressViewTest, Text) {
  EXPECT_EQ(FormatBytes(12), "12 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatDuration(42), "42s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(-1), "?");
  auto rates = ComputeRates(Snapshot());
  std::string line = FormatProgressLine(rates[0], 0);
  EXPECT_THAT(line, ::testing::HasSubstr(" 50.0%"));
  EXPECT_THAT(line, ::testing::HasSubstr("public.a"));
  EXPECT_THAT(line, ::testing::HasSubstr("ETA 10s"));
  EXPECT_LE(FormatProgressLine(rates[0], 40).size(), 40u);
  std::string table = FormatSummaryTable(Snapshot());
  EXPECT_THAT(table, ::testing::HasSubstr("total"));
  EXPECT_THAT(table, ::testing::HasSubstr("810"));
}

}  // namespace
}  // namespace sluice::api
