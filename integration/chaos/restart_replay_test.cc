// A source connection lost in the middle of a large transaction, with sluice still running:
// the pipeline restarts the source from the last committed position while the part of the
// transaction read before the cut is still in the queue or already written (and, by the sink's
// partial flushes, committed) in the target. The restarted source must not hand that part over
// again: a keyless table would get those rows twice. Found by the chaos suite (PG -> PG, a
// keyless table, "source connections cut mid-stream"); these pin it down deterministically, for
// both sources, with the source connection slowed and cut by a TcpProxy.
#include <gtest/gtest.h>

#include <chrono>
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

int64_t Count(const SqlResult& r) {
  return r.ok && !r.rows.empty() && r.rows[0][0] ? std::stoll(*r.rows[0][0]) : -1;
}

class RestartReplayTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (sluice_) sluice_->Kill();
    sluice_.reset();
    proxy_.reset();
    PgClient admin;
    if (!src_db_.empty()) {
      admin.TryQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                     "database = '" + src_db_ + "'");
      admin.TryQuery("DROP DATABASE IF EXISTS \"" + src_db_ + "\" WITH (FORCE)");
    }
    if (!my_db_.empty()) MysqlClient().TryQuery("DROP DATABASE IF EXISTS `" + my_db_ + "`");
    admin.TryQuery("DROP DATABASE IF EXISTS \"" + dst_db_ + "\" WITH (FORCE)");
  }

  // Streams one transaction of kRows keyless rows (and kRows keyed ones) through the slowed
  // proxy, cutting the source connection three times while it arrives; then the target must
  // hold every row once. `target_count` counts the keyless rows in the target.
  void CutMidTransaction(const std::function<void()>& write_transaction,
                         const std::function<int64_t()> target_count,
                         const std::function<SqlResult(const std::string&)>& target) {
    write_transaction();
    proxy_->SetRateLimit(kBytesPerSecond);
    int cuts = 0;
    int64_t seen = 0;
    auto deadline = std::chrono::steady_clock::now() + 120s;
    while (cuts < 3 && std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(sluice_->IsRunning()) << sluice_->LogTail();
      const int64_t now = target_count();
      // A cut once more of the transaction has reached the target (committed by a partial
      // flush): the restarted source then re-reads rows the target already has.
      if (now > seen && now < kRows) {
        seen = now;
        if (proxy_->DropAll() > 0) ++cuts;
        std::this_thread::sleep_for(300ms);
      }
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(cuts, 3) << "the cuts did not land inside the transaction (target had " << seen
                       << " rows); the test proves nothing\n" << sluice_->LogTail();
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

  std::string src_db_, my_db_, dst_db_;
  std::unique_ptr<TcpProxy> proxy_;
  std::optional<SluiceProcess> sluice_;
};

TEST_F(RestartReplayTest, PostgresSourceCutMidTransactionDeliversEachRowOnce) {
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
  CutMidTransaction(
      [&] {
        src.Exec("BEGIN; INSERT INTO nokey SELECT i, 'v' || i FROM generate_series(1, " +
                 std::to_string(kRows) + ") i; INSERT INTO keyed SELECT i, 'v' || i FROM "
                 "generate_series(1, " + std::to_string(kRows) + ") i; COMMIT");
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
  sluice_.emplace(SluiceProcess::Run({{"name", "replay_my"},
                                      {"connector.class", "mysql"},
                                      {"database.hostname", "127.0.0.1"},
                                      {"database.port", std::to_string(proxy_->port())},
                                      {"database.user", kPasswordUser},
                                      {"database.password", kTestPassword},
                                      {"database.server.id", "4711"},
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
        src.Exec("START TRANSACTION; INSERT INTO nokey SELECT seq, CONCAT('v', seq) FROM seq_1_to_" +
                 std::to_string(kRows) + "; INSERT INTO keyed SELECT seq, CONCAT('v', seq) FROM "
                 "seq_1_to_" + std::to_string(kRows) + "; COMMIT");
      },
      [&] { return Count(dst.TryQuery("SELECT count(*) FROM " + nokey)); },
      [&](const std::string& sql) {
        std::string q = sql;
        q.replace(q.find("FROM nokey"), 10, "FROM " + nokey);
        return dst.TryQuery(q);
      });
  EXPECT_EQ(Count(dst.TryQuery("SELECT count(*) FROM \"" + my_db_ + "\".keyed")), kRows);
}

}  // namespace
}  // namespace sluice::itest
