// CoordinatorLease on librdkafka-shaped statistics reports: contact read from the coordinator's
// rxidle at the report's ts, expiry after the session timeout in any join state, and a fence
// lifted only by steady reports with contact for two heartbeat intervals and no rebalance.
#include "api/cluster/coordinator_lease.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::api::cluster {
namespace {

using std::chrono::milliseconds;

constexpr int64_t kMs = 1000;  // microseconds

// A report as librdkafka 2.0 writes it (the members the lease reads, plus a real broker).
std::string Report(int64_t ts_us, const std::string& coordinator_state, int64_t rxidle_us,
                   const std::string& join_state = "steady", int rebalances = 1) {
  nlohmann::json report = {
      {"name", "rdkafka#consumer-1"},
      {"type", "consumer"},
      {"ts", ts_us},
      {"brokers",
       {{"127.0.0.1:9092/1", {{"name", "127.0.0.1:9092/1"}, {"source", "learned"},
                              {"state", "UP"}, {"rxidle", 1}}},
        {"GroupCoordinator", {{"name", "GroupCoordinator"}, {"nodeid", 1},
                              {"source", "logical"}, {"state", coordinator_state},
                              {"rxidle", rxidle_us}}}}},
      {"topics", nlohmann::json::object()},
      {"cgrp", {{"state", "up"}, {"stateage", 100}, {"join_state", join_state},
                {"rebalance_age", 100}, {"rebalance_cnt", rebalances},
                {"rebalance_reason", ""}, {"assignment_size", 4}}}};
  return report.dump();
}

class CoordinatorLeaseTest : public ::testing::Test {
 protected:
  // 6 s session, 1.2 s heartbeat: the cluster tests' settings.
  CoordinatorLease lease_{milliseconds(6000), milliseconds(1200)};
};

TEST_F(CoordinatorLeaseTest, ContactIsTheReportTimeLessTheCoordinatorsReceiveIdleTime) {
  lease_.Renew(1000 * kMs);
  ASSERT_EQ(lease_.Observe(Report(10000 * kMs, "UP", 300 * kMs)), std::nullopt);
  EXPECT_EQ(lease_.contact_us(), 9700 * kMs);
  EXPECT_EQ(lease_.Silence(10000 * kMs), milliseconds(300));
  EXPECT_EQ(lease_.join_state(), "steady");
  // An older contact (a report served late) never moves it back.
  ASSERT_EQ(lease_.Observe(Report(9800 * kMs, "UP", 700 * kMs)), std::nullopt);
  EXPECT_EQ(lease_.contact_us(), 9700 * kMs);
}

TEST_F(CoordinatorLeaseTest, ADownOrNeverAnsweringCoordinatorGivesNoContact) {
  lease_.Renew(1000 * kMs);
  ASSERT_EQ(lease_.Observe(Report(5000 * kMs, "DOWN", 0)), std::nullopt);
  ASSERT_EQ(lease_.Observe(Report(5500 * kMs, "UP", -1)), std::nullopt);
  EXPECT_EQ(lease_.contact_us(), 1000 * kMs);
}

TEST_F(CoordinatorLeaseTest, ExpiresAfterTheSessionTimeoutInAnyJoinState) {
  lease_.Renew(1000 * kMs);
  // Cut off while waiting for a JoinGroup answer: librdkafka's own session check does not run.
  ASSERT_EQ(lease_.Observe(Report(2000 * kMs, "UP", 0, "wait-join")), std::nullopt);
  ASSERT_EQ(lease_.Observe(Report(7900 * kMs, "UP", 5900 * kMs, "wait-join")), std::nullopt);
  EXPECT_EQ(lease_.Expired(8000 * kMs), std::nullopt);
  EXPECT_EQ(lease_.Expired(8001 * kMs), milliseconds(6001));
  // Without any report: the last contact known counts (a stalled report stream is no contact).
  EXPECT_EQ(lease_.Expired(20000 * kMs), milliseconds(18000));
}

TEST_F(CoordinatorLeaseTest, NothingExpiresBeforeTheFirstContact) {
  EXPECT_EQ(lease_.Expired(1000000 * kMs), std::nullopt);
  EXPECT_EQ(lease_.Silence(1000000 * kMs), milliseconds(0));
}

TEST_F(CoordinatorLeaseTest, AFenceLiftsAfterTwoHeartbeatIntervalsOfSteadyContact) {
  lease_.Renew(1000 * kMs);
  ASSERT_EQ(lease_.Observe(Report(8000 * kMs, "UP", 7000 * kMs)), std::nullopt);
  lease_.Fenced(8000 * kMs);
  EXPECT_TRUE(lease_.fenced());
  // A report taken before the fence but served after it does not count.
  ASSERT_EQ(lease_.Observe(Report(7990 * kMs, "UP", 0)), std::nullopt);
  EXPECT_FALSE(lease_.Confirmed());
  // The coordinator answers again: steady for 2.4 s of reports with contact.
  ASSERT_EQ(lease_.Observe(Report(9000 * kMs, "UP", 100 * kMs)), std::nullopt);
  ASSERT_EQ(lease_.Observe(Report(10000 * kMs, "UP", 200 * kMs)), std::nullopt);
  EXPECT_FALSE(lease_.Confirmed());
  ASSERT_EQ(lease_.Observe(Report(11399 * kMs, "UP", 300 * kMs)), std::nullopt);
  EXPECT_FALSE(lease_.Confirmed());
  ASSERT_EQ(lease_.Observe(Report(11400 * kMs, "UP", 300 * kMs)), std::nullopt);
  EXPECT_TRUE(lease_.Confirmed());
  EXPECT_FALSE(lease_.fenced());
}

TEST_F(CoordinatorLeaseTest, AFenceStaysAfterARebalanceALeftSteadyStateOrStaleContact) {
  // A rebalance since the fence (librdkafka found the assignment lost): only a newer
  // generation (Renew) lifts it.
  lease_.Renew(1000 * kMs);
  ASSERT_EQ(lease_.Observe(Report(8000 * kMs, "UP", 7000 * kMs)), std::nullopt);
  lease_.Fenced(8000 * kMs);
  for (int64_t t = 9000; t <= 14000; t += 250) {
    ASSERT_EQ(lease_.Observe(Report(t * kMs, "UP", 100 * kMs, "steady", 2)), std::nullopt);
  }
  EXPECT_FALSE(lease_.Confirmed());
  lease_.Renew(14000 * kMs);
  EXPECT_FALSE(lease_.fenced());

  // Steady, then a report in another join state: the count starts again.
  CoordinatorLease lease(milliseconds(6000), milliseconds(1200));
  lease.Renew(1000 * kMs);
  ASSERT_EQ(lease.Observe(Report(8000 * kMs, "UP", 7000 * kMs)), std::nullopt);
  lease.Fenced(8000 * kMs);
  ASSERT_EQ(lease.Observe(Report(9000 * kMs, "UP", 0)), std::nullopt);
  ASSERT_EQ(lease.Observe(Report(10000 * kMs, "UP", 0, "wait-join")), std::nullopt);
  ASSERT_EQ(lease.Observe(Report(11500 * kMs, "UP", 0)), std::nullopt);
  EXPECT_FALSE(lease.Confirmed());
  ASSERT_EQ(lease.Observe(Report(13900 * kMs, "UP", 0)), std::nullopt);
  EXPECT_TRUE(lease.Confirmed());

  // Steady reports whose contact is older than two heartbeats do not count.
  CoordinatorLease stale(milliseconds(6000), milliseconds(1200));
  stale.Renew(1000 * kMs);
  ASSERT_EQ(stale.Observe(Report(8000 * kMs, "UP", 7000 * kMs)), std::nullopt);
  stale.Fenced(8000 * kMs);
  ASSERT_EQ(stale.Observe(Report(9000 * kMs, "UP", 500 * kMs)), std::nullopt);  // 8.5 s
  for (int64_t t = 11000; t <= 16000; t += 1000) {
    ASSERT_EQ(stale.Observe(Report(t * kMs, "DOWN", 0)), std::nullopt);
  }
  EXPECT_FALSE(stale.Confirmed());
}

TEST_F(CoordinatorLeaseTest, AReportItCannotReadIsNamedAndChangesNothing) {
  lease_.Renew(1000 * kMs);
  EXPECT_EQ(lease_.Observe("not json"), "not a JSON object");
  EXPECT_EQ(lease_.Observe(R"({"ts": "x"})"), "no integer \"ts\"");
  EXPECT_EQ(lease_.Observe(R"({"ts": 5000000})"), "no \"cgrp\" object");
  EXPECT_EQ(lease_.Observe(R"({"ts": 5000000, "cgrp": {"join_state": 3}})"),
            "no \"cgrp.join_state\" string and \"cgrp.rebalance_cnt\" integer");
  EXPECT_EQ(lease_.Observe(
                R"({"ts": 5000000, "cgrp": {"join_state": "steady", "rebalance_cnt": 1}})"),
            "no \"brokers\" object");
  EXPECT_EQ(lease_.contact_us(), 1000 * kMs);
  EXPECT_EQ(lease_.join_state(), "");
}

TEST_F(CoordinatorLeaseTest, NowIsTheMonotonicClockLibrdkafkaStampsReportsWith) {
  // rd_clock() is CLOCK_MONOTONIC on Linux, as is libstdc++'s steady_clock.
  const int64_t steady = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  const int64_t now = CoordinatorLease::NowUs();
  EXPECT_GE(now, steady);
  EXPECT_LT(now - steady, 1000000);
  EXPECT_LE(now, CoordinatorLease::NowUs());
}

}  // namespace
}  // namespace sluice::api::cluster
