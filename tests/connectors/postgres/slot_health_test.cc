// The slot retention guardrails' pure parts: levels and warning texts, the time-left estimate
// from the recent retained growth, the status object's shape, and parsing of the sample row.
#include "connectors/postgres/slot_health.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace sluice::pg {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kGiB = 1024 * kMiB;

SlotSample Sample(const std::string& wal_status, int64_t retained, int64_t safe, int64_t keep,
                  double at_s) {
  SlotSample s;
  s.exists = true;
  s.wal_status = wal_status;
  s.retained_bytes = retained;
  s.safe_wal_bytes = safe;
  s.max_keep_bytes = keep;
  s.at_s = at_s;
  return s;
}

TEST(SlotHealth, ReservedBelowTheThresholdIsOk) {
  SlotSample s = Sample("reserved", 10 * kMiB, -1, -1, 100);
  SlotHealth h = AssessSlot("s1", s, s, kGiB);
  EXPECT_EQ(h.level, SlotHealthLevel::kOk);
  EXPECT_TRUE(h.warning.empty());
  EXPECT_EQ(h.time_left_s, -1) << "unlimited max_slot_wal_keep_size: no time limit";
  EXPECT_EQ(h.growth_bytes_per_s, 0) << "one sample gives no rate";
}

TEST(SlotHealth, RetainedBytesPastTheThresholdWarnNamingTheSlotAndKey) {
  SlotSample s = Sample("reserved", 2 * kGiB, -1, -1, 100);
  SlotHealth h = AssessSlot("orders_slot", s, s, kGiB);
  EXPECT_EQ(h.level, SlotHealthLevel::kWarning);
  EXPECT_NE(h.warning.find("'orders_slot'"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("slot.retained.warn.bytes"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("2.0 GiB"), std::string::npos) << h.warning;
  EXPECT_EQ(AssessSlot("s", s, s, 0).level, SlotHealthLevel::kOk) << "0 turns the warning off";
}

TEST(SlotHealth, ExtendedWarnsAndUnreservedIsCriticalWithNoTimeLeft) {
  SlotSample ext = Sample("extended", kMiB, 500 * kMiB, kGiB, 0);
  EXPECT_EQ(AssessSlot("s", ext, ext, kGiB).level, SlotHealthLevel::kWarning);
  SlotSample un = Sample("unreserved", kGiB + kMiB, -kMiB, kGiB, 0);
  SlotHealth h = AssessSlot("s", un, un, 0);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);
  EXPECT_EQ(h.time_left_s, 0);
  EXPECT_NE(h.warning.find("next checkpoint"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("max_slot_wal_keep_size"), std::string::npos) << h.warning;
}

TEST(SlotHealth, TimeLeftIsSafeWalSizeOverTheRecentGrowth) {
  // 1 MiB/s of growth over 100 s, 3 h of safe WAL left at that rate: a day's margin is a warning.
  SlotSample old = Sample("reserved", 100 * kMiB, 0, 0, 1000);
  SlotSample now = Sample("reserved", 200 * kMiB, 3 * 3600 * kMiB, 20 * kGiB, 1100);
  SlotHealth h = AssessSlot("s", now, old, 0);
  EXPECT_DOUBLE_EQ(h.growth_bytes_per_s, static_cast<double>(kMiB));
  EXPECT_DOUBLE_EQ(h.time_left_s, 3 * 3600);
  EXPECT_EQ(h.level, SlotHealthLevel::kWarning);
  EXPECT_NE(h.warning.find("3h00m"), std::string::npos) << h.warning;

  now.safe_wal_bytes = 600 * kMiB;  // 10 minutes: critical
  h = AssessSlot("s", now, old, 0);
  EXPECT_DOUBLE_EQ(h.time_left_s, 600);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);

  now.safe_wal_bytes = 2 * 86400 * kMiB;  // two days: fine
  EXPECT_EQ(AssessSlot("s", now, old, 0).level, SlotHealthLevel::kOk);

  SlotSample shrinking = now;
  shrinking.retained_bytes = 50 * kMiB;  // the connector caught up: no estimate
  h = AssessSlot("s", shrinking, old, 0);
  EXPECT_LT(h.growth_bytes_per_s, 0);
  EXPECT_EQ(h.time_left_s, -1);
  EXPECT_EQ(h.level, SlotHealthLevel::kOk);
}

TEST(SlotHealth, TimeLeftBeforeMaxRetainedWalAtTheRecentGrowth) {
  // 1 MiB/s over 100 s; 10 GiB limit, 200 MiB retained: (10 GiB - 200 MiB) / 1 MiB/s left.
  SlotSample old = Sample("reserved", 100 * kMiB, -1, -1, 1000);
  SlotSample now = Sample("reserved", 200 * kMiB, -1, -1, 1100);
  SlotHealth h = AssessSlot("orders_slot", now, old, 0, 10 * kGiB);
  EXPECT_DOUBLE_EQ(h.limit_time_left_s, 10 * 1024 - 200);
  EXPECT_EQ(h.time_left_s, -1) << "the server has no limit";
  EXPECT_EQ(h.level, SlotHealthLevel::kWarning) << "within a day";
  EXPECT_NE(h.warning.find("'orders_slot'"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("slot.max.retained.wal (10.0 GiB)"), std::string::npos) << h.warning;
  EXPECT_NE(h.warning.find("2h47m"), std::string::npos) << h.warning;

  h = AssessSlot("s", now, old, 0, 1000 * kMiB);  // 800 s left: critical
  EXPECT_DOUBLE_EQ(h.limit_time_left_s, 800);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);

  EXPECT_EQ(AssessSlot("s", now, old, 0, 200 * kGiB).level, SlotHealthLevel::kOk)
      << "more than a day left";
  h = AssessSlot("s", now, old, 0, 0);
  EXPECT_EQ(h.limit_time_left_s, -1) << "no limit";
  h = AssessSlot("s", now, now, 0, 10 * kGiB);
  EXPECT_EQ(h.limit_time_left_s, -1) << "one sample gives no rate";
  EXPECT_EQ(h.level, SlotHealthLevel::kOk);
}

TEST(SlotHealth, PastMaxRetainedWalIsCriticalNamingSlotSizeLimitAndFix) {
  SlotSample s = Sample("reserved", 12 * kGiB, -1, -1, 0);
  SlotHealth h = AssessSlot("orders_slot", s, s, 0, 10 * kGiB);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);
  EXPECT_EQ(h.limit_time_left_s, 0);
  for (const char* part : {"'orders_slot'", "12.0 GiB", "slot.max.retained.wal (10.0 GiB)",
                           "keeps streaming", "speed up its sink", "delete it"}) {
    EXPECT_NE(h.warning.find(part), std::string::npos) << part << " in " << h.warning;
  }
  // Shrinking again (the connector catches up) but still past the limit: still critical.
  SlotSample older = Sample("reserved", 13 * kGiB, -1, -1, -100);
  EXPECT_EQ(AssessSlot("s", s, older, 0, 10 * kGiB).level, SlotHealthLevel::kCritical);

  auto j = nlohmann::json::parse(SlotHealthJson("orders_slot", s, h, 0, 10 * kGiB));
  EXPECT_EQ(j["max_retained_wal"], 10 * kGiB);
  EXPECT_EQ(j["max_retained_wal_time_left_s"], 0);
  EXPECT_EQ(j["level"], "critical");
}

TEST(SlotHealth, LostAndMissingAreCritical) {
  SlotSample lost = Sample("lost", -1, -1, kMiB, 0);
  SlotHealth h = AssessSlot("s9", lost, lost, kGiB);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);
  EXPECT_NE(h.warning.find("invalidated"), std::string::npos) << h.warning;
  SlotSample missing;
  h = AssessSlot("s9", missing, missing, kGiB);
  EXPECT_EQ(h.level, SlotHealthLevel::kCritical);
  EXPECT_NE(h.warning.find("'s9' does not exist"), std::string::npos) << h.warning;
  EXPECT_EQ(WalStatusCode(missing), -1);
  EXPECT_EQ(WalStatusCode(lost), 3);
  EXPECT_EQ(WalStatusCode(Sample("reserved", 0, 0, 0, 0)), 0);
  EXPECT_EQ(WalStatusCode(Sample("extended", 0, 0, 0, 0)), 1);
  EXPECT_EQ(WalStatusCode(Sample("unreserved", 0, 0, 0, 0)), 2);
}

TEST(SlotHealth, StatusObjectShape) {
  SlotSample s = Sample("reserved", 2 * kGiB, -1, -1, 0);
  auto j = nlohmann::json::parse(SlotHealthJson("s1", s, AssessSlot("s1", s, s, kGiB), 1234));
  EXPECT_EQ(j["name"], "s1");
  EXPECT_EQ(j["wal_status"], "reserved");
  EXPECT_EQ(j["retained_bytes"], 2 * kGiB);
  EXPECT_TRUE(j["safe_wal_size"].is_null()) << "unlimited";
  EXPECT_TRUE(j["max_slot_wal_keep_size"].is_null());
  EXPECT_TRUE(j["time_left_s"].is_null());
  EXPECT_EQ(j["level"], "warning");
  EXPECT_TRUE(j["warning"].is_string());
  EXPECT_EQ(j["sampled_unix_ms"], 1234);
  EXPECT_TRUE(j.contains("growth_bytes_per_s"));
  EXPECT_TRUE(j["max_retained_wal"].is_null()) << "no slot.max.retained.wal";
  EXPECT_TRUE(j["max_retained_wal_time_left_s"].is_null());

  SlotSample limited = Sample("reserved", kMiB, 63 * kMiB, 64 * kMiB, 0);
  j = nlohmann::json::parse(SlotHealthJson("s1", limited, AssessSlot("s1", limited, limited, kGiB), 0));
  EXPECT_EQ(j["safe_wal_size"], 63 * kMiB);
  EXPECT_EQ(j["max_slot_wal_keep_size"], 64 * kMiB);
  EXPECT_EQ(j["level"], "ok");
  EXPECT_TRUE(j["warning"].is_null());

  SlotSample missing;
  j = nlohmann::json::parse(SlotHealthJson("s1", missing, AssessSlot("s1", missing, missing, 0), 0));
  EXPECT_EQ(j["wal_status"], "missing");
  EXPECT_TRUE(j["retained_bytes"].is_null());
}

TEST(SlotHealth, ParsesTheSampleRow) {
  auto s = ParseSlotSample({"t", "reserved", "4096", std::nullopt, "-1"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->exists);
  EXPECT_EQ(s->retained_bytes, 4096);
  EXPECT_EQ(s->safe_wal_bytes, -1);
  EXPECT_EQ(s->max_keep_bytes, -1);
  s = ParseSlotSample({"t", "extended", "10", "20", "64"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->safe_wal_bytes, 20);
  EXPECT_EQ(s->max_keep_bytes, 64 * kMiB);
  s = ParseSlotSample({"f", std::nullopt, std::nullopt, std::nullopt, "64"});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->exists);
  EXPECT_FALSE(ParseSlotSample({"t"}).ok());
  EXPECT_NE(SlotSampleQuery("it's").find("'it''s'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::pg
