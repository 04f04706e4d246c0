#include "integration/chaos/chaos_workload.h"

#include <chrono>

#include "integration/common/test_env.h"

namespace sluice::itest::chaos {
namespace {

using namespace std::chrono_literals;

// Ids of rows the writer inserts: round r inserts kInsertBase + r * kInsertsPerRound + 0..7.
constexpr int64_t kInsertBase = 10'000'000;
constexpr int64_t kInsertsPerRound = 8;

std::string Qualify(Dialect d, const std::string& schema, const std::string& table) {
  if (schema.empty()) return table;
  return d == Dialect::kPostgres ? "\"" + schema + "\"." + table : "`" + schema + "`." + table;
}

std::string IdList(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out.empty() ? "0" : out;
}

}  // namespace

std::string SchemaSql(Dialect d) {
  if (d == Dialect::kPostgres) {
    return "CREATE TABLE items (id bigint PRIMARY KEY, grp int NOT NULL, qty int NOT NULL, "
           "note text, big text);"
           // Out of line and uncompressed: an UPDATE that leaves big alone sends it as unchanged.
           "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;"
           "CREATE TABLE nokey (k bigint NOT NULL, payload text, n int NOT NULL);"
           "ALTER TABLE nokey REPLICA IDENTITY FULL;"
           "CREATE TABLE tick (id int PRIMARY KEY, n bigint NOT NULL);"
           "INSERT INTO tick VALUES (1, 0);";
  }
  return "CREATE TABLE items (id BIGINT PRIMARY KEY, grp INT NOT NULL, qty INT NOT NULL, "
         "note VARCHAR(100), big LONGTEXT) ENGINE=InnoDB;"
         "CREATE TABLE nokey (k BIGINT NOT NULL, payload VARCHAR(100), n INT NOT NULL) ENGINE=InnoDB;"
         "CREATE TABLE tick (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB;"
         "INSERT INTO tick VALUES (1, 0);";
}

std::string SeedSql(Dialect d, int rows, int big_every) {
  const std::string n = std::to_string(rows), every = std::to_string(big_every);
  if (d == Dialect::kPostgres) {
    return "INSERT INTO items SELECT i, i % 17, i % 1000, 'seed ' || i, CASE WHEN i % " + every +
           " = 0 THEN repeat(md5(i::text), 300) END FROM generate_series(1, " + n + ") i";
  }
  return "INSERT INTO items SELECT seq, seq % 17, seq % 1000, CONCAT('seed ', seq), IF(seq % " +
         every + " = 0, REPEAT(MD5(seq), 300), NULL) FROM seq_1_to_" + n;
}

std::string AddColumnSql(Dialect d) {
  return d == Dialect::kPostgres ? "ALTER TABLE items ADD COLUMN extra text"
                                 : "ALTER TABLE items ADD COLUMN extra VARCHAR(64) NULL";
}

std::string SelectItems(Dialect d, const std::string& schema, bool with_extra) {
  const std::string t = Qualify(d, schema, "items");
  if (d == Dialect::kPostgres) {
    return "SELECT id::text, grp::text, qty::text, note, md5(big), length(big)::text" +
           std::string(with_extra ? ", extra" : "") + " FROM " + t;
  }
  return "SELECT id, grp, qty, note, MD5(big), CHAR_LENGTH(big)" +
         std::string(with_extra ? ", extra" : "") + " FROM " + t;
}

std::string SelectNokey(Dialect d, const std::string& schema) {
  const std::string t = Qualify(d, schema, "nokey");
  return d == Dialect::kPostgres ? "SELECT k::text, payload, n::text FROM " + t
                                 : "SELECT k, payload, n FROM " + t;
}

std::string SelectTick(Dialect d, const std::string& schema) {
  const std::string t = Qualify(d, schema, "tick");
  return d == Dialect::kPostgres ? "SELECT n::text FROM " + t + " WHERE id = 1"
                                 : "SELECT n FROM " + t + " WHERE id = 1";
}

std::string SelectNokeyDuplicates(Dialect d, const std::string& schema) {
  const std::string t = Qualify(d, schema, "nokey");
  return d == Dialect::kPostgres
             ? "SELECT k::text, payload, n::text, count(*)::text FROM " + t +
                   " GROUP BY k, payload, n HAVING count(*) > 1"
             : "SELECT k, payload, n, COUNT(*) FROM " + t + " GROUP BY k, payload, n HAVING COUNT(*) > 1";
}

std::string RoundSql(Dialect d, const Round& r) {
  const bool pg = d == Dialect::kPostgres;
  const std::string n = std::to_string(r.number);
  const int64_t first = kInsertBase + r.number * kInsertsPerRound;
  const std::string from = std::to_string(first), to = std::to_string(first + kInsertsPerRound - 1);
  std::string sql = pg ? "BEGIN;" : "START TRANSACTION;";
  if (pg) {
    sql += "INSERT INTO items (id, grp, qty, note, big) SELECT i, i % 17, 0, 'w" + n +
           "', CASE WHEN i % 4 = 0 THEN repeat(md5(i::text || '" + n + "'), 300) END "
           "FROM generate_series(" + from + ", " + to + ") i;";
  } else {
    sql += "INSERT INTO items (id, grp, qty, note, big) SELECT seq, seq % 17, 0, 'w" + n +
           "', IF(seq % 4 = 0, REPEAT(MD5(CONCAT(seq, '" + n + "')), 300), NULL) FROM seq_" +
           from + "_to_" + to + ";";
  }
  sql += "UPDATE items SET qty = qty + 1, note = 'u" + n + "'" +
         (r.extra ? ", extra = 'x" + n + "'" : "") + " WHERE id IN (" + IdList(r.updates) + ");";
  sql += pg ? "UPDATE items SET big = repeat(md5('" + n + "'), 290 + " + n + " % 20) WHERE id = " +
                  std::to_string(r.big_update) + ";"
            : "UPDATE items SET big = REPEAT(MD5('" + n + "'), 290 + " + n + " % 20) WHERE id = " +
                  std::to_string(r.big_update) + ";";
  sql += "DELETE FROM items WHERE id IN (" + IdList(r.deletes) + ");";
  if (r.key_change > 0) {
    sql += "UPDATE items SET id = -id, qty = qty + 1 WHERE id = " + std::to_string(r.key_change) + ";";
  }
  if (r.key_back > 0) {
    sql += "UPDATE items SET id = -id WHERE id = -" + std::to_string(r.key_back) + ";";
  }
  if (r.keyless) {
    const std::string k = std::to_string(r.number * 2);
    sql += "INSERT INTO nokey VALUES (" + k + ", 'p" + n + "', 0), (" + k + " + 1, 'q" + n + "', 0);";
    if (r.nokey_update >= 0) {
      sql += "UPDATE nokey SET n = n + 1 WHERE k = " + std::to_string(r.nokey_update) + ";";
    }
    if (r.nokey_delete >= 0) {
      sql += "DELETE FROM nokey WHERE k = " + std::to_string(r.nokey_delete) + ";";
    }
  }
  sql += "UPDATE tick SET n = " + n + " WHERE id = 1;COMMIT;";
  return sql;
}

Writer::Writer(Dialect d, Exec exec, int seed_rows, uint64_t seed)
    : dialect_(d), exec_(std::move(exec)), seed_rows_(seed_rows), rng_(seed) {}

Writer::~Writer() { Stop(); }

void Writer::Start() { thread_ = std::thread([this] { Loop(); }); }

void Writer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Writer::AddColumnAndWait() {
  ddl_requested_ = true;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!ddl_done_.load()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw HarnessError("ADD COLUMN did not commit at the source within 120 s: " + last_error());
    }
    std::this_thread::sleep_for(50ms);
  }
}

std::string Writer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Round Writer::Plan() {
  Round r;
  r.number = next_round_;
  r.keyless = keyless_.load();
  r.extra = ddl_done_.load();
  // Existing rows: the seed (1..seed_rows) or earlier rounds' inserts.
  const int64_t inserted = (next_round_ - 1) * kInsertsPerRound;
  auto existing = [&]() -> int64_t {
    if (inserted == 0 || rng_() % 2 == 0) return 1 + static_cast<int64_t>(rng_() % seed_rows_);
    return kInsertBase + kInsertsPerRound + static_cast<int64_t>(rng_() % inserted);
  };
  for (int i = 0; i < 3; ++i) r.updates.push_back(existing());
  r.big_update = existing();
  for (int i = 0; i < 2; ++i) r.deletes.push_back(existing());
  r.key_change = existing();
  if (!moved_.empty() && rng_() % 3 == 0) {
    size_t i = rng_() % moved_.size();
    r.key_back = moved_[i];
    moved_.erase(moved_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  if (r.keyless && nokey_rows_ > 0) {
    r.nokey_update = static_cast<int64_t>(rng_() % nokey_rows_);
    if (rng_() % 2 == 0) r.nokey_delete = static_cast<int64_t>(rng_() % nokey_rows_);
  }
  return r;
}

void Writer::Loop() {
  while (!stop_) {
    try {
      if (ddl_requested_ && !ddl_done_) {
        SqlResult ddl = exec_(AddColumnSql(dialect_));
        if (ddl.ok) {
          ddl_done_ = true;
        } else {
          std::lock_guard lock(mu_);
          last_error_ = "ADD COLUMN: " + ddl.error;
          std::this_thread::sleep_for(200ms);
        }
        continue;
      }
      Round round = Plan();
      SqlResult result = exec_(RoundSql(dialect_, round));
      if (result.ok) {
        ++ok_;
        if (round.key_change > 0) moved_.push_back(round.key_change);
        if (round.keyless) nokey_rows_ = round.number * 2 + 2;
      } else {
        // Whether it committed is unknown (the connection may have died at COMMIT): the round
        // number is not reused, so its ids never collide with a later round's.
        ++failed_;
        std::lock_guard lock(mu_);
        last_error_ = result.error;
      }
      ++next_round_;
      std::this_thread::sleep_for(result.ok ? 25ms : 200ms);
    } catch (const std::exception& e) {
      ++failed_;
      std::lock_guard lock(mu_);
      last_error_ = e.what();
      std::this_thread::sleep_for(200ms);
    }
  }
}

}  // namespace sluice::itest::chaos
