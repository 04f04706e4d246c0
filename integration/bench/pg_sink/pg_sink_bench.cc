// Snapshot load benchmark of the PostgreSQL sink alone: pgbench_accounts rows read from a source
// database (COPY TO STDOUT, as the source connector's snapshot reader does) are written through
// the Sink interface (EventBatches of 4096 rows, a Flush every 10000 events as the pipeline's
// defaults do; the table announced first, as the source connectors do, so its key is built
// after the load) into an empty database, against the reference: a binary
// `COPY … TO STDOUT | COPY … FROM STDIN` pipe into an identical empty table (primary key
// included), measured in the same run. Prints the ratio reference_time / sluice_time.
//
// Then the streaming comparison (see StreamingComparison).
//
// usage: pg_sink_bench [SCALE [TRANSACTIONS]]   pgbench scale, 100000 rows each (default 5; the
//        issue's run: 20) and pgbench transactions of the streaming backlog (default 20000)
// Needs SLUICE_TEST_PG_HOST/PORT/USER (run.sh starts throwaway servers when unset) and pgbench.
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/logging.h"
#include "integration/common/itest.h"
#include "sinks/postgres/postgres_sink.h"

namespace {

using Clock = std::chrono::steady_clock;
using sluice::itest::HarnessError;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

Conn Connect(const std::string& url) {
  Conn c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) throw HarnessError(PQerrorMessage(c.get()));
  return c;
}

void Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  std::string err = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_COPY_OUT &&
      st != PGRES_COPY_IN) {
    throw HarnessError(sql + ": " + err);
  }
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

const char* kAccountsDdl =
    "CREATE TABLE public.pgbench_accounts (aid integer NOT NULL, bid integer, abalance integer, "
    "filler character(84), PRIMARY KEY (aid))";

double ReferencePipe(const std::string& src_url, const std::string& dst_url) {
  Conn src = Connect(src_url);
  Conn dst = Connect(dst_url);
  Exec(dst.get(), kAccountsDdl);
  auto start = Clock::now();
  Exec(src.get(), "COPY public.pgbench_accounts TO STDOUT (FORMAT binary)");
  Exec(dst.get(), "COPY public.pgbench_accounts FROM STDIN (FORMAT binary)");
  char* buf = nullptr;
  int n;
  while ((n = PQgetCopyData(src.get(), &buf, 0)) > 0) {
    if (PQputCopyData(dst.get(), buf, n) != 1) throw HarnessError("reference copy: put failed");
    PQfreemem(buf);
  }
  while (PGresult* r = PQgetResult(src.get())) PQclear(r);
  if (PQputCopyEnd(dst.get(), nullptr) != 1) throw HarnessError("reference copy: end failed");
  while (PGresult* r = PQgetResult(dst.get())) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) throw HarnessError(PQresultErrorMessage(r));
    PQclear(r);
  }
  return Seconds(start);
}

double SluiceSink(const std::string& src_url, const std::string& dst_url, long* rows_out) {
  sluice::core::ConnectorContext context;
  context.config = sluice::core::ConnectorConfig(
      "bench", {{"connector.class", "postgres"}, {"sink.type", "postgres"}, {"sink.url", dst_url}});
  context.logger = sluice::core::ConnectorLogger("bench");
  auto made = sluice::sinks::MakePostgresSink(context);
  if (!made.ok()) throw HarnessError(made.status().ToString());
  std::unique_ptr<sluice::core::Sink> sink = std::move(*made);
  auto check = [](const sluice::core::Status& s) {
    if (!s.ok()) throw HarnessError(s.ToString());
  };
  check(sink->Open());
  auto schema = std::make_shared<sluice::core::TableSchema>();
  schema->id = {"public", "pgbench_accounts"};
  auto col = [](const char* name, sluice::core::LogicalType t, const char* type, bool nullable) {
    sluice::core::Column c;
    c.name = name;
    c.type = t;
    c.source_type = type;
    c.nullable = nullable;
    return c;
  };
  using LT = sluice::core::LogicalType;
  schema->columns = {col("aid", LT::kInt32, "integer", false), col("bid", LT::kInt32, "integer", true),
                     col("abalance", LT::kInt32, "integer", true),
                     col("filler", LT::kString, "character(84)", true)};
  schema->key = {0};
  sluice::core::TableSchemaPtr shared = schema;

  Conn src = Connect(src_url);
  auto start = Clock::now();
  Exec(src.get(), "COPY public.pgbench_accounts TO STDOUT");
  sluice::core::EventBatch batch;
  size_t since_flush = 0;
  long rows = 0;
  double in_sink = 0;
  auto write = [&] {
    batch.set_checkpoint({"{\"snapshot_rows\":" + std::to_string(rows) + "}"});
    auto t0 = Clock::now();
    check(sink->Write(batch));
    since_flush += batch.size();
    batch.Clear();
    if (since_flush >= 10000) {
      check(sink->Flush().status());
      since_flush = 0;
    }
    in_sink += Seconds(t0);
  };
  char* buf = nullptr;
  int n;
  // As the source connectors do: the snapshot's tables are announced first, so that the sink
  // creates them and builds their primary keys after the load.
  batch.AnnounceTable(shared);
  while ((n = PQgetCopyData(src.get(), &buf, 0)) > 0) {
    if (batch.txns().empty()) batch.AddTxn(sluice::core::TxnInfo{.snapshot = true});
    // Text COPY line: tab-separated; pgbench data has no escapes besides \N.
    std::string_view line(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    uint32_t row = batch.BeginRow();
    size_t pos = 0;
    while (true) {
      size_t tab = line.find('\t', pos);
      std::string_view field = line.substr(pos, tab == std::string_view::npos ? line.npos : tab - pos);
      if (field == "\\N") {
        batch.AppendNull();
      } else {
        batch.AppendValue(field);
      }
      if (tab == std::string_view::npos) break;
      pos = tab + 1;
    }
    batch.EndRow();
    batch.AddEvent({sluice::core::Op::kRead, sluice::core::kNoRow, row, 0, shared});
    PQfreemem(buf);
    ++rows;
    if (batch.size() >= 4096) write();
  }
  while (PGresult* r = PQgetResult(src.get())) PQclear(r);
  if (!batch.empty()) write();
  check(sink->Flush().status());
  sink->Close();
  *rows_out = rows;
  std::printf("  (of which inside Sink::Write/Flush: %.2f s)\n", in_sink);
  return Seconds(start);
}

// pgbench's schema for the streaming comparison, as format_type() prints it.
sluice::core::TableSchemaPtr PgbenchTable(const char* table, bool with_key) {
  using LT = sluice::core::LogicalType;
  auto s = std::make_shared<sluice::core::TableSchema>();
  s->id = {"public", table};
  auto col = [](const char* name, LT t, const char* type) {
    sluice::core::Column c;
    c.name = name;
    c.type = t;
    c.source_type = type;
    return c;
  };
  std::string t = table;
  if (t == "pgbench_accounts") {
    s->columns = {col("aid", LT::kInt32, "integer"), col("bid", LT::kInt32, "integer"),
                  col("abalance", LT::kInt32, "integer"), col("filler", LT::kString, "character(84)")};
  } else if (t == "pgbench_tellers") {
    s->columns = {col("tid", LT::kInt32, "integer"), col("bid", LT::kInt32, "integer"),
                  col("tbalance", LT::kInt32, "integer"), col("filler", LT::kString, "character(84)")};
  } else if (t == "pgbench_branches") {
    s->columns = {col("bid", LT::kInt32, "integer"), col("bbalance", LT::kInt32, "integer"),
                  col("filler", LT::kString, "character(88)")};
  } else {
    s->columns = {col("tid", LT::kInt32, "integer"), col("bid", LT::kInt32, "integer"),
                  col("aid", LT::kInt32, "integer"), col("delta", LT::kInt32, "integer"),
                  col("mtime", LT::kTimestamp, "timestamp without time zone"),
                  col("filler", LT::kString, "character(22)")};
  }
  if (with_key) s->key = {0};
  return s;
}

std::string PgbenchCmd(const sluice::itest::PgClient& c, const std::string& args) {
  return "pgbench " + args + " -h " + c.host() + " -p " + std::to_string(c.port()) + " -U " +
         c.user() + " " + c.dbname() + " >/dev/null 2>&1";
}

void Run(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) throw HarnessError("failed: " + cmd);
}

// Streaming apply of a pgbench backlog: native logical replication (CREATE SUBSCRIPTION on a
// slot created before the backlog) catching up, vs the same transactions' change events (the
// rows the PostgreSQL source would emit: full new rows of the three updates, the history
// insert) applied through the sink. Both targets start as identical pgbench -i databases.
void StreamingComparison(int scale, int transactions) {
  using sluice::itest::PgClient;
  std::string src_db = sluice::itest::CreateScratchPgDatabase("bench_ssrc");
  std::string nat_db = sluice::itest::CreateScratchPgDatabase("bench_nat");
  std::string dst_db = sluice::itest::CreateScratchPgDatabase("bench_sdst");
  PgClient src(src_db), nat(nat_db), dst(dst_db);
  std::string init = "-q -i -s " + std::to_string(scale);
  Run(PgbenchCmd(src, init));
  Run(PgbenchCmd(nat, init));
  Run(PgbenchCmd(dst, init));
  std::string slot = "bench_" + src_db;
  src.Exec("CREATE PUBLICATION bench_pub FOR ALL TABLES; SELECT pg_create_logical_replication_slot('" +
           slot + "', 'pgoutput')");
  // pgbench_history has no key: updates/deletes would need one, inserts do not.
  Run(PgbenchCmd(src, "-n -c 1 -t " + std::to_string(transactions)));

  // Native: subscription on the pre-made slot, synchronous_commit on (as the sink's session).
  auto start = Clock::now();
  nat.Exec("CREATE SUBSCRIPTION bench_sub CONNECTION 'host=" + src.host() + " port=" +
           std::to_string(src.port()) + " user=" + src.user() + " dbname=" + src_db +
           "' PUBLICATION bench_pub WITH (create_slot = false, slot_name = '" + slot +
           "', copy_data = false, synchronous_commit = 'on')");
  std::string want = std::to_string(transactions);
  sluice::itest::WaitUntil([&] { return nat.QueryValue("SELECT count(*) FROM pgbench_history") == want; },
                           std::chrono::seconds(600), "native subscription catching up");
  double t_native = Seconds(start);
  nat.Exec("ALTER SUBSCRIPTION bench_sub DISABLE; ALTER SUBSCRIPTION bench_sub SET (slot_name = NONE); DROP SUBSCRIPTION bench_sub");
  src.Exec("SELECT pg_drop_replication_slot('" + slot + "')");

  // The same transactions as change events, built before timing.
  auto accounts = PgbenchTable("pgbench_accounts", true);
  auto tellers = PgbenchTable("pgbench_tellers", true);
  auto branches = PgbenchTable("pgbench_branches", true);
  auto history = PgbenchTable("pgbench_history", false);
  sluice::itest::SqlRows hist = src.Query(
      "SELECT tid, bid, aid, delta, to_char(mtime, 'YYYY-MM-DD HH24:MI:SS.US') FROM pgbench_history ORDER BY ctid");
  std::vector<long> abal(static_cast<size_t>(scale) * 100000 + 1, 0), tbal(scale * 10 + 1, 0),
      bbal(scale + 1, 0);
  const std::string filler84(84, ' ');
  std::vector<std::unique_ptr<sluice::core::EventBatch>> batches;
  auto add = [&](sluice::core::Op op, const sluice::core::TableSchemaPtr& t,
                 std::vector<std::optional<std::string>> values) {
    if (batches.empty() || batches.back()->size() >= 4096) {
      batches.push_back(std::make_unique<sluice::core::EventBatch>());
      batches.back()->AddTxn({});
    }
    auto& b = *batches.back();
    uint32_t row = b.BeginRow();
    for (auto& v : values) {
      if (v) {
        b.AppendValue(*v);
      } else {
        b.AppendNull();
      }
    }
    b.EndRow();
    b.AddEvent({op, sluice::core::kNoRow, row, 0, t});
  };
  for (const auto& h : hist) {
    int tid = std::stoi(*h[0]), bid = std::stoi(*h[1]), aid = std::stoi(*h[2]);
    long delta = std::stol(*h[3]);
    abal[aid] += delta;
    tbal[tid] += delta;
    bbal[bid] += delta;
    int abid = (aid - 1) / 100000 + 1;
    add(sluice::core::Op::kUpdate, accounts,
        {std::to_string(aid), std::to_string(abid), std::to_string(abal[aid]), filler84});
    add(sluice::core::Op::kUpdate, tellers,
        {std::to_string(tid), std::to_string((tid - 1) / 10 + 1), std::to_string(tbal[tid]), std::nullopt});
    add(sluice::core::Op::kUpdate, branches, {std::to_string(bid), std::to_string(bbal[bid]), std::nullopt});
    add(sluice::core::Op::kCreate, history,
        {*h[0], *h[1], *h[2], *h[3], *h[4], std::nullopt});
  }
  sluice::core::ConnectorContext context;
  context.config = sluice::core::ConnectorConfig(
      "bench", {{"connector.class", "postgres"}, {"sink.type", "postgres"}, {"sink.url", dst.Url()}});
  context.logger = sluice::core::ConnectorLogger("bench");
  auto made = sluice::sinks::MakePostgresSink(context);
  if (!made.ok()) throw HarnessError(made.status().ToString());
  auto& sink = *made;
  auto check = [](const sluice::core::Status& s) {
    if (!s.ok()) throw HarnessError(s.ToString());
  };
  check(sink->Open());
  start = Clock::now();
  size_t since_flush = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    batches[i]->set_checkpoint({"{\"n\":" + std::to_string(i) + "}"});
    check(sink->Write(*batches[i]));
    since_flush += batches[i]->size();
    if (since_flush >= 10000) {
      check(sink->Flush().status());
      since_flush = 0;
    }
  }
  check(sink->Flush().status());
  double t_sluice = Seconds(start);
  sink->Close();
  const char* q =
      "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ':' || (SELECT sum(tbalance) FROM "
      "pgbench_tellers) || ':' || (SELECT sum(bbalance) FROM pgbench_branches) || ':' || "
      "(SELECT count(*) || ':' || sum(hashtext(tid || '|' || bid || '|' || aid || '|' || delta)) "
      "FROM pgbench_history)";
  std::string a = nat.QueryValue(q), b = dst.QueryValue(q), s = src.QueryValue(q);
  std::printf("streaming: %d pgbench transactions (%d row changes)\n", transactions, transactions * 4);
  std::printf("native logical replication catch-up: %8.2f s  %10.0f txn/s\n", t_native,
              transactions / t_native);
  std::printf("sluice postgres sink apply          : %8.2f s  %10.0f txn/s\n", t_sluice,
              transactions / t_sluice);
  std::printf("ratio (native time / sluice time): %.2fx %s\n", t_native / t_sluice,
              (a == s && b == s) ? "(targets equal the source)" : "(TARGETS DIFFER)");
  for (const auto& db : {src_db, nat_db, dst_db}) {
    sluice::itest::PgClient().TryQuery("DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
  }
  if (a != s || b != s) throw HarnessError("streaming targets differ from the source");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int scale = argc > 1 ? std::atoi(argv[1]) : 5;
    if (scale < 1) scale = 1;
    int transactions = argc > 2 ? std::atoi(argv[2]) : 20000;
    if (transactions < 1) transactions = 1;
    sluice::core::InitLogging("warn");
    std::string src_db = sluice::itest::CreateScratchPgDatabase("bench_src");
    std::string ref_db = sluice::itest::CreateScratchPgDatabase("bench_ref");
    std::string dst_db = sluice::itest::CreateScratchPgDatabase("bench_dst");
    sluice::itest::PgClient src(src_db), ref(ref_db), dst(dst_db);
    std::string cmd = "pgbench -q -i -s " + std::to_string(scale) + " -h " + src.host() + " -p " +
                      std::to_string(src.port()) + " -U " + src.user() + " " + src_db +
                      " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw HarnessError("pgbench -i failed: " + cmd);
    long rows = 0;
    // Each side starts after a CHECKPOINT, so that neither pays for the other's WAL.
    sluice::itest::PgClient().TryQuery("CHECKPOINT");
    double t_ref = ReferencePipe(src.Url(), ref.Url());
    sluice::itest::PgClient().TryQuery("CHECKPOINT");
    double t_sluice = SluiceSink(src.Url(), dst.Url(), &rows);
    std::string q = "SELECT count(*) || ':' || sum(hashtext(aid || '|' || bid || '|' || abalance || '|' || filler)) FROM pgbench_accounts";
    std::string a = ref.QueryValue(q), b = dst.QueryValue(q);
    std::printf("pgbench scale %d: %ld rows\n", scale, rows);
    std::printf("reference binary COPY pipe : %8.2f s  %10.0f rows/s\n", t_ref, rows / t_ref);
    std::printf("sluice postgres sink       : %8.2f s  %10.0f rows/s\n", t_sluice, rows / t_sluice);
    std::printf("ratio (reference time / sluice time): %.2fx %s\n", t_ref / t_sluice,
                a == b ? "(targets equal)" : "(TARGETS DIFFER)");
    for (const auto& db : {src_db, ref_db, dst_db}) {
      sluice::itest::PgClient().TryQuery("DROP DATABASE IF EXISTS \"" + db + "\"");
    }
    if (a != b) return 1;
    StreamingComparison(scale, transactions);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_sink_bench: %s\n", e.what());
    return 1;
  }
}
