// The PostgreSQL source against server-side trouble: a server without wal_level=logical (its own
// throwaway instance, since wal_level needs a restart), a replication connection dropped by the
// server mid-stream (the pipeline reconnects with backoff from the last durable position and the
// target still converges), and a crash right after the slot is created (the restart re-snapshots
// instead of reporting a slot clash).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

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
    PgClient admin;
    admin.TryQuery("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                   "database = '" + db_ + "' AND active");
    std::this_thread::sleep_for(200ms);
    admin.TryQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                   "database = '" + db_ + "'");
    admin.TryQuery("DROP DATABASE IF EXISTS \"" + db_ + "\" WITH (FORCE)");
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

}  // namespace
}  // namespace sluice::itest
