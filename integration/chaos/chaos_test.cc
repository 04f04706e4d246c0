// The chaos suite: PostgreSQL -> PostgreSQL, PostgreSQL -> MariaDB and MariaDB -> PostgreSQL
// through the real sluice binary, under a steady write load (inserts, updates, deletes, key
// changes, > 8 kB TOAST values, a keyless table, ADD COLUMN mid-stream), with faults injected at
// random points from a fixed seed: kill -9 of sluice in the snapshot and while streaming, source
// server restarts (clean and crash), the target server down for 30-60 s, and connections cut or
// stalled mid-COPY and mid-stream by a TCP proxy. After the load stops the target must equal the
// source in every table (row count + checksum over all columns) with no duplicate in the keyless
// table. Knobs: chaos_run.h (SLUICE_CHAOS_SEED, SLUICE_CHAOS_FAULTS, ...); `make chaos` runs it
// longer.
#include <gtest/gtest.h>

#include "integration/chaos/chaos_run.h"

namespace sluice::itest::chaos {
namespace {

// Each path gets its own seed derived from the run's, so that the three differ but repeat.
Settings ForPath(uint64_t offset) {
  Settings s = Settings::FromEnv();
  s.seed += offset;
  return s;
}

TEST(ChaosTest, PostgresToPostgresSurvivesFaultsWithoutLosingARow) {
  ChaosRun({"pg_to_pg", Dialect::kPostgres, Dialect::kPostgres, 150000}, ForPath(0)).Run();
}

TEST(ChaosTest, PostgresToMariadbSurvivesFaultsWithoutLosingARow) {
  ChaosRun({"pg_to_mariadb", Dialect::kPostgres, Dialect::kMariadb, 60000}, ForPath(1)).Run();
}

TEST(ChaosTest, MariadbToPostgresSurvivesFaultsWithoutLosingARow) {
  ChaosRun({"mariadb_to_pg", Dialect::kMariadb, Dialect::kPostgres, 100000}, ForPath(2)).Run();
}

}  // namespace
}  // namespace sluice::itest::chaos
