// Retention guardrails of the PostgreSQL source against a throwaway server of the test's own
// (max_slot_wal_keep_size is server-wide: the shared test server must not get it): while the
// connector streams, a long-open transaction holds the slot's restart_lsn back and WAL is
// generated, so the slot's retained bytes grow and show in /metrics, in the connector status
// (with the warning past slot.retained.warn.bytes and a time-left estimate) and in the console's
// metrics history; then more WAL and a CHECKPOINT make the server invalidate the slot, and the
// connector goes FAILED naming the slot and the fix. With snapshot.mode=when_needed it then
// re-snapshots on a new slot. A snapshot held open (its SELECT waits on an advisory lock the test
// holds) shows that the slot is sampled during the initial snapshot too, with the time left
// before slot.max.retained.wal and the critical level past it.
#include <gtest/gtest.h>

#include <sstream>

#include "integration/api/serve_fixture.h"
#include "integration/common/scratch_server.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// The value of `family`'s series for connector `name` in Prometheus text; nullopt when absent.
std::optional<double> MetricValue(const std::string& text, const std::string& family,
                                  const std::string& name) {
  std::istringstream in(text);
  std::string line;
  const std::string prefix = family + "{connector=\"" + name + "\"";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return std::nullopt;
}

class SlotRetentionTest : public ::testing::Test {
 protected:
  static constexpr int64_t kWarnBytes = 8 << 20;

  SlotRetentionTest()
      : server_("max_slot_wal_keep_size = 64MB\nmax_wal_size = 32MB\nmin_wal_size = 32MB\n") {}

  void SetUp() override {
    server_.Client().Exec("CREATE DATABASE shop");
    Db().Exec("CREATE TABLE items (id int PRIMARY KEY, name text);"
              "INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 1000) g;"
              "CREATE TABLE filler (id int, pad text); CREATE TABLE hold (id int)");
  }

  PgClient Db() const { return server_.Client("shop"); }

  json Config(const std::string& mode) const {
    return {{"connector.class", "postgres"},
            {"database.hostname", "127.0.0.1"},
            {"database.port", std::to_string(server_.port())},
            {"database.user", "postgres"},
            {"database.dbname", "shop"},
            {"slot.name", "retained_slot"},
            {"table.include.list", "public\\.items"},
            {"snapshot.mode", mode},
            {"slot.health.interval.ms", "500"},
            {"slot.retained.warn.bytes", std::to_string(kWarnBytes)},
            {"sink.type", "file"},
            {"sink.url", out_.path().string()},
            {"sink.file.fsync", "false"},
            {"sink.batch.ms", "50"},
            {"status.update.interval.ms", "200"}};
  }

  // About 13 MB of WAL in a table outside the publication, then a new segment.
  void GenerateWal(int rounds) {
    for (int i = 0; i < rounds; ++i) {
      Db().Exec("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g;"
                "SELECT pg_switch_wal()");
    }
  }

  // About 5 MB of WAL in a table outside the publication, without a segment switch (which would
  // add up to a segment of padding: too coarse against a limit of a few segments).
  void GenerateSomeWal() {
    Db().Exec("INSERT INTO filler SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g");
  }

  // A transaction that wrote and stays open: logical decoding cannot move the slot's
  // restart_lsn past its start, so the slot retains every WAL byte written after it.
  void HoldRestartLsn() {
    ProcessOptions o;
    o.argv = {"psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(server_.port()), "-U",
              "postgres", "-d", "shop", "-c",
              "BEGIN; INSERT INTO hold VALUES (1); SELECT pg_sleep(600); COMMIT"};
    holder_.emplace(o);
    WaitUntil([&] {
      return Db().QueryValue("SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                             "AND query LIKE '%pg_sleep(600)%'") == "1";
    }, 30s, "the holding transaction is open");
  }

  void ReleaseRestartLsn() {
    Db().Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
              "'%pg_sleep(600)%' AND pid <> pg_backend_pid()");
    holder_.reset();
  }

  // A session holding advisory lock kGate (no transaction id: it does not hold back the slot's
  // creation); a snapshot SELECT that takes the lock waits until ReleaseGate().
  static constexpr int kGate = 4242;
  void HoldGate() {
    ProcessOptions o;
    o.argv = {"psql", "-X", "-q", "-h", "127.0.0.1", "-p", std::to_string(server_.port()), "-U",
              "postgres", "-d", "shop", "-c",
              "SELECT pg_advisory_lock(" + std::to_string(kGate) + "); SELECT pg_sleep(600)"};
    gate_.emplace(o);
    WaitUntil([&] {
      return Db().QueryValue("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                             "objid = " + std::to_string(kGate) + " AND granted") == "1";
    }, 30s, "the gate's advisory lock is held");
  }

  void ReleaseGate() {
    Db().Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
              "'%pg_advisory_lock(" + std::to_string(kGate) + ")%' AND pid <> pg_backend_pid()");
    gate_.reset();
  }

  ScratchPostgres server_;
  TempDir out_{"slot-retention"};
  std::optional<Subprocess> holder_;
  std::optional<Subprocess> gate_;
};

TEST_F(SlotRetentionTest, RetainedWalShowsInMetricsAndStatusThenInvalidationFailsNamingTheSlot) {
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", json{{"name", "ret"}, {"config", Config("initial")}}.dump());
  serve.WaitForState("ret", "RUNNING");
  WaitUntil([&] {
    json s = api.Expect(200, "GET", "/connectors/ret/status");
    return s.contains("slot") && s["slot"]["wal_status"] == "reserved";
  }, 60s, "the status has a slot object once streaming");
  json slot = api.Expect(200, "GET", "/connectors/ret/status")["slot"];
  EXPECT_EQ(slot["name"], "retained_slot");
  EXPECT_EQ(slot["max_slot_wal_keep_size"], 64 << 20);
  EXPECT_TRUE(slot["safe_wal_size"].is_number()) << slot.dump();

  // (a) Retained bytes grow while the stream runs (the changes still arrive).
  HoldRestartLsn();
  GenerateWal(2);
  Db().Exec("INSERT INTO items VALUES (5000, 'during')");
  double retained = 0;
  WaitUntil([&] {
    auto v = MetricValue(api.Call("GET", "/metrics").body, "sluice_source_slot_retained_bytes", "ret");
    retained = v.value_or(0);
    return retained > kWarnBytes;
  }, 60s, "sluice_source_slot_retained_bytes passes slot.retained.warn.bytes");
  std::string metrics = api.Call("GET", "/metrics").body;
  EXPECT_TRUE(MetricValue(metrics, "sluice_source_slot_safe_wal_bytes", "ret").has_value()) << metrics;
  EXPECT_TRUE(MetricValue(metrics, "sluice_source_slot_wal_status", "ret").has_value()) << metrics;
  WaitUntil([&] {
    json s = api.Expect(200, "GET", "/connectors/ret/status");
    slot = s["slot"];
    return slot["level"] != "ok" && slot["warning"].is_string() &&
           slot["retained_bytes"].get<double>() > kWarnBytes;
  }, 30s, "the status warns about the retained WAL");
  EXPECT_NE(slot["warning"].get<std::string>().find("slot.retained.warn.bytes"), std::string::npos)
      << slot.dump();
  EXPECT_EQ(serve.State("ret"), "RUNNING") << "a warning does not stop the stream";
  // Growth at the recent rate against a finite max_slot_wal_keep_size: a time left. (No more
  // WAL here: the slot must not reach the limit before part (b).)
  WaitUntil([&] {
    slot = api.Expect(200, "GET", "/connectors/ret/status")["slot"];
    return slot["time_left_s"].is_number();
  }, 60s, "the status estimates the time left before the server drops the slot");
  WaitUntil([&] {
    json h = api.Expect(200, "GET", "/connectors/ret/metrics/history");
    for (const auto& v : h["series"]["slot_retained_bytes"]) {
      if (v.is_number() && v.get<double>() > 0) return true;
    }
    return false;
  }, 30s, "the console's history has slot retained bytes");

  // (b) Past max_slot_wal_keep_size the checkpoint invalidates the slot: FAILED, slot named.
  GenerateWal(6);
  Db().Exec("CHECKPOINT");
  WaitUntil([&] {
    return Db().QueryValue("SELECT coalesce((SELECT wal_status FROM pg_replication_slots WHERE "
                           "slot_name = 'retained_slot'), 'missing')") == "lost";
  }, 60s, "the server invalidated the slot");
  serve.WaitForState("ret", "FAILED", 90s);
  json status = api.Expect(200, "GET", "/connectors/ret/status");
  const std::string trace = status["connector"].value("trace", "");
  EXPECT_NE(trace.find("retained_slot"), std::string::npos) << status.dump();
  EXPECT_NE(trace.find("invalidated"), std::string::npos) << status.dump();
  EXPECT_NE(trace.find("when_needed"), std::string::npos) << "the fix is named: " << status.dump();

  // With when_needed the connector takes a new snapshot on a new slot and streams again.
  ReleaseRestartLsn();
  api.Expect(200, "PUT", "/connectors/ret/config", Config("when_needed").dump());
  api.Call("POST", "/connectors/ret/restart");
  serve.WaitForState("ret", "RUNNING", 90s);
  WaitUntil([&] {
    json s = api.Expect(200, "GET", "/connectors/ret/status");
    return s["connector"]["state"] == "RUNNING" && s.contains("slot") &&
           s["slot"]["wal_status"] == "reserved";
  }, 120s, "a new slot streams after the re-snapshot");
  EXPECT_EQ(Db().QueryValue("SELECT wal_status FROM pg_replication_slots WHERE slot_name = "
                            "'retained_slot'"), "reserved");
}

// The slot keeps WAL while its connector is paused, stopped or failed: that is when retention
// grows, and the status and metrics keep showing it (the supervisor's idle watch).
TEST_F(SlotRetentionTest, APausedConnectorsSlotIsStillSampled) {
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", json{{"name", "idle"}, {"config", Config("initial")}}.dump());
  serve.WaitForState("idle", "RUNNING");
  WaitUntil([&] {
    json s = api.Expect(200, "GET", "/connectors/idle/status");
    return s.contains("slot") && s["slot"]["wal_status"] == "reserved";
  }, 60s, "the status has a slot object once streaming");
  api.Call("PUT", "/connectors/idle/pause");
  serve.WaitForState("idle", "PAUSED");
  json before = api.Expect(200, "GET", "/connectors/idle/status")["slot"];
  WaitUntil([&] {
    json slot = api.Expect(200, "GET", "/connectors/idle/status")["slot"];
    return slot["sampled_unix_ms"].get<int64_t>() > before["sampled_unix_ms"].get<int64_t>();
  }, 30s, "a paused connector's slot is sampled again");
  GenerateSomeWal();
  GenerateSomeWal();
  json slot;
  WaitUntil([&] {
    slot = api.Expect(200, "GET", "/connectors/idle/status")["slot"];
    return slot["retained_bytes"].get<double>() >
           before["retained_bytes"].get<double>() + 10 * (1 << 20);
  }, 60s, "the retained WAL of a paused connector's slot grows in its status");
  EXPECT_EQ(slot["name"], "retained_slot");
  EXPECT_EQ(serve.State("idle"), "PAUSED");
  auto metric = MetricValue(api.Call("GET", "/metrics").body, "sluice_source_slot_retained_bytes",
                            "idle");
  ASSERT_TRUE(metric.has_value());
  EXPECT_GT(*metric, before["retained_bytes"].get<double>() + 10 * (1 << 20));

  // Resumed, the connector's own monitor takes over and the change made while paused arrives.
  Db().Exec("INSERT INTO items VALUES (7000, 'while paused')");
  api.Call("PUT", "/connectors/idle/resume");
  serve.WaitForState("idle", "RUNNING");
  WaitUntil([&] {
    std::error_code ec;
    if (!std::filesystem::exists(out_.path() / "public.items.jsonl", ec)) return false;
    return ReadFile(out_.path() / "public.items.jsonl").find("while paused") !=
           std::string::npos;
  }, 60s, "the change made while paused arrives after resume");
}

// A long initial snapshot makes the slot retain WAL: it is sampled from its creation on, with the
// time left before slot.max.retained.wal, then critical past it (the snapshot goes on).
TEST_F(SlotRetentionTest, TheSlotIsSampledDuringTheSnapshotAgainstMaxRetainedWal) {
  constexpr int64_t kLimit = 24 << 20;
  HoldGate();
  json config = Config("initial");
  config["slot.max.retained.wal"] = "24MB";
  config["snapshot.select.statement.overrides"] = "public.items";
  config["snapshot.select.statement.overrides.public.items"] =
      "SELECT * FROM public.items WHERE (SELECT 1 FROM (SELECT pg_advisory_lock_shared(" +
      std::to_string(kGate) + ")) AS gate) = 1";
  ServeProcess serve;
  RestClient& api = serve.client();
  api.Expect(201, "POST", "/connectors", json{{"name", "snap"}, {"config", config}}.dump());
  json s;
  WaitUntil([&] {
    s = api.Expect(200, "GET", "/connectors/snap/status");
    return s.contains("slot") && s["slot"]["wal_status"] == "reserved";
  }, 60s, "the status has a slot object while the snapshot runs");
  EXPECT_EQ(s["snapshot"]["phase"], "snapshot") << s.dump();
  EXPECT_EQ(s["slot"]["max_retained_wal"], kLimit) << s.dump();

  // Below the limit and growing: the time left before it, in status and /metrics.
  GenerateSomeWal();
  GenerateSomeWal();
  json slot;
  WaitUntil([&] {
    slot = api.Expect(200, "GET", "/connectors/snap/status")["slot"];
    return slot["retained_bytes"].get<double>() > 8 << 20 &&
           slot["max_retained_wal_time_left_s"].is_number() &&
           slot["max_retained_wal_time_left_s"].get<double>() > 0;
  }, 30s, "the status shows the time left before slot.max.retained.wal during the snapshot");
  auto left = MetricValue(api.Call("GET", "/metrics").body,
                          "sluice_source_slot_max_retained_time_left_seconds", "snap");
  ASSERT_TRUE(left.has_value());
  EXPECT_GT(*left, 0);

  // Past the limit: critical, naming the slot, the size, the limit and the fix; still running.
  // (More WAL a step at a time, so that the slot stays well below max_slot_wal_keep_size.)
  WaitUntil([&] {
    slot = api.Expect(200, "GET", "/connectors/snap/status")["slot"];
    if (slot["max_retained_wal_time_left_s"] == 0 && slot["level"] == "critical") return true;
    if (slot["retained_bytes"].get<double>() < kLimit) GenerateSomeWal();
    return false;
  }, 30s, "the status is critical past slot.max.retained.wal", 1s);
  const std::string warning = slot["warning"].get<std::string>();
  for (const char* part : {"'retained_slot'", "slot.max.retained.wal (24.0 MiB)", "sink"}) {
    EXPECT_NE(warning.find(part), std::string::npos) << part << " in " << warning;
  }
  EXPECT_EQ(MetricValue(api.Call("GET", "/metrics").body,
                        "sluice_source_slot_max_retained_time_left_seconds", "snap"), 0);
  s = api.Expect(200, "GET", "/connectors/snap/status");
  EXPECT_EQ(s["snapshot"]["phase"], "snapshot") << "sampled while the snapshot runs";
  EXPECT_EQ(serve.State("snap"), "RUNNING") << "the limit does not stop the connector";

  // The snapshot then finishes and the same connector streams on.
  ReleaseGate();
  Db().Exec("INSERT INTO items VALUES (8000, 'after the snapshot')");
  WaitUntil([&] {
    std::error_code ec;
    if (!std::filesystem::exists(out_.path() / "public.items.jsonl", ec)) return false;
    return ReadFile(out_.path() / "public.items.jsonl").find("after the snapshot") !=
           std::string::npos;
  }, 60s, "the snapshot finishes and the stream delivers a later change");
  EXPECT_EQ(api.Expect(200, "GET", "/connectors/snap/status")["slot"]["name"], "retained_slot");
}

}  // namespace
}  // namespace sluice::itest
