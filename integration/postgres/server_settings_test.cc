// The PostgreSQL source against server-side trouble: a server without wal_level=logical (its own
// throwaway instance, since wal_level needs a restart), a replication connection dropped by the
// server mid-stream (the pipeline reconnects with backoff from the last durable position and the
// target still converges), a crash right after the slot is created (the restart re-snapshots
// instead of reporting a slot clash), kills at random points of a stream (the slot never
// confirms more than the sink wrote), snapshot.mode never/no_data and when_needed (a missing
// slot on resume), and a parallel chunked snapshot under concurrent writes.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "integration/common/itest.h"
#include "integration/postgres/replay.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

// Runs a command to completion, failing the test (with its output) when it does not succeed.
void MustRun(std::vector<std::string> argv, std::chrono::milliseconds timeout = 60s) {
  ProcessOptions options;
  options.argv = std::move(argv);
  Subprocess p(options);
  auto st = p.WaitFor(timeout);
  ASSERT_TRUE(st.has_value()) << p.CommandLine() << " timed out";
  ASSERT_TRUE(st->Success()) << p.CommandLine() << ": " << st->Describe() << "\n"
                             << p.Stdout() << p.Stderr();
}

std::string PgBinDir() {
  for (const char* d : {"/usr/lib/postgresql/15/bin"}) {
    if (std::filesystem::exists(std::string(d) + "/initdb")) return d;
  }
  return "/usr/lib/postgresql/15/bin";
}

TEST(PostgresServerSettings, WalLevelReplicaIsReportedWithTheFix) {
  TempDir dir("pgsrc-wal");
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0777));
  const std::string bin = PgBinDir();
  const std::string data = (dir / "data").string();
  const int port = FreeLoopbackPort();
  MustRun({"runuser", "-u", "postgres", "--", bin + "/initdb", "-D", data, "-A", "trust", "-U",
           "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"});
  MustRun({"runuser", "-u", "postgres", "--", bin + "/pg_ctl", "-D", data, "-w", "-l",
           (dir / "server.log").string(), "-o",
           "-c listen_addresses=127.0.0.1 -p " + std::to_string(port) +
               " -c unix_socket_directories=" + dir.path().string() +
               " -c wal_level=replica -c fsync=off",
           "start"});
  struct Stopper {
    std::string bin, data;
    ~Stopper() {
      ProcessOptions o;
      o.argv = {"runuser", "-u", "postgres", "--", bin + "/pg_ctl", "-D", data, "-m",
                "immediate", "stop"};
      Subprocess(o).WaitFor(30s);
    }
  } stopper{bin, data};
  TempDir out("pgsrc-wal-out");
  nlohmann::json config = {{"name", "walcheck"},
                           {"connector.class", "postgres"},
                           {"database.hostname", "127.0.0.1"},
                           {"database.port", std::to_string(port)},
                           {"database.user", "postgres"},
                           {"database.dbname", "postgres"},
                           {"sink.type", "file"},
                           {"sink.url", out.path().string()}};
  for (const char* command : {"validate", "run"}) {
    auto result = SluiceProcess::RunToCompletion(command, config, 60s);
    EXPECT_FALSE(result.Success()) << command;
    const std::string text = result.err + result.out;
    EXPECT_NE(text.find("wal_level=replica"), std::string::npos) << command << ":\n" << text;
    EXPECT_NE(text.find("wal_level = logical"), std::string::npos) << command << ":\n" << text;
  }
  EXPECT_TRUE(std::filesystem::is_empty(out.path()));
}

class PostgresSourceRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = CreateScratchPgDatabase("pgsrc_rec");
    src_ = PgClient(db_);
    slot_ = "s_" + db_;
    src_.Exec("CREATE TABLE items (id int PRIMARY KEY, name text, qty int);"
              "INSERT INTO items SELECT i, 'n' || i, i FROM generate_series(1, 20000) i");
  }
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    DropPgSourceDatabase(db_, /*terminate_active=*/true);
  }
  nlohmann::json Config(const std::filesystem::path& out) const {
    return {{"name", "pgsrc_rec"},
            {"connector.class", "postgres"},
            {"database.hostname", src_.host()},
            {"database.port", std::to_string(src_.port())},
            {"database.user", src_.user()},
            {"database.dbname", db_},
            {"slot.name", slot_},
            {"publication.name", "p_" + db_},
            {"sink.type", "file"},
            {"sink.url", out.string()},
            {"sink.file.fsync", "false"},
            // Replaying the file needs the new snapshot's truncates.
            {"skipped.operations", "none"},
            {"sink.batch.ms", "50"}};
  }
  SqlRows Source() const { return src_.Query("SELECT id::text, name, qty::text FROM items"); }
  SqlRows Target(const std::filesystem::path& out) const {
    return ReplayTable(out, "public", "items", {"id"}, {{"id"}, {"name"}, {"qty"}});
  }
  void WaitConverged(const std::filesystem::path& out, std::chrono::milliseconds timeout) {
    WaitUntil([&] { return TablesMatch(Source(), Target(out)); }, timeout,
              "the replayed file equals the source; sluice log:\n" + sluice_->LogTail());
  }
  std::string ActiveWalsender() const {
    return PgClient().QueryValue("SELECT coalesce(max(active_pid)::text, '') FROM "
                                 "pg_replication_slots WHERE slot_name = '" + slot_ + "'");
  }

  std::string db_, slot_;
  PgClient src_;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(PostgresSourceRecoveryTest, ReconnectsAfterTheServerDropsTheStream) {
  TempDir out("pgsrc-rec");
  sluice_.emplace(SluiceProcess::Run(Config(out.path())));
  WaitConverged(out.path(), 60s);
  for (int round = 0; round < 3; ++round) {
    std::string pid;
    WaitUntil([&] { return !(pid = ActiveWalsender()).empty(); }, 60s, "the slot is streamed");
    src_.Exec("UPDATE items SET qty = qty + 1 WHERE id % 5 = " + std::to_string(round) +
              "; INSERT INTO items VALUES (" + std::to_string(100000 + round) + ", 'r', 0)");
    PgClient().Exec("SELECT pg_terminate_backend(" + pid + ")");
    src_.Exec("DELETE FROM items WHERE id % 7 = " + std::to_string(round) +
              "; UPDATE items SET name = 'after' WHERE id % 11 = " + std::to_string(round));
    WaitConverged(out.path(), 90s);
  }
  EXPECT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
  ExpectTablesEqual(Source(), Target(out.path()));
}

TEST_F(PostgresSourceRecoveryTest, KillRightAfterSlotCreationRestartsTheSnapshot) {
  src_.Exec("INSERT INTO items SELECT i, 'n' || i, i FROM generate_series(20001, 300000) i");
  TempDir out("pgsrc-rec");
  sluice_.emplace(SluiceProcess::Run(Config(out.path())));
  WaitUntil([&] {
    return PgClient().QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" +
                                 slot_ + "'") == "1";
  }, 60s, "the slot is created");
  sluice_->Kill();
  src_.Exec("DELETE FROM items WHERE id % 3 = 0; UPDATE items SET name = 'x' WHERE id % 5 = 0");
  sluice_->Restart();
  WaitConverged(out.path(), 120s);
  ExpectTablesEqual(Source(), Target(out.path()));
}

// On an idle database the slot still advances: WAL written elsewhere (another database) is
// confirmed through the keepalive's WAL end once nothing is in flight, so it does not pile up.
TEST_F(PostgresSourceRecoveryTest, IdleSlotAdvancesPastOtherDatabasesWal) {
  TempDir out("pgsrc-rec");
  sluice_.emplace(SluiceProcess::Run(Config(out.path())));
  WaitConverged(out.path(), 60s);
  std::string other = CreateScratchPgDatabase("pgsrc_other");
  PgClient(other).Exec("CREATE TABLE noise (id int PRIMARY KEY, v text);"
                       "INSERT INTO noise SELECT i, md5(i::text) FROM generate_series(1, 20000) i");
  PgClient admin;
  const std::string target = admin.QueryValue("SELECT pg_current_wal_lsn()::text");
  WaitUntil([&] {
    return admin.QueryValue("SELECT (confirmed_flush_lsn >= '" + target +
                            "')::text FROM pg_replication_slots WHERE slot_name = '" + slot_ +
                            "'") == "true";
  }, 45s, "confirmed_flush_lsn passes the other database's WAL; sluice log:\n" +
              sluice_->LogTail());
  admin.TryQuery("DROP DATABASE IF EXISTS \"" + other + "\" WITH (FORCE)");
  ExpectTablesEqual(Source(), Target(out.path()));
}

// The slot never confirms more than the sink has written: after a kill -9 at a random point of
// a stream of one-row transactions, every transaction that committed at or before the slot's
// confirmed_flush_lsn is in the file sink's output (the file is in the page cache; a kill of
// the process loses nothing it wrote). Three kills, then the replay equals the source.
TEST_F(PostgresSourceRecoveryTest, SlotNeverConfirmsMoreThanTheSinkWrote) {
  TempDir out("pgsrc-rec");
  sluice_.emplace(SluiceProcess::Run(Config(out.path())));
  WaitConverged(out.path(), 60s);
  std::mt19937 rng(std::random_device{}());
  PgClient admin;
  int next_id = 200000;
  for (int round = 0; round < 3; ++round) {
    // (id, WAL insert position read after its commit: at or past the commit's end)
    std::vector<std::pair<int, std::string>> committed;
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      PgClient w(db_);
      while (!stop.load()) {
        int id = next_id++;
        w.Exec("INSERT INTO items VALUES (" + std::to_string(id) + ", 'k', " +
               std::to_string(round) + ")");
        committed.emplace_back(id, w.QueryValue("SELECT pg_current_wal_insert_lsn()::text"));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));
    sluice_->Kill();
    stop = true;
    writer.join();
    const std::string confirmed = admin.QueryValue(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'");
    SqlRows written = Target(out.path());
    std::set<std::string> ids;
    for (const auto& row : written) {
      if (row[0]) ids.insert(*row[0]);
    }
    size_t covered = 0;
    for (const auto& [id, lsn] : committed) {
      if (admin.QueryValue("SELECT ('" + lsn + "'::pg_lsn <= '" + confirmed + "')::text") != "true") {
        continue;
      }
      ++covered;
      EXPECT_TRUE(ids.count(std::to_string(id)))
          << "row " << id << " committed before confirmed_flush_lsn " << confirmed
          << " is missing from the sink's output";
    }
    // The invariant is only worth something if the slot had confirmed some of the new rows.
    EXPECT_GT(covered, 0u) << "round " << round << ": confirmed_flush_lsn " << confirmed
                           << " covers none of " << committed.size() << " rows";
    sluice_->Restart();
    WaitConverged(out.path(), 90s);
  }
  ExpectTablesEqual(Source(), Target(out.path()));
}

// snapshot.mode=never (and its alias no_data): no snapshot rows, only the changes committed
// after the slot was created.
TEST_F(PostgresSourceRecoveryTest, NeverModeStreamsChangesWithoutASnapshot) {
  int base = 300000, gone = 6;
  for (const char* mode : {"never", "no_data"}) {
    TempDir out("pgsrc-rec");
    auto config = Config(out.path());
    config["snapshot.mode"] = mode;
    sluice_.emplace(SluiceProcess::Run(config));
    WaitUntil([&] { return !ActiveWalsender().empty(); }, 60s,
              std::string("the slot is streamed in mode ") + mode + "; sluice log:\n" + sluice_->LogTail());
    const std::string b = std::to_string(base);
    src_.Exec("INSERT INTO items SELECT i, 'new', 1 FROM generate_series(" + b + " + 1, " + b +
              " + 10) i; UPDATE items SET qty = -qty WHERE id <= 5; DELETE FROM items WHERE id "
              "BETWEEN " + std::to_string(gone) + " AND " + std::to_string(gone + 2));
    WaitUntil([&] { return CountEvents(out.path(), "public", "items") >= 18; }, 60s,
              "18 change events; sluice log:\n" + sluice_->LogTail());
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(CountEvents(out.path(), "public", "items", "r"), 0u) << mode;
    EXPECT_EQ(CountEvents(out.path(), "public", "items", "c"), 10u) << mode;
    EXPECT_EQ(CountEvents(out.path(), "public", "items", "u"), 5u) << mode;
    EXPECT_EQ(CountEvents(out.path(), "public", "items", "d"), 3u) << mode;
    // The rows those changes touched, and nothing else.
    ExpectTablesEqual(src_.Query("SELECT id::text, name, qty::text FROM items WHERE id <= 5 OR id > " + b),
                      Target(out.path()));
    base += 100;
    gone += 3;
    ASSERT_TRUE(sluice_->Stop().Success()) << sluice_->LogTail();
    PgClient().Exec("SELECT pg_drop_replication_slot('" + slot_ + "')");
  }
}

// A resumed connector whose slot is gone: with the default mode that is an error naming the
// slot and what to do; with when_needed it snapshots again and converges.
TEST_F(PostgresSourceRecoveryTest, MissingSlotOnResumeFailsOrResnapshotsWhenNeeded) {
  TempDir out("pgsrc-rec");
  auto config = Config(out.path());
  sluice_.emplace(SluiceProcess::Run(config));
  WaitConverged(out.path(), 60s);
  ASSERT_TRUE(sluice_->Stop().Success()) << sluice_->LogTail();
  PgClient().Exec("SELECT pg_drop_replication_slot('" + slot_ + "')");
  src_.Exec("DELETE FROM items WHERE id % 4 = 0; UPDATE items SET name = 'gone' WHERE id % 9 = 0");

  sluice_->Restart();
  auto st = sluice_->WaitFor(60s);
  ASSERT_TRUE(st.has_value()) << "sluice kept running without its slot:\n" << sluice_->LogTail();
  EXPECT_FALSE(st->Success());
  const std::string log = sluice_->Stderr() + sluice_->Stdout();
  EXPECT_NE(log.find(slot_), std::string::npos) << log;
  EXPECT_NE(log.find("when_needed"), std::string::npos) << "the fix is named:\n" << log;
  EXPECT_FALSE(TablesMatch(Source(), Target(out.path()))) << "nothing was streamed";

  config["snapshot.mode"] = "when_needed";
  sluice_->RewriteConfig(config);
  sluice_->Restart();
  WaitConverged(out.path(), 90s);
  EXPECT_GT(CountEvents(out.path(), "public", "items", "t"), 0u) << "the re-snapshot truncates first";
  src_.Exec("INSERT INTO items VALUES (400000, 'after', 1)");
  WaitConverged(out.path(), 60s);
  ExpectTablesEqual(Source(), Target(out.path()));
}

// Two connections read one table in ctid chunks from the same exported snapshot while writers
// change it: the snapshot is consistent (no row seen twice in different versions, none lost)
// and streaming continues from the consistent point.
TEST_F(PostgresSourceRecoveryTest, ParallelChunkedSnapshotUnderConcurrentWrites) {
  src_.Exec("INSERT INTO items SELECT i, 'n' || i, i FROM generate_series(20001, 200000) i;"
            "CREATE TABLE other (id int PRIMARY KEY, v text);"
            "INSERT INTO other SELECT i, md5(i::text) FROM generate_series(1, 50000) i");
  TempDir out("pgsrc-rec");
  auto config = Config(out.path());
  config["snapshot.max.threads"] = "2";
  config["snapshot.chunk.pages"] = "64";
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    PgClient w(db_);
    for (int round = 0; !stop.load(); ++round) {
      std::string r = std::to_string(round);
      w.Exec("UPDATE items SET qty = qty + 1, name = name || 'u' WHERE id % 101 = " +
             std::to_string(round % 101) + "; DELETE FROM items WHERE id % 211 = " +
             std::to_string(round % 211) + "; INSERT INTO items VALUES (" +
             std::to_string(500000 + round) + ", 'w', " + r + "); UPDATE other SET v = 'x" + r +
             "' WHERE id % 97 = " + std::to_string(round % 97));
    }
  });
  sluice_.emplace(SluiceProcess::Run(config));
  WaitUntil([&] { return sluice_->Stderr().find("postgres snapshot done") != std::string::npos; },
            90s, "the snapshot finishes; sluice log:\n" + sluice_->LogTail());
  std::this_thread::sleep_for(500ms);
  stop = true;
  writer.join();
  const std::string log = sluice_->Stderr();
  int chunks = 0;
  ASSERT_TRUE(RE2::PartialMatch(log, R"(2 tables in ([0-9]+) chunks on 2 connections)", &chunks))
      << log;
  EXPECT_GT(chunks, 4) << "the tables were split into chunks";
  WaitConverged(out.path(), 90s);
  ExpectTablesEqual(src_.Query("SELECT id::text, v FROM other"),
                    ReplayTable(out.path(), "public", "other", {"id"}, {{"id"}, {"v"}}));
  ExpectTablesEqual(Source(), Target(out.path()));
}

}  // namespace
}  // namespace sluice::itest
