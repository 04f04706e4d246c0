// Benchmark of the MySQL sink, driven through core::Sink as the pipeline drives it, against the
// `mariadb` client in the same run:
//   snapshot: multi-row INSERT ... ON DUPLICATE KEY UPDATE vs LOAD DATA LOCAL INFILE of the same
//             rows into an identical empty table;
//   streaming: a backlog of pgbench-like account updates vs the client replaying them as one
//             UPDATE per change, one COMMIT per source transaction.
//
// usage: mysql_sink_bench [ROWS] (default 200000), with the SLUICE_TEST_MYSQL_* variables of
// servers.env exported. Rows look like pgbench_accounts (aid, bid, abalance, filler char(84)).
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "integration/common/itest.h"
#include "sinks/mysql/mysql_sink.h"
#include "tests/common/schema_builders.h"

namespace {

using namespace sluice;
using Clock = std::chrono::steady_clock;

core::TableSchemaPtr AccountsSchema() {
  using sluice::testing::Col;
  return sluice::testing::MakeSchema(
      "public", "accounts",
      {Col("aid", core::LogicalType::kInt32, "integer", 0, 0, 0, false),
       Col("bid", core::LogicalType::kInt32, "integer"),
       Col("abalance", core::LogicalType::kInt32, "integer"),
       Col("filler", core::LogicalType::kString, "character(84)", 84)},
      {0}, "");
}

int Run(int64_t rows) {
  std::string db = itest::UniqueName("bench_mysql_sink");
  itest::MysqlClient admin;
  std::string url = itest::MysqlClient(db).Url();
  const std::string filler(84, ' ');
  auto schema = AccountsSchema();

  // 1. The sink, as the pipeline drives it: batches of 4096 events, a flush every 10000.
  core::ConnectorConfig config("bench", {{"connector.class", "postgres"},
                                         {"sink.type", "mysql"},
                                         {"sink.url", url}});
  auto options = sinks::mysql_sink::MysqlSinkOptionsFromConfig(config);
  if (!options.ok()) {
    std::cerr << options.status().ToString() << "\n";
    return 1;
  }
  sinks::mysql_sink::MysqlSink sink(*options);
  auto started = Clock::now();
  if (core::Status s = sink.Open(); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  core::EventBatch batch;
  int64_t since_flush = 0;
  for (int64_t aid = 1; aid <= rows;) {
    batch.Clear();
    uint32_t txn = batch.AddTxn(core::TxnInfo{.snapshot = true});
    for (int i = 0; i < 4096 && aid <= rows; ++i, ++aid) {
      uint32_t row = batch.BeginRow();
      batch.AppendValue(std::to_string(aid));
      batch.AppendValue(std::to_string((aid - 1) / 100000 + 1));
      batch.AppendValue("0");
      batch.AppendValue(filler);
      batch.EndRow();
      batch.AddEvent({core::Op::kRead, core::kNoRow, row, txn, schema});
    }
    batch.set_checkpoint({"{\"aid\":" + std::to_string(aid) + "}"});
    if (core::Status s = sink.Write(batch); !s.ok()) {
      std::cerr << s.ToString() << "\n";
      return 1;
    }
    since_flush += static_cast<int64_t>(batch.size());
    if (since_flush >= 10000 || aid > rows) {
      auto f = sink.Flush();
      if (!f.ok()) {
        std::cerr << f.status().ToString() << "\n";
        return 1;
      }
      since_flush = 0;
    }
  }
  double sink_s = std::chrono::duration<double>(Clock::now() - started).count();
  sink.Close();

  // 2. The reference: the same rows as a TSV file, LOAD DATA LOCAL INFILE by the mariadb client
  //    into an identical empty table (file written before the clock starts).
  itest::TempDir tmp("bench-mysql-sink");
  std::filesystem::path tsv = tmp / "accounts.tsv";
  {
    std::ofstream out(tsv);
    for (int64_t aid = 1; aid <= rows; ++aid) {
      out << aid << '\t' << (aid - 1) / 100000 + 1 << "\t0\t" << filler << '\n';
    }
  }
  itest::MysqlClient target(db);
  target.Exec("CREATE TABLE accounts_ref LIKE accounts");
  started = Clock::now();
  itest::CommandResult load = itest::RunCommand(
      {"mariadb", "--no-defaults", "--local-infile=1", "-h", itest::TestEnv::MysqlHost(), "-P",
       std::to_string(itest::TestEnv::MysqlPort()), "-u", itest::TestEnv::MysqlUser(), db, "-e",
       "LOAD DATA LOCAL INFILE '" + tsv.string() + "' INTO TABLE accounts_ref"});
  double ref_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (!load.Success()) {
    std::cerr << "reference load failed: " << load.Describe({"mariadb"}) << "\n";
    return 1;
  }

  // 3. Streaming: a backlog of pgbench-like transactions (3 account updates each, full row
  //    images as pgoutput sends them) through the sink, flushed every 10000 events as the
  //    pipeline does, vs the `mariadb` client replaying the same changes as one UPDATE per
  //    change and one COMMIT per source transaction.
  const int64_t txns = std::max<int64_t>(1, rows / 10);
  std::vector<int64_t> balance(static_cast<size_t>(rows) + 1, 0);
  std::vector<std::array<int64_t, 3>> changes;  // aid, new balance, txn
  uint64_t rng = 12345;
  auto next = [&rng] {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng >> 33;
  };
  for (int64_t t = 0; t < txns; ++t) {
    for (int k = 0; k < 3; ++k) {
      int64_t aid = static_cast<int64_t>(next() % static_cast<uint64_t>(rows)) + 1;
      balance[aid] += static_cast<int64_t>(next() % 10001) - 5000;
      changes.push_back({aid, balance[aid], t});
    }
  }
  std::filesystem::path sql_file = tmp / "stream.sql";
  {
    std::ofstream out(sql_file);
    int64_t open_txn = -1;
    for (const auto& c : changes) {
      if (c[2] != open_txn) {
        if (open_txn >= 0) out << "COMMIT;\n";
        out << "BEGIN;\n";
        open_txn = c[2];
      }
      out << "UPDATE accounts_ref SET abalance = " << c[1] << " WHERE aid = " << c[0] << ";\n";
    }
    out << "COMMIT;\n";
  }
  sinks::mysql_sink::MysqlSink stream_sink(*options);
  started = Clock::now();
  if (core::Status s = stream_sink.Open(); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  since_flush = 0;
  for (size_t i = 0; i < changes.size();) {
    batch.Clear();
    uint32_t txn = batch.AddTxn(core::TxnInfo{});
    for (int n = 0; n < 4096 && i < changes.size(); ++n, ++i) {
      const auto& c = changes[i];
      uint32_t row = batch.BeginRow();
      batch.AppendValue(std::to_string(c[0]));
      batch.AppendValue(std::to_string((c[0] - 1) / 100000 + 1));
      batch.AppendValue(std::to_string(c[1]));
      batch.AppendValue(filler);
      batch.EndRow();
      batch.AddEvent({core::Op::kUpdate, core::kNoRow, row, txn, schema});
    }
    batch.set_checkpoint({"{\"change\":" + std::to_string(i) + "}"});
    if (core::Status s = stream_sink.Write(batch); !s.ok()) {
      std::cerr << s.ToString() << "\n";
      return 1;
    }
    since_flush += static_cast<int64_t>(batch.size());
    if (since_flush >= 10000 || i == changes.size()) {
      auto f = stream_sink.Flush();
      if (!f.ok()) {
        std::cerr << f.status().ToString() << "\n";
        return 1;
      }
      since_flush = 0;
    }
  }
  double stream_sink_s = std::chrono::duration<double>(Clock::now() - started).count();
  stream_sink.Close();
  itest::RunOptions replay_options;
  replay_options.stdin_data = itest::ReadFile(sql_file);
  replay_options.timeout = std::chrono::minutes(30);
  started = Clock::now();
  itest::CommandResult replay = itest::RunCommand(
      {"mariadb", "--no-defaults", "-h", itest::TestEnv::MysqlHost(), "-P",
       std::to_string(itest::TestEnv::MysqlPort()), "-u", itest::TestEnv::MysqlUser(), db},
      replay_options);
  double stream_ref_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (!replay.Success()) {
    std::cerr << "reference replay failed: " << replay.Describe({"mariadb"}) << "\n";
    return 1;
  }

  std::string a = target.QueryValue("SELECT CONCAT(COUNT(*), ':', SUM(CRC32(CONCAT_WS('|', aid, bid, abalance, filler)))) FROM accounts");
  std::string b = target.QueryValue("SELECT CONCAT(COUNT(*), ':', SUM(CRC32(CONCAT_WS('|', aid, bid, abalance, filler)))) FROM accounts_ref");
  admin.TryQuery("DROP DATABASE `" + db + "`");
  std::printf("rows: %lld\n", static_cast<long long>(rows));
  std::printf("sluice mysql sink (multi-row upsert): %.2f s, %.0f rows/s\n", sink_s, rows / sink_s);
  std::printf("mariadb LOAD DATA LOCAL INFILE:       %.2f s, %.0f rows/s\n", ref_s, rows / ref_s);
  std::printf("ratio (sink rate / LOAD DATA rate):   %.2f\n", ref_s / sink_s);
  std::printf("streaming backlog: %zu changes in %lld transactions\n", changes.size(),
              static_cast<long long>(txns));
  std::printf("sluice mysql sink (batched upserts):  %.2f s, %.0f changes/s\n", stream_sink_s,
              changes.size() / stream_sink_s);
  std::printf("mariadb replay (UPDATE per change):   %.2f s, %.0f changes/s\n", stream_ref_s,
              changes.size() / stream_ref_s);
  std::printf("ratio (sink rate / replay rate):      %.2f\n", stream_ref_s / stream_sink_s);
  std::printf("tables equal: %s (%s vs %s)\n", a == b ? "yes" : "NO", a.c_str(), b.c_str());
  return a == b ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? std::stoll(argv[1]) : 200000;
  try {
    return Run(rows);
  } catch (const std::exception& e) {
    std::cerr << "mysql_sink_bench: " << e.what() << "\n";
    return 1;
  }
}
