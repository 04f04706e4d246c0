#include "core/metrics.h"

#include <gtest/gtest.h>

#include "core/progress.h"

namespace sluice::core {
namespace {

TEST(MetricsTest, RendersPrometheusText) {
  MetricsRegistry r;
  r.GetCounter("sluice_events_total", "Events", {{"connector", "a"}, {"op", "c"}}).Increment(3);
  r.GetGauge("sluice_lag_ms", "Lag", {{"connector", "a\"b"}}).Set(12.5);
  auto& h = r.GetHistogram("sluice_batch_seconds", "Latency", {{"connector", "a"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE sluice_events_total counter"), std::string::npos);
  EXPECT_NE(text.find("sluice_events_total{connector=\"a\",op=\"c\"} 3"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_lag_ms{connector=\"a\\\"b\"} 12.5"), std::string::npos) << text;
  EXPECT_NE(text.find("sluice_batch_seconds_bucket{connector=\"a\",le=\"0.10000000000000001\"} 1"),
            std::string::npos) << text;
  EXPECT_NE(text.find("sluice_batch_seconds_bucket{connector=\"a\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("sluice_batch_seconds_count{connector=\"a\"} 3"), std::string::npos);
}

TEST(MetricsTest, SameSeriesIsSharedAndRemovable) {
  MetricsRegistry r;
  Counter& a = r.GetCounter("c", "h", {{"connector", "x"}});
  Counter& b = r.GetCounter("c", "h", {{"connector", "x"}});
  EXPECT_EQ(&a, &b);
  r.RemoveSeriesWithLabel("connector", "x");
  EXPECT_EQ(r.RenderPrometheus().find("connector=\"x\""), std::string::npos);
}

TEST(ProgressTest, TracksTables) {
  ProgressTracker p;
  p.SetPhase("snapshot");
  p.AddTable("public.a", 100);
  p.AddRows("public.a", 40, 400);
  p.AddRows("public.a", 70, 700);
  p.MarkDone("public.a");
  auto s = p.Snapshot();
  EXPECT_EQ(s.phase, "snapshot");
  ASSERT_EQ(s.tables.size(), 1u);
  EXPECT_EQ(s.tables[0].rows_done, 110u);
  EXPECT_EQ(s.tables[0].rows_total, 110u) << "a finished table's total is at least what was read";
  EXPECT_TRUE(s.tables[0].done);
  p.ResetTable("public.a");
  EXPECT_EQ(p.Snapshot().tables[0].rows_done, 0u);
}

}  // namespace
}  // namespace sluice::core

namespace sluice::core {
namespace {

TEST(MetricsRegistry, SumWithLabelAddsTheSeriesOfOneConnector) {
  MetricsRegistry r;
  r.GetCounter("events", "h", {{"connector", "a"}, {"op", "c"}}).Increment(3);
  r.GetCounter("events", "h", {{"connector", "a"}, {"op", "u"}}).Increment(4);
  r.GetCounter("events", "h", {{"connector", "b"}, {"op", "c"}}).Increment(100);
  r.GetGauge("lag", "h", {{"connector", "a"}}).Set(2.5);
  EXPECT_EQ(r.SumWithLabel("events", "connector", "a"), 7);
  EXPECT_EQ(r.SumWithLabel("lag", "connector", "a"), 2.5);
  EXPECT_EQ(r.SumWithLabel("lag", "connector", "b"), 0);
  EXPECT_EQ(r.SumWithLabel("missing", "connector", "a"), 0);
  r.RemoveSeriesWithLabel("connector", "a");
  EXPECT_EQ(r.SumWithLabel("events", "connector", "a"), 0);
}

}  // namespace
}  // namespace sluice::core
