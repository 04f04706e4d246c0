// The MariaDB source against server-side trouble, each on its own throwaway mariadbd (so that
// purging binlogs, changing global settings, killing the dump thread or freezing the server
// never touches the shared test server): start-up refusal of settings the binlog reader cannot
// use, a binlog purged while the connector was stopped (an error naming the file, or a new
// snapshot with snapshot.mode=when_needed), the dump thread killed mid-stream, a server that
// stops answering (no heartbeats), a server busy with tables that are not captured (the
// committed position must still advance), and a server that admits the connector only over
// verified TLS with a client certificate. Tests where data flows end with the count + checksum
// comparator, MariaDB -> PostgreSQL.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "integration/common/certificates.h"
#include "integration/common/itest.h"
#include "integration/common/scratch_server.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

class MariadbRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.emplace();
    db_ = UniqueName("myrec");
    server_->Client().Exec("CREATE DATABASE `" + db_ + "` CHARACTER SET utf8mb4");
    pg_db_ = CreateScratchPgDatabase("myrec_target");
    pg_ = PgClient(pg_db_);
    std::random_device rd;
    server_id_ = 100000 + rd() % 1000000;
  }

  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    server_.reset();
    DropPgDatabase(pg_db_);
  }

  nlohmann::json Config() const {
    return {{"name", "myrec_" + db_},
            {"connector.class", "mysql"},
            {"database.hostname", "127.0.0.1"},
            {"database.port", std::to_string(server_->port())},
            {"database.user", kPasswordUser},
            {"database.password", kTestPassword},
            {"database.server.id", std::to_string(server_id_)},
            {"database.include.list", db_},
            {"heartbeat.interval.ms", "500"},
            {"connect.timeout.ms", "2000"},
            {"sink.type", "postgres"},
            {"sink.url", pg_.Url()},
            {"sink.batch.ms", "100"}};
  }

  void StartSluice(const nlohmann::json& config) { sluice_.emplace(SluiceProcess::Run(config)); }

  void CreateItems(int rows) {
    server_->Client(db_).Exec(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), qty INT);"
        "INSERT INTO items SELECT seq, CONCAT('n', seq), seq % 13 FROM seq_1_to_" +
        std::to_string(rows));
  }
  void WriteItems(int round) {
    std::string r = std::to_string(round);
    server_->Client(db_).Exec(
        "START TRANSACTION;"
        "INSERT INTO items SELECT 100000 * " + r + " + seq, CONCAT('r', " + r +
        "), seq FROM seq_1_to_50;"
        "UPDATE items SET qty = qty + 1 WHERE id % 7 = " + std::to_string(round % 7) + ";"
        "DELETE FROM items WHERE id % 31 = " + std::to_string(round % 31) + " AND id < 1000;"
        "COMMIT;");
  }
  SqlRows Source() const { return server_->Client(db_).Query("SELECT id, name, qty FROM items"); }
  ::testing::AssertionResult TargetMatches(const SqlRows& expected) const {
    SqlResult target = pg_.TryQuery("SELECT id::text, name, qty::text FROM \"" + db_ + "\".items");
    if (!target.ok) return ::testing::AssertionFailure() << "target not ready: " << target.error;
    return TablesMatch(expected, target.rows);
  }
  void WaitForMatch(std::chrono::milliseconds timeout = 90s) {
    WaitUntil(
        [&] {
          if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
          return TargetMatches(Source());
        },
        timeout, "target equals source", 300ms);
  }
  // The position the PostgreSQL sink stored with the data: {"file", "pos"}.
  std::optional<nlohmann::json> StoredPosition() const {
    SqlResult r = pg_.TryQuery("SELECT position FROM sluice_offsets");
    if (!r.ok || r.rows.empty() || !r.rows[0][0]) return std::nullopt;
    return nlohmann::json::parse(*r.rows[0][0]);
  }
  // SHOW MASTER STATUS as {"file", "pos"}.
  nlohmann::json ServerPosition() const {
    SqlRows rows = server_->Client().Query("SHOW MASTER STATUS");
    if (rows.empty()) throw HarnessError("SHOW MASTER STATUS returned nothing");
    return {{"file", *rows[0][0]}, {"pos", std::stoull(*rows[0][1])}};
  }
  static bool AtOrPast(const nlohmann::json& a, const nlohmann::json& b) {
    std::string af = a.at("file"), bf = b.at("file");
    if (af != bf) return af > bf;  // same-length numbered names
    return a.at("pos").get<uint64_t>() >= b.at("pos").get<uint64_t>();
  }
  std::string DumpThreadId() const {
    SqlRows rows = server_->Client().Query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"
        " AND USER = '" + std::string(kPasswordUser) + "'");
    return rows.empty() || !rows[0][0] ? std::string() : *rows[0][0];
  }
  // Stops sluice (SIGTERM: what is flushed is committed), writes while it is down, rotates the
  // binlog twice and purges every file before the current one.
  void StopWriteAndPurge() {
    ExitStatus st = sluice_->Stop();
    ASSERT_TRUE(st.Success()) << st.Describe() << "\n" << sluice_->LogTail();
    WriteItems(5);
    server_->Client(db_).Exec("DELETE FROM items WHERE id BETWEEN 10 AND 20");
    server_->Client().Exec("FLUSH BINARY LOGS; FLUSH BINARY LOGS");
    std::string current = ServerPosition().at("file");
    // MariaDB keeps a file until its binlog checkpoint (InnoDB's flush) has moved past it.
    WaitUntil(
        [&] {
          server_->Client().Exec("PURGE BINARY LOGS TO '" + current + "'");
          return server_->Client().Query("SHOW BINARY LOGS").size() == 1;
        },
        30s, "the purge removes every binlog before " + current, 300ms);
  }

  std::optional<ScratchMariadb> server_;
  std::string db_, pg_db_;
  PgClient pg_;
  uint32_t server_id_ = 0;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(MariadbRecoveryTest, StartupRefusesBinlogSettingsItCannotReadWithTheFix) {
  TempDir out("myrec-settings");
  nlohmann::json config = Config();
  config["sink.type"] = "file";
  config["sink.url"] = out.path().string();
  struct Case {
    std::string set, says, fix;
  };
  const std::vector<Case> cases = {
      {"SET GLOBAL binlog_format = 'STATEMENT'", "binlog_format=STATEMENT", "set binlog_format=ROW"},
      {"SET GLOBAL binlog_format = 'MIXED'", "binlog_format=MIXED", "set binlog_format=ROW"},
      {"SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'MINIMAL'",
       "binlog_row_image=MINIMAL", "set binlog_row_image=FULL"},
      {"SET GLOBAL binlog_row_image = 'NOBLOB'", "binlog_row_image=NOBLOB",
       "set binlog_row_image=FULL"},
      {"SET GLOBAL binlog_row_image = 'FULL'; SET GLOBAL log_bin_compress = ON",
       "log_bin_compress=ON", "set log_bin_compress=OFF"},
  };
  for (const Case& c : cases) {
    server_->Client().Exec(c.set);
    for (const char* command : {"validate", "run"}) {
      CommandResult result = SluiceProcess::RunToCompletion(command, config, 60s);
      EXPECT_FALSE(result.Success()) << c.set << ": sluice " << command << " accepted it";
      const std::string text = result.err + result.out;
      EXPECT_NE(text.find(c.says), std::string::npos) << c.set << ", " << command << ":\n" << text;
      EXPECT_NE(text.find(c.fix), std::string::npos) << c.set << ", " << command << ":\n" << text;
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(out.path())) << "nothing may be written before the check";
  // With the settings fixed the same config is accepted and the data flows.
  server_->Client().Exec("SET GLOBAL log_bin_compress = OFF");
  CreateItems(300);
  config = Config();
  CommandResult ok = SluiceProcess::RunToCompletion("validate", config, 60s);
  EXPECT_TRUE(ok.Success()) << ok.err << ok.out;
  StartSluice(config);
  WaitForMatch();
}

TEST_F(MariadbRecoveryTest, PurgedBinlogAtRestartIsAnErrorNamingTheFile) {
  CreateItems(2000);
  StartSluice(Config());
  WaitForMatch();
  WriteItems(1);
  WaitForMatch();
  const SqlRows before = Source();
  StopWriteAndPurge();
  std::optional<nlohmann::json> stored = StoredPosition();
  ASSERT_TRUE(stored.has_value()) << "the sink stored no position";
  const std::string file = stored->at("file");
  sluice_->Restart();
  std::optional<ExitStatus> st = sluice_->WaitFor(90s);
  ASSERT_TRUE(st.has_value()) << "sluice kept running from a purged binlog:\n" << sluice_->LogTail();
  EXPECT_FALSE(st->Success());
  const std::string log = sluice_->Stderr() + sluice_->Stdout();
  EXPECT_NE(log.find("mysql binlog " + file), std::string::npos) << log;
  EXPECT_NE(log.find("purged"), std::string::npos) << log;
  EXPECT_NE(log.find("changes since then are lost"), std::string::npos) << log;
  EXPECT_NE(log.find("snapshot.mode=when_needed"), std::string::npos) << log;
  // Nothing was applied past the gap: the target still holds what it held at the stop.
  EXPECT_TRUE(TargetMatches(before));
}

TEST_F(MariadbRecoveryTest, WhenNeededResnapshotsAfterPurge) {
  CreateItems(2000);
  nlohmann::json config = Config();
  config["snapshot.mode"] = "when_needed";
  StartSluice(config);
  WaitForMatch();
  WriteItems(1);
  WaitForMatch();
  StopWriteAndPurge();
  sluice_->Restart();
  // The new snapshot truncates and re-reads: rows deleted while the connector was down go too.
  WaitForMatch();
  const std::string log = sluice_->LogTail(400);
  EXPECT_NE(log.find("taking a new snapshot"), std::string::npos) << log;
  // And it streams from the new snapshot's position.
  WriteItems(2);
  WaitForMatch();
}

TEST_F(MariadbRecoveryTest, ReconnectsAfterTheDumpThreadIsKilled) {
  CreateItems(2000);
  StartSluice(Config());
  WaitForMatch();
  std::string previous;
  for (int round = 0; round < 3; ++round) {
    std::string id;
    WaitUntil([&] { id = DumpThreadId(); return !id.empty() && id != previous; }, 60s,
              "a (new) binlog dump thread for the connector");
    WriteItems(10 + round);
    server_->Client().Exec("KILL CONNECTION " + id);
    WriteItems(20 + round);
    WaitForMatch();
    previous = id;
  }
  const std::string log = sluice_->LogTail(400);
  EXPECT_NE(log.find("retrying"), std::string::npos) << log;
  EXPECT_NE(log.find("mysql binlog stream at"), std::string::npos) << log;
}

TEST_F(MariadbRecoveryTest, ReconnectsWhenTheServerStopsAnsweringHeartbeats) {
  CreateItems(2000);
  StartSluice(Config());
  WaitForMatch();
  server_->Freeze();
  // heartbeat.interval.ms=500: nothing for kMissedHeartbeats periods (2 s at least) is a lost
  // connection, reported and retried instead of a read that blocks forever.
  WaitUntil(
      [&] {
        if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
        return sluice_->Stderr().find("not even a heartbeat") != std::string::npos ||
               sluice_->Stdout().find("not even a heartbeat") != std::string::npos;
      },
      30s, "sluice notices the silent server");
  server_->Resume();
  WriteItems(3);
  WaitForMatch();
  WriteItems(4);
  WaitForMatch();
}

TEST_F(MariadbRecoveryTest, BusyServerWithOtherTablesStillAdvancesThePosition) {
  CreateItems(500);
  server_->Client().Exec("CREATE DATABASE other; CREATE TABLE other.noise (id INT AUTO_INCREMENT PRIMARY KEY,"
                " v INT) ENGINE=InnoDB");
  StartSluice(Config());
  WaitForMatch();
  WriteItems(1);
  WaitForMatch();
  const nlohmann::json after_last_capture = ServerPosition();
  // Single-row transactions on a table that is not captured, back to back: the server never
  // idles long enough for a heartbeat.
  std::atomic<bool> stop{false};
  std::atomic<int> batches{0};
  std::string writer_error;  // written before writer_failed is set, read only after
  std::atomic<bool> writer_failed{false};
  std::thread writer([&] {
    while (!stop.load()) {
      SqlResult r = server_->Client().TryQuery(
          "DELIMITER //\nBEGIN NOT ATOMIC DECLARE i INT DEFAULT 0;"
          " WHILE i < 300 DO INSERT INTO other.noise (v) VALUES (i);"
          " SET i = i + 1; END WHILE; END //");
      if (!r.ok) {
        writer_error = r.error;
        writer_failed.store(true);
        return;
      }
      ++batches;
    }
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop.store(true);
      t.join();
    }
  } joiner{stop, writer};
  WaitUntil(
      [&] {
        if (writer_failed.load()) throw HarnessError("noise writer: " + writer_error);
        return batches.load() >= 1;
      },
      60s, "the noise writer's first round");
  const nlohmann::json noise_started = ServerPosition();
  ASSERT_TRUE(AtOrPast(noise_started, after_last_capture));
  // The stored position moves past the noise written so far while the noise goes on.
  WaitUntil(
      [&] {
        if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
        std::optional<nlohmann::json> stored = StoredPosition();
        return stored.has_value() && AtOrPast(*stored, noise_started) &&
               *stored != after_last_capture;
      },
      60s, "the committed position advances past transactions on other tables");
  EXPECT_FALSE(stop.load());
  const int during = batches.load();
  std::optional<nlohmann::json> mid = StoredPosition();
  // And keeps advancing.
  const nlohmann::json later = ServerPosition();
  WaitUntil(
      [&] {
        std::optional<nlohmann::json> stored = StoredPosition();
        return stored.has_value() && AtOrPast(*stored, later);
      },
      60s, "the committed position keeps advancing");
  EXPECT_GT(batches.load(), during) << "the noise writer stopped: the test proves nothing; "
                                    << (writer_failed.load() ? writer_error : "");
  // Captured changes in the middle of the noise still arrive.
  WriteItems(2);
  WaitForMatch();
  stop.store(true);
  std::optional<nlohmann::json> final_pos = StoredPosition();
  ASSERT_TRUE(mid.has_value() && final_pos.has_value());
  EXPECT_TRUE(AtOrPast(*final_pos, *mid));
  EXPECT_TRUE(TargetMatches(Source()));
}

// TLS end to end: a mariadbd with a certificate of a test authority, and a connector user
// created REQUIRE X509, so that only a TLS connection with a client certificate of that
// authority gets in. With database.sslmode=verify_identity and the three PEM files the snapshot
// and the binlog stream arrive, each transaction flushed once the reader has caught up (it sees
// OpenSSL's buffer, connectors/mysql/README.md), long before the heartbeat. Without the authority the server's certificate
// does not verify; without the client certificate the user is refused: each a clear error that
// names what to check, not retried. Then the MySQL sink writes to the same server over the same
// verified TLS.
TEST_F(MariadbRecoveryTest, TlsWithVerifiedServerAndClientCertificateSnapshotsAndStreams) {
  TempDir certs("mytls-certs");
  MakeCertificates(certs.path(), "tlsuser");
  auto file = [&](const char* name) { return (certs.path() / name).string(); };
  server_.emplace(std::vector<std::string>{"--ssl-ca=" + file("ca.crt"),
                                           "--ssl-cert=" + file("server.crt"),
                                           "--ssl-key=" + file("server.key")});
  ASSERT_EQ(server_->Client().QueryValue("SELECT @@have_ssl"), "YES") << "the server did not load TLS";
  server_->Client().Exec("CREATE DATABASE `" + db_ + "` CHARACTER SET utf8mb4;"
                "CREATE USER 'tlsuser'@'%' IDENTIFIED BY '" + std::string(kTestPassword) +
                "' REQUIRE X509;"
                "GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO "
                "'tlsuser'@'%'");
  CreateItems(500);
  nlohmann::json config = Config();
  config["database.user"] = "tlsuser";
  config["database.sslmode"] = "verify_identity";
  config["database.sslrootcert"] = file("ca.crt");
  config["database.sslcert"] = file("client.crt");
  config["database.sslkey"] = file("client.key");

  nlohmann::json no_ca = config;
  no_ca.erase("database.sslrootcert");
  EXPECT_TRUE(RefusedAtStart(no_ca, {"certificate in certificate chain (mysql error 2026); "
                                     "check database.sslmode, database.sslrootcert"}));
  nlohmann::json no_cert = config;
  no_cert.erase("database.sslcert");
  no_cert.erase("database.sslkey");
  EXPECT_TRUE(RefusedAtStart(no_cert, {"Access denied"}));

  // A reader that could not tell when it has caught up over TLS would hold each transaction
  // until the next heartbeat or sink.batch.ms (30 s here) before flushing it.
  config["heartbeat.interval.ms"] = "30000";
  config["sink.batch.ms"] = "30000";
  StartSluice(config);
  WaitForMatch();
  for (int round = 1; round <= 3; ++round) {
    WriteItems(round);
    WaitForMatch(10s);
  }
  // The binlog dump runs as the user that can only connect with TLS.
  EXPECT_FALSE(server_->Client().Query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE "
                              "'Binlog Dump%' AND USER = 'tlsuser'")
                   .empty());
  ExitStatus st = sluice_->Stop();
  EXPECT_TRUE(st.Success()) << st.Describe() << "\n" << sluice_->LogTail();

  // The MySQL sink over the same verified TLS (sink.url's sslmode, sslrootcert, sslcert,
  // sslkey): a one-shot sync of the copy just made in PostgreSQL back into this server.
  server_->Client().Exec("CREATE DATABASE tls_copy; GRANT ALL PRIVILEGES ON tls_copy.* TO 'tlsuser'@'%'");
  auto encode = [](const std::string& path) {
    std::string out;
    for (char c : path) out += c == '/' ? std::string("%2F") : std::string(1, c);
    return out;
  };
  const nlohmann::json sync = {
      {"name", "mytls_sync_" + db_},
      {"connector.class", "postgres"},
      {"database.hostname", TestEnv::PgHost()},
      {"database.port", std::to_string(TestEnv::PgPort())},
      {"database.user", TestEnv::PgUser()},
      {"database.dbname", pg_db_},
      {"table.include.list", db_ + "\\.items"},
      {"sink.type", "mysql"},
      {"sink.url", "mysql://tlsuser:" + std::string(kTestPassword) + "@127.0.0.1:" +
                       std::to_string(server_->port()) +
                       "/tls_copy?sslmode=verify_identity&sslrootcert=" + encode(file("ca.crt")) +
                       "&sslcert=" + encode(file("client.crt")) +
                       "&sslkey=" + encode(file("client.key"))}};
  CommandResult synced = SluiceProcess::RunToCompletion("sync", sync, 120s);
  ASSERT_TRUE(synced.Success()) << synced.out << synced.err;
  EXPECT_TRUE(TablesMatch(Source(),
                          server_->Client("tls_copy").Query("SELECT id, name, qty FROM items")));
}

}  // namespace
}  // namespace sluice::itest
