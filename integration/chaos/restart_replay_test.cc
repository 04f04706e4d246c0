// Regression tests for what the chaos suite found, each pinned down deterministically with a
// TcpProxy between sluice and one server (the shared test servers):
//   - a source connection lost in the middle of a large transaction, with sluice still running:
//     the pipeline restarts the source from the last committed position while the part read
//     before the cut is still queued or already written (and, by partial flushes, committed) in
//     the target; the restarted source must not hand it over again (a keyless table got those
//     rows twice), for both sources;
//   - a binlog reader reopened right after ADD COLUMN (the new column never reached the target);
//   - a commit whose reply was lost (the sink applied the same batches again), for both sinks;
//   - disabled until fixed: kill -9 after part of a transaction was committed (see below).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "integration/common/itest.h"
#include "integration/common/tcp_proxy.h"

namespace sluice::itest {
namespace {

using namespace std::chrono_literals;

constexpr int kRows = 20000;
// Slow enough that the transaction takes a few seconds to arrive, so that the cuts land in it.
constexpr int64_t kBytesPerSecond = 256 * 1024;

// One transaction of kRows keyless and kRows keyed rows, inserted in alternating chunks so that
// the keyless rows are spread over the whole transaction as it streams. `range(from, to)` is the
// dialect's row source for ids from..to.
std::string InterleavedTransaction(const std::string& begin,
                                   const std::function<std::string(int, int)>& range) {
  constexpr int kChunk = 500;
  std::string sql = begin + ";";
  for (int from = 1; from <= kRows; from += kChunk) {
    sql += "INSERT INTO nokey " + range(from, from + kChunk - 1) + ";";
    sql += "INSERT INTO keyed " + range(from, from + kChunk - 1) + ";";
  }
  return sql + "COMMIT";
}

int64_t Count(const SqlResult& r) {
  return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stoll(*r.rows[0][0]) : -1;
}

class RestartReplayTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    proxy_.reset();
    if (!src_db_.empty()) DropPgSourceDatabase(src_db_);
    if (!my_db_.empty()) DropMysqlDatabase(my_db_);
    DropPgDatabase(dst_db_);
  }

  // Streams one transaction of kRows keyless rows (and kRows keyed ones) through the slowed
  // proxy, cutting the source connection up to three times while it arrives (at least once
  // after part of it was committed in the target); then the target must hold every row once. `target_count` counts the keyless rows in the target.
  void CutMidTransaction(const std::function<void()>& write_transaction,
                         const std::function<int64_t()> target_count,
                         const std::function<SqlResult(const std::string&)>& target) {
    // Slowed before the transaction is written: set after it, the source could read all of it
    // at full speed first (a reader that returns as soon as it has caught up gets far in the
    // milliseconds between), and no cut would land inside it.
    proxy_->SetRateLimit(kBytesPerSecond);
    write_transaction();
    // Each cut lands once more of the transaction has reached the target (committed by a
    // partial flush), so that the restarted source re-reads rows the target already has.
    int cuts = 0;
    int64_t seen = 0;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (cuts < 3 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
      const int64_t now = target_count();
      if (now >= kRows) break;  // the rest came in one commit: no further cut can land in it
      if (now > seen) {
        seen = now;
        if (proxy_->DropAll() > 0) ++cuts;
        std::this_thread::sleep_for(300ms);
      }
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_GE(cuts, 1) << "no cut landed inside the transaction; the test proves nothing\n"
                       << sluice_->LogTail();
    proxy_->SetRateLimit(0);
    WaitUntil([&] { return target_count() >= kRows; }, 120s,
              "the whole transaction reaches the target; log:\n" + sluice_->LogTail());
    std::this_thread::sleep_for(1s);  // anything repeated would arrive now
    EXPECT_EQ(target_count(), kRows) << sluice_->LogTail(60);
    SqlResult dups = target("SELECT count(*) FROM (SELECT k FROM nokey GROUP BY k HAVING count(*) > 1) d");
    EXPECT_EQ(Count(dups), 0) << dups.error;
    const std::string log = sluice_->LogTail(400);
    EXPECT_NE(log.find("retrying"), std::string::npos) << "the source was never restarted:\n" << log;
  }

  // PostgreSQL -> PostgreSQL (nokey, keyed) with the source behind proxy_; returns once the
  // snapshot has created the target tables.
  void StartPostgresToPostgres() {
    src_db_ = CreateScratchPgDatabase("replay_src");
    dst_db_ = CreateScratchPgDatabase("replay_dst");
    PgClient src(src_db_), dst(dst_db_);
    src.Exec("CREATE TABLE nokey (k int NOT NULL, v text); ALTER TABLE nokey REPLICA IDENTITY FULL;"
             "CREATE TABLE keyed (id int PRIMARY KEY, v text)");
    proxy_ = std::make_unique<TcpProxy>(TestEnv::PgPort());
    sluice_.emplace(SluiceProcess::Run({{"name", "replay_pg"},
                                        {"connector.class", "postgres"},
                                        {"database.hostname", "127.0.0.1"},
                                        {"database.port", std::to_string(proxy_->port())},
                                        {"database.user", src.user()},
                                        {"database.dbname", src_db_},
                                        {"slot.name", "replay_" + src_db_},
                                        {"publication.name", "replay_" + src_db_},
                                        {"sink.type", "postgres"},
                                        {"sink.url", dst.Url()},
                                        {"sink.batch.ms", "100"}}));
    WaitUntil([&] { return Count(dst.TryQuery("SELECT count(*) FROM nokey")) == 0; }, 60s,
              "the snapshot creates the target tables");
  }

  std::string src_db_, my_db_, dst_db_;
  std::unique_ptr<TcpProxy> proxy_;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(RestartReplayTest, PostgresSourceCutMidTransactionDeliversEachRowOnce) {
  StartPostgresToPostgres();
  PgClient src(src_db_), dst(dst_db_);
  CutMidTransaction(
      [&] {
        src.Exec(InterleavedTransaction("BEGIN", [](int from, int to) {
          return "SELECT i, 'v' || i FROM generate_series(" + std::to_string(from) + ", " +
                 std::to_string(to) + ") i";
        }));
      },
      [&] { return Count(dst.TryQuery("SELECT count(*) FROM nokey")); },
      [&](const std::string& sql) { return dst.TryQuery(sql); });
  EXPECT_EQ(Count(dst.TryQuery("SELECT count(*) FROM keyed")), kRows);
}

TEST_F(RestartReplayTest, MariadbSourceCutMidTransactionDeliversEachRowOnce) {
  my_db_ = CreateScratchMysqlDatabase("replay_src");
  dst_db_ = CreateScratchPgDatabase("replay_dst");
  MysqlClient src(my_db_);
  PgClient dst(dst_db_);
  src.Exec("CREATE TABLE nokey (k INT NOT NULL, v VARCHAR(40)); "
           "CREATE TABLE keyed (id INT PRIMARY KEY, v VARCHAR(40))");
  proxy_ = std::make_unique<TcpProxy>(TestEnv::MysqlPort());
  // Its own replica id: a dump thread of an earlier run may linger on the shared server.
  std::random_device rd;
  const uint32_t server_id = 100000 + rd() % 1000000;
  sluice_.emplace(SluiceProcess::Run({{"name", "replay_my"},
                                      {"connector.class", "mysql"},
                                      {"database.hostname", "127.0.0.1"},
                                      {"database.port", std::to_string(proxy_->port())},
                                      {"database.user", kPasswordUser},
                                      {"database.password", kTestPassword},
                                      {"database.server.id", std::to_string(server_id)},
                                      {"database.include.list", my_db_},
                                      {"heartbeat.interval.ms", "500"},
                                      {"sink.type", "postgres"},
                                      {"sink.url", dst.Url()},
                                      {"sink.batch.ms", "100"}}));
  const std::string nokey = "\"" + my_db_ + "\".nokey";
  WaitUntil([&] { return Count(dst.TryQuery("SELECT count(*) FROM " + nokey)) == 0; }, 60s,
            "the snapshot creates the target tables");
  CutMidTransaction(
      [&] {
        src.Exec(InterleavedTransaction("START TRANSACTION", [](int from, int to) {
          return "SELECT seq, CONCAT('v', seq) FROM seq_" + std::to_string(from) + "_to_" +
                 std::to_string(to);
        }));
      },
      [&] { return Count(dst.TryQuery("SELECT count(*) FROM " + nokey)); },
      [&](const std::string& sql) {
        std::string q = sql;
        q.replace(q.find("FROM nokey"), 10, "FROM " + nokey);
        return dst.TryQuery(q);
      });
  EXPECT_EQ(Count(dst.TryQuery("SELECT count(*) FROM \"" + my_db_ + "\".keyed")), kRows);
}


// KNOWN BUG, kept as the regression test for its fix (enable it then): the pipeline flushes
// (and a database sink commits) the first part of a transaction that is still arriving, with
// the position of the transaction before it. After kill -9 the restart replays the transaction
// from its start, and the keyless table gets the part committed before the kill twice (20467
// rows for 20000 in one run). Keyed tables are unaffected (upserts). The fix belongs to the
// pipeline / sink contract (core/pipeline: flush only at a checkpoint that ends the batch, or
// sinks storing how far into the open transaction they got): see the chaos suite's report.
TEST_F(RestartReplayTest, DISABLED_PostgresKillMidTransactionDeliversEachRowOnce) {
  StartPostgresToPostgres();
  PgClient src(src_db_), dst(dst_db_);
  src.Exec(InterleavedTransaction("BEGIN", [](int from, int to) {
    return "SELECT i, 'v' || i FROM generate_series(" + std::to_string(from) + ", " +
           std::to_string(to) + ") i";
  }));
  proxy_->SetRateLimit(kBytesPerSecond);
  int64_t at_kill = 0;
  WaitUntil(
      [&] {
        at_kill = Count(dst.TryQuery("SELECT count(*) FROM nokey"));
        return at_kill > 0;
      },
      60s, "part of the transaction is committed in the target", 20ms);
  sluice_->Kill();
  ASSERT_LT(at_kill, kRows) << "the kill came after the transaction: the test proves nothing";
  proxy_->SetRateLimit(0);
  sluice_->Restart();
  WaitUntil([&] { return Count(dst.TryQuery("SELECT count(*) FROM keyed")) >= kRows; }, 120s,
            "the whole transaction reaches the target; log:\n" + sluice_->LogTail());
  std::this_thread::sleep_for(2s);  // anything repeated would arrive now
  EXPECT_EQ(Count(dst.TryQuery("SELECT count(*) FROM nokey")), kRows);
}

// An in-process reconnect right after ADD COLUMN (found by the chaos suite, MariaDB -> PG: the
// connector failed with 'column "extra" of relation "items" does not exist'). The new binlog
// reader numbered schema versions from the start again, so the table's new shape got the number
// the sink already knew for the old one, and the sink skipped adding the column.
TEST_F(RestartReplayTest, MariadbReconnectAfterAddColumnAddsTheColumn) {
  my_db_ = CreateScratchMysqlDatabase("addcol_src");
  dst_db_ = CreateScratchPgDatabase("addcol_dst");
  MysqlClient src(my_db_);
  PgClient dst(dst_db_);
  src.Exec("CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO items VALUES (1, 'a')");
  proxy_ = std::make_unique<TcpProxy>(TestEnv::MysqlPort());
  std::random_device rd;
  sluice_.emplace(SluiceProcess::Run({{"name", "addcol"},
                                      {"connector.class", "mysql"},
                                      {"database.hostname", "127.0.0.1"},
                                      {"database.port", std::to_string(proxy_->port())},
                                      {"database.user", kPasswordUser},
                                      {"database.password", kTestPassword},
                                      {"database.server.id", std::to_string(100000 + rd() % 1000000)},
                                      {"database.include.list", my_db_},
                                      {"heartbeat.interval.ms", "500"},
                                      {"sink.type", "postgres"},
                                      {"sink.url", dst.Url()},
                                      {"sink.batch.ms", "100"}}));
  const std::string items = "\"" + my_db_ + "\".items";
  auto target_rows = [&] { return Count(dst.TryQuery("SELECT count(*) FROM " + items)); };
  WaitUntil([&] { return target_rows() == 1; }, 60s, "the snapshot");
  src.Exec("INSERT INTO items VALUES (2, 'b')");  // streamed: the sink knows the old shape
  WaitUntil([&] { return target_rows() == 2; }, 60s, "the first streamed row");
  // The reader must not see the ADD COLUMN before the reconnect: the next reader meets it.
  proxy_->Stall();
  src.Exec("ALTER TABLE items ADD COLUMN extra VARCHAR(20) NULL;"
           "INSERT INTO items VALUES (3, 'c', 'x'); UPDATE items SET extra = 'y' WHERE id = 1");
  ASSERT_GT(proxy_->DropAll(), 0);
  proxy_->Resume();
  WaitUntil(
      [&] {
        if (!sluice_->IsRunning()) throw HarnessError("sluice exited:\n" + sluice_->LogTail());
        return TablesMatch(src.Query("SELECT id, v, extra FROM items"),
                           dst.TryQuery("SELECT id::text, v, extra FROM " + items).rows);
      },
      60s, "the new column and its values reach the target; log:\n" + sluice_->LogTail());
}

// The target connection cut after the server committed but before the reply reached the sink
// (found by the chaos suite, "target connections cut mid-stream": keyless rows doubled). The
// pipeline resets the sink and writes the same batches again; the sink must see from the stored
// position that the commit went through and not apply them twice.
class CommitReplyLostTest : public RestartReplayTest {
 protected:
  // A PostgreSQL source (direct) -> `sink_type` at `sink_url` (through proxy_), nokey + keyed.
  void Run(const std::string& sink_type, const std::string& sink_url) {
    PgClient src(src_db_);
    src.Exec("CREATE TABLE nokey (k int NOT NULL, v text); ALTER TABLE nokey REPLICA IDENTITY FULL;"
             "CREATE TABLE keyed (id int PRIMARY KEY, v text); INSERT INTO keyed VALUES (0, 'x')");
    sluice_.emplace(SluiceProcess::Run({{"name", "reply_lost"},
                                        {"connector.class", "postgres"},
                                        {"database.hostname", src.host()},
                                        {"database.port", std::to_string(src.port())},
                                        {"database.user", src.user()},
                                        {"database.dbname", src_db_},
                                        {"slot.name", "reply_" + src_db_},
                                        {"publication.name", "reply_" + src_db_},
                                        {"sink.type", sink_type},
                                        {"sink.url", sink_url},
                                        {"sink.batch.ms", "100"}}));
  }
  void ExpectEachRowOnce(const std::function<int64_t(const std::string&)>& target_count) {
    WaitUntil([&] { return target_count("keyed") == 1; }, 60s, "the snapshot reaches the target");
    std::this_thread::sleep_for(1s);  // the snapshot's last commit is done
    proxy_->CutAfterReplyTo("COMMIT", "nokey");  // the data's commit, not an idle checkpoint's
    PgClient(src_db_).Exec("INSERT INTO nokey SELECT i, 'v' || i FROM generate_series(1, 100) i;"
                           "INSERT INTO keyed SELECT i, 'v' || i FROM generate_series(1, 100) i");
    WaitUntil([&] { return target_count("keyed") == 101; }, 60s,
              "the rows reach the target; log:\n" + sluice_->LogTail());
    std::this_thread::sleep_for(1s);  // a second application would be committed by now
    ASSERT_EQ(proxy_->cut_after_reply(), 1) << "the commit's reply was never cut";
    EXPECT_EQ(target_count("nokey"), 100) << sluice_->LogTail(60);
    EXPECT_NE(sluice_->LogTail(200).find("went through before its connection was lost"),
              std::string::npos)
        << "the cut did not land after the commit: the test proves nothing\n" << sluice_->LogTail();
  }
};

TEST_F(CommitReplyLostTest, PostgresSinkDoesNotApplyACommittedTransactionTwice) {
  src_db_ = CreateScratchPgDatabase("reply_src");
  dst_db_ = CreateScratchPgDatabase("reply_dst");
  PgClient dst(dst_db_);
  proxy_ = std::make_unique<TcpProxy>(TestEnv::PgPort());
  Run("postgres", PgClient("127.0.0.1", proxy_->port(), dst_db_, dst.user()).Url());
  ExpectEachRowOnce([&](const std::string& table) {
    return Count(dst.TryQuery("SELECT count(*) FROM " + table));
  });
}

TEST_F(CommitReplyLostTest, MysqlSinkDoesNotApplyACommittedTransactionTwice) {
  src_db_ = CreateScratchPgDatabase("reply_src");
  my_db_ = CreateScratchMysqlDatabase("reply_dst");
  MysqlClient dst(my_db_);
  proxy_ = std::make_unique<TcpProxy>(TestEnv::MysqlPort());
  Run("mysql", MysqlClient("127.0.0.1", proxy_->port(), my_db_, dst.user()).Url());
  ExpectEachRowOnce([&](const std::string& table) {
    return Count(dst.TryQuery("SELECT COUNT(*) FROM " + table));
  });
}

}  // namespace
}  // namespace sluice::itest
