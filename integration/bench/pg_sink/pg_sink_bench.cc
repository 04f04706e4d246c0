// Snapshot load benchmark of the PostgreSQL sink alone: pgbench_accounts rows read from a source
// database (COPY TO STDOUT, as the source connector's snapshot reader does) are written through
// the Sink interface (EventBatches of 4096 rows, a Flush every 10000 events as the pipeline's
// defaults do) into an empty database, against the reference: a binary
// `COPY … TO STDOUT | COPY … FROM STDIN` pipe into an identical empty table (primary key
// included), measured in the same run. Prints the ratio reference_time / sluice_time.
//
// usage: pg_sink_bench [SCALE]   pgbench scale, 100000 rows each (default 5; the run: 20)
// Needs SLUICE_TEST_PG_HOST/PORT/USER (run.sh starts throwaway servers when unset) and pgbench.
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

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
  auto write = [&] {
    batch.set_checkpoint({"{\"snapshot_rows\":" + std::to_string(rows) + "}"});
    check(sink->Write(batch));
    since_flush += batch.size();
    batch.Clear();
    if (since_flush >= 10000) {
      check(sink->Flush().status());
      since_flush = 0;
    }
  };
  char* buf = nullptr;
  int n;
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
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int scale = argc > 1 ? std::atoi(argv[1]) : 5;
    if (scale < 1) scale = 1;
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
    double t_ref = ReferencePipe(src.Url(), ref.Url());
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
    return a == b ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_sink_bench: %s\n", e.what());
    return 1;
  }
}
