// Drives the PostgreSQL source alone (no sink): the events it produces are counted and dropped,
// so the figure is the connector's own rate (COPY text decoding, pgoutput decoding, batching).
//
//   pg_source_bench snapshot DB                 snapshot.mode=initial_only, until kFinished
//   pg_source_bench stream DB SLOT PUB END_LSN  streams an existing slot from its start until a
//                                               checkpoint reaches END_LSN
//
// Connection from SLUICE_TEST_PG_HOST/PORT/USER. Prints "seconds=… events=… bytes=…".
// run.sh compares these with COPY … TO STDOUT and pg_recvlogical on the same data.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "connectors/postgres/pg_position.h"
#include "connectors/postgres/pgoutput_decoder.h"
#include "connectors/postgres/postgres_source.h"
#include "core/logging.h"

namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

int Fail(const std::string& what) {
  std::fprintf(stderr, "pg_source_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  if (argc < 3 || (std::string(argv[1]) == "stream" && argc < 6)) {
    return Fail("usage: pg_source_bench snapshot DB | stream DB SLOT PUBLICATION END_LSN");
  }
  const std::string mode = argv[1];
  core::InitLogging(Env("SLUICE_BENCH_LOG", "warn"));
  core::ConnectorContext ctx;
  ctx.logger = core::ConnectorLogger("bench");
  auto& v = ctx.config.mutable_values();
  ctx.config.set_name("pgbench_src");
  v["connector.class"] = "postgres";
  v["database.hostname"] = Env("SLUICE_TEST_PG_HOST", "127.0.0.1");
  v["database.port"] = Env("SLUICE_TEST_PG_PORT", "5432");
  v["database.user"] = Env("SLUICE_TEST_PG_USER", "postgres");
  v["database.dbname"] = argv[2];
  v["snapshot.max.threads"] = Env("SNAPSHOT_THREADS", "2");
  std::optional<core::SourcePosition> resume;
  uint64_t end_lsn = 0;
  if (mode == "snapshot") {
    v["snapshot.mode"] = "initial_only";
    v["slot.name"] = "bench_snapshot_slot";
    v["publication.name"] = "bench_snapshot_pub";
  } else {
    v["slot.name"] = argv[3];
    v["publication.name"] = argv[4];
    v["publication.autocreate.mode"] = "disabled";
    if (!pg::ParseLsn(argv[5], end_lsn)) return Fail("bad END_LSN");
    pg::PgPosition start;
    start.slot = argv[3];
    resume = start.ToSource();
  }
  auto made = pg::MakePostgresSource(ctx);
  if (!made.ok()) return Fail(made.status().ToString());
  std::unique_ptr<core::Source> source = std::move(*made);

  auto t0 = std::chrono::steady_clock::now();
  core::Status started = source->Start(resume);
  if (!started.ok()) return Fail(started.ToString());
  core::EventBatch batch;
  core::PollLimits limits;
  uint64_t events = 0, bytes = 0;
  while (true) {
    batch.Clear();
    auto polled = source->Poll(batch, limits);
    if (!polled.ok()) return Fail(polled.status().ToString());
    events += batch.size();
    bytes += batch.ByteSize();
    if (*polled == core::PollStatus::kFinished) break;
    if (!batch.checkpoint().empty()) {
      source->Acknowledge(batch.checkpoint());  // as if the sink made it durable at once
      auto pos = pg::PgPosition::Parse(batch.checkpoint().value);
      if (mode == "stream" && pos.ok() && !pos->snapshot_running && pos->lsn >= end_lsn) break;
    }
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  source->Close();
  std::printf("seconds=%.3f events=%llu bytes=%llu\n", seconds,
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes));
  return 0;
}
