// The web console's pieces: the metrics-history ring buffer and rates, and the embedded
// assets' serving (content types, security headers, ETag, gzip, HEAD, 404, auth bypass).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api/console.h"
#include "api/metrics_history.h"

namespace sluice::api {
namespace {

HistorySample At(int64_t ms) {
  HistorySample s;
  s.unix_ms = ms;
  return s;
}

TEST(SampleRing, KeepsTheNewestCapacitySamplesOldestFirst) {
  SampleRing ring(3);
  EXPECT_TRUE(ring.Samples().empty());
  for (int64_t i = 1; i <= 5; ++i) ring.Push(At(i));
  auto s = ring.Samples();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].unix_ms, 3);
  EXPECT_EQ(s[1].unix_ms, 4);
  EXPECT_EQ(s[2].unix_ms, 5);
  EXPECT_EQ(ring.capacity(), 3u);
}

TEST(MetricsHistory, TurnsCountersIntoRatesAndForgetsDeletedConnectors) {
  MetricsHistory history(720, std::chrono::milliseconds(5000));
  ConnectorReading a{"a", 100, 0, 1000, 12, 3, 300};
  history.Record(10000, {a});
  ASSERT_TRUE(history.Get("a").has_value());
  EXPECT_TRUE(history.Get("a")->empty());  // the first reading is the baseline
  a.events_total = 600;                     // +500 in 5 s
  a.snapshot_rows_total = 50;
  a.bytes_total = 6000;
  history.Record(15000, {a});
  auto samples = *history.Get("a");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_FLOAT_EQ(samples[0].events_per_s, 100);
  EXPECT_FLOAT_EQ(samples[0].rows_per_s, 10);
  EXPECT_FLOAT_EQ(samples[0].bytes_per_s, 1000);
  EXPECT_FLOAT_EQ(samples[0].lag_ms, 12);
  EXPECT_FLOAT_EQ(samples[0].queue_events, 3);
  a.events_total = 10;  // re-created under the same name: no negative rate
  history.Record(20000, {a});
  EXPECT_FLOAT_EQ(history.Get("a")->back().events_per_s, 0);

  nlohmann::json j = history.ToJson("a");
  EXPECT_EQ(j["interval_ms"], 5000);
  EXPECT_EQ(j["bytes_per_connector"], 720 * 40);
  EXPECT_EQ(j["series"]["unix_ms"].size(), 2u);
  EXPECT_EQ(j["series"]["events_per_s"][0], 100);

  history.Record(25000, {});
  EXPECT_FALSE(history.Get("a").has_value());
  EXPECT_TRUE(history.ToJson("a")["series"]["unix_ms"].empty());
}

TEST(MetricsHistory, MemoryIsBoundedByCapacity) {
  MetricsHistory history(4, std::chrono::milliseconds(1000));
  ConnectorReading r{"c"};
  for (int i = 0; i < 100; ++i) {
    r.events_total += 10;
    history.Record(i * 1000, {r});
  }
  EXPECT_EQ(history.Get("c")->size(), 4u);
  EXPECT_EQ(MetricsHistory::BytesPerConnector(720), 28800u);
}

HttpRequest Get(const std::string& path, const std::string& method = "GET") {
  HttpRequest r;
  r.method = method;
  r.path = path;
  r.target = path;
  return r;
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Console, ServesEveryAssetWithItsTypeAndSecurityHeaders) {
  const std::map<std::string, std::string> expected = {
      {"/ui/", "text/html; charset=utf-8"},
      {"/ui/app.js", "text/javascript; charset=utf-8"},
      {"/ui/chart.min.js", "text/javascript; charset=utf-8"},
      {"/ui/style.css", "text/css; charset=utf-8"},
      {"/ui/icon.svg", "image/svg+xml"}};
  for (const auto& [path, type] : expected) {
    HttpResponse r = ServeConsole(Get(path));
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, type) << path;
    EXPECT_FALSE(r.body.empty()) << path;
    EXPECT_EQ(HeaderOf(r, "Content-Security-Policy"), kConsoleCsp) << path;
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff") << path;
    EXPECT_FALSE(HeaderOf(r, "ETag").empty()) << path;
  }
  std::string csp = kConsoleCsp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
}

TEST(Console, IndexHasNoInlineScriptOrStyle) {
  std::string html = ServeConsole(Get("/ui/")).body;
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find("<style"), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);
  EXPECT_EQ(html.find("onclick"), std::string::npos);
  EXPECT_NE(html.find("<script src=\"app.js\""), std::string::npos);
}

TEST(Console, GzipEtagHeadAndErrors) {
  HttpRequest gz = Get("/ui/chart.min.js");
  gz.headers["accept-encoding"] = "gzip, deflate, br";
  HttpResponse zipped = ServeConsole(gz);
  HttpResponse plain = ServeConsole(Get("/ui/chart.min.js"));
  EXPECT_EQ(HeaderOf(zipped, "Content-Encoding"), "gzip");
  EXPECT_EQ(HeaderOf(plain, "Content-Encoding"), "");
  EXPECT_LT(zipped.body.size(), plain.body.size() / 2);
  EXPECT_EQ(zipped.body.substr(0, 2), "\x1f\x8b");

  HttpRequest again = Get("/ui/chart.min.js");
  again.headers["if-none-match"] = HeaderOf(plain, "ETag");
  HttpResponse not_modified = ServeConsole(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  // HEAD: the server writes the headers of the GET answer without its body.
  HttpResponse head = ServeConsole(Get("/ui/", "HEAD"));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_type, "text/html; charset=utf-8");

  HttpResponse missing = ServeConsole(Get("/ui/nope.js"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/json");
  EXPECT_TRUE(nlohmann::json::parse(missing.body).contains("message"));
  EXPECT_EQ(HeaderOf(missing, "Content-Security-Policy"), kConsoleCsp);

  EXPECT_EQ(ServeConsole(Get("/ui/", "POST")).status, 405);
  HttpResponse redirect = ServeConsole(Get("/ui"));
  EXPECT_EQ(redirect.status, 301);
  EXPECT_EQ(HeaderOf(redirect, "Location"), "/ui/");
  EXPECT_TRUE(IsConsolePath("/ui/app.js"));
  EXPECT_FALSE(IsConsolePath("/uix"));
}

}  // namespace
}  // namespace sluice::api
