// The chaos suite's data and write load, in the SQL of either source dialect, and the SELECTs
// that print each table the same way on both sides of a path.
#ifndef SLUICE_INTEGRATION_CHAOS_CHAOS_WORKLOAD_H_
#define SLUICE_INTEGRATION_CHAOS_CHAOS_WORKLOAD_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "integration/common/sql_client.h"

namespace sluice::itest::chaos {

enum class Dialect { kPostgres, kMariadb };

// The tables, in either dialect:
//   items (id bigint PRIMARY KEY, grp, qty, note, big)  keyed; `big` holds > 8 kB values on some
//          rows (TOAST, stored out of line uncompressed at a PostgreSQL source, so that updates
//          of other columns send it as unchanged); ADD COLUMN extra mid-stream.
//   nokey  (k, payload, n)                                no key (REPLICA IDENTITY FULL on
//          PostgreSQL); written only while streaming, where the sinks promise exactly-once.
//   tick   (id PRIMARY KEY, n)                           the writer's round number: how far the
//          target has caught up.
std::string SchemaSql(Dialect d);
// `rows` seed rows in items (ids 1..rows), one in `big_every` with a big value.
std::string SeedSql(Dialect d, int rows, int big_every);
// ALTER TABLE items ADD COLUMN extra.
std::string AddColumnSql(Dialect d);

// One side's SELECT of a table, normalised so that equal data prints equal text. `schema`
// qualifies the table ("" = the connection's default).
std::string SelectItems(Dialect d, const std::string& schema, bool with_extra);
std::string SelectNokey(Dialect d, const std::string& schema);
std::string SelectTick(Dialect d, const std::string& schema);
// Rows of nokey that occur more than once (must be none).
std::string SelectNokeyDuplicates(Dialect d, const std::string& schema);

// What one writer round does, in one source transaction: inserts (some with big values),
// updates that leave `big` alone, an update of `big`, deletes, a primary-key change (id -> -id)
// and its reversal on an earlier row, and, once enabled, inserts/updates/deletes of nokey.
struct Round {
  int64_t number = 0;
  bool keyless = false;
  bool extra = false;  // the extra column exists: updates set it
  std::vector<int64_t> updates, deletes;
  int64_t big_update = 0, key_change = 0, key_back = 0;
  int64_t nokey_update = -1, nokey_delete = -1;
};
std::string RoundSql(Dialect d, const Round& round);

// A thread writing rounds back to back (one client process each, a short pause between) until
// stopped. A round that fails (the source restarting) is counted and the next one follows: the
// comparison at the end reads the source's actual state, not what the writer meant to do.
// Thread-safe: the control methods may be called from any thread.
class Writer {
 public:
  using Exec = std::function<SqlResult(const std::string&)>;
  Writer(Dialect d, Exec exec, int seed_rows, uint64_t seed);
  ~Writer();
  void Start();
  void Stop();
  // nokey gets writes from the next round on.
  void EnableKeyless() { keyless_ = true; }
  // Runs ADD COLUMN between two rounds; returns once it has committed (retried until it does;
  // HarnessError after 120 s).
  void AddColumnAndWait();
  int64_t rounds_ok() const { return ok_.load(); }
  int64_t rounds_failed() const { return failed_.load(); }
  std::string last_error() const;

 private:
  void Loop();
  Round Plan();

  Dialect dialect_;
  Exec exec_;
  int seed_rows_;
  std::mt19937_64 rng_;
  std::atomic<bool> stop_{false}, keyless_{false}, ddl_requested_{false}, ddl_done_{false};
  std::atomic<int64_t> ok_{0}, failed_{0};
  int64_t next_round_ = 1;
  int64_t nokey_rows_ = 0;
  std::vector<int64_t> moved_;  // ids whose key was changed to -id
  mutable std::mutex mu_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace sluice::itest::chaos

#endif  // SLUICE_INTEGRATION_CHAOS_CHAOS_WORKLOAD_H_
