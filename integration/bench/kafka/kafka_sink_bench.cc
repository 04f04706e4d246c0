// kafka_sink_bench CONNINFO TABLE BOOTSTRAP PREFIX [librdkafka-property=value ...]
//
// Reads TABLE (id bigint, name text, amount numeric, created timestamp) with COPY … TO STDOUT
// and writes every row as a Debezium envelope through the Kafka sink (one topic, snapshot "r"
// events, batches of 10,000, one Flush at the end that waits for every delivery report).
// Prints rows, seconds and rows/s. The reference (`COPY … | kcat -P`) is timed by run.sh.
#include <libpq-fe.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "sinks/kafka/kafka_sink.h"

using namespace sluice;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: kafka_sink_bench CONNINFO TABLE BOOTSTRAP PREFIX\n");
    return 2;
  }
  std::string table = argv[2];
  PGconn* conn = PQconnectdb(argv[1]);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::fprintf(stderr, "connect: %s", PQerrorMessage(conn));
    return 1;
  }
  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {"public", table};
  schema->database = "bench";
  schema->columns = {{"id", core::LogicalType::kInt64, "bigint", false},
                     {"name", core::LogicalType::kString, "text"},
                     {"amount", core::LogicalType::kDecimal, "numeric(12,2)"},
                     {"created", core::LogicalType::kTimestamp, "timestamp without time zone"}};
  schema->key = {0};

  sinks::KafkaSinkOptions o;
  o.connector_name = argv[4];
  o.librdkafka = {{"bootstrap.servers", argv[3]}};
  for (int i = 5; i < argc; ++i) {
    std::string kv = argv[i];
    size_t eq = kv.find('=');
    if (eq != std::string::npos) o.librdkafka[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  o.envelope.name = argv[4];
  sinks::KafkaSink sink(o);
  if (auto s = sink.Open(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }

  auto start = std::chrono::steady_clock::now();
  PGresult* res = PQexec(conn, ("COPY " + table + " TO STDOUT").c_str());
  if (PQresultStatus(res) != PGRES_COPY_OUT) {
    std::fprintf(stderr, "copy: %s", PQerrorMessage(conn));
    return 1;
  }
  PQclear(res);
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({0, true, false, 0, 0, "", 0, ""});
  uint64_t rows = 0;
  char* line = nullptr;
  int n;
  while ((n = PQgetCopyData(conn, &line, 0)) > 0) {
    std::string_view l(line, static_cast<size_t>(n));
    if (!l.empty() && l.back() == '\n') l.remove_suffix(1);
    uint32_t row = batch.BeginRow();
    size_t pos = 0;
    for (int c = 0; c < 4; ++c) {
      size_t tab = l.find('\t', pos);
      std::string_view v = l.substr(pos, tab == std::string_view::npos ? l.size() - pos : tab - pos);
      if (v == "\\N") {
        batch.AppendNull();
      } else {
        batch.AppendValue(v);
      }
      pos = tab == std::string_view::npos ? l.size() : tab + 1;
    }
    batch.EndRow();
    batch.AddEvent({core::Op::kRead, core::kNoRow, row, txn, schema});
    PQfreemem(line);
    if (++rows % 10000 == 0) {
      if (auto s = sink.Write(batch); !s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        return 1;
      }
      batch.Clear();
      txn = batch.AddTxn({0, true, false, 0, 0, "", 0, ""});
    }
  }
  PQclear(PQgetResult(conn));
  if (!batch.empty()) {
    if (auto s = sink.Write(batch); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
  }
  auto flushed = sink.Flush();
  if (!flushed.ok()) {
    std::fprintf(stderr, "%s\n", flushed.status().ToString().c_str());
    return 1;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %.3f %.0f\n", static_cast<unsigned long long>(rows), secs, rows / secs);
  sink.Close();
  PQfinish(conn);
  return 0;
}
