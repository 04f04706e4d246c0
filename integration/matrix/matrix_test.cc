// The type matrix (issue #22): every type of the catalogue (matrix_catalogue.cc) through each
// source -> database sink pair as a one-shot `sluice sync`, compared value by value with the
// servers' own clients. Every cell is `exact` (the target prints the source's text), `mapped`
// (equal after one of the documented lossless mappings below) or `refused` (the sync stopped
// with a message naming the table and the column; the column is then excluded and the sync
// repeated). Anything else fails the suite naming pair, type, value, expected and got.
//
// The README's mapping tables are generated from the outcomes: the suite writes them to
// type_matrix.md in its working directory, and fails when README.md's block between the
// type-matrix markers differs (SLUICE_MATRIX_WRITE_README=1 rewrites the block instead).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/common/itest.h"
#include "integration/matrix/matrix_catalogue.h"
#include "integration/matrix/matrix_support.h"

namespace sluice::itest::matrix {
namespace {

using namespace std::chrono_literals;

struct Cell {
  std::string pair, phase, source_type, sample, target_type, outcome;  // outcome: exact|mapped: ..|refused: ..
};


class TypeMatrixTest : public ::testing::Test {
 public:
  // One pair: the sync (refusals excluded one by one), its comparison, then the stream phase
  // on a fresh target. `reset` re-creates the target and returns its sink.url ("" to keep the
  // config's); `target` is the database target as it is now (unused for envelope targets).
  static void RunPair(const std::string& pair, const std::vector<Family>& families,
                      const Side& src, const nlohmann::json& config,
                      const std::string& source_schema, const std::function<std::string()>& reset,
                      const std::function<Side()>& target, const EnvelopeSource& envelopes = nullptr,
                      bool key_change = true) {
    std::string excluded;
    auto refused = SyncWithRefusals(families, config, source_schema, reset, &excluded);
    Compare(pair, "sync", families, src, target(), refused, envelopes);
    std::string url = reset();
    StreamPhase(pair, families, src, config, excluded, url, target(), refused, envelopes,
                key_change);
  }

 protected:
  static std::vector<Cell>& Cells() {
    static std::vector<Cell> cells;
    return cells;
  }
  static std::set<std::string>& StreamPairs() {
    static std::set<std::string> pairs;
    return pairs;
  }
  static int& StreamCells() {
    static int n = 0;
    return n;
  }

  // Snapshot + stream: `sluice run` copies the family tables, then the source changes them:
  // every row inserted again (id + 1000), a whole-row update, single-column updates of rows
  // holding large (TOASTed) values, a key change and a delete. The target is compared with the
  // source once a marker row arrived; every value must get the outcome the sync gave it.
  static void StreamPhase(const std::string& pair, const std::vector<Family>& families,
                          const Side& src, nlohmann::json config, const std::string& excluded,
                          const std::string& url, const Side& tgt,
                          const std::map<std::pair<std::string, std::string>, std::string>& refused,
                          const EnvelopeSource& envelopes = nullptr, bool key_change = true) {
    if (!url.empty()) config["sink.url"] = url;
    if (!excluded.empty()) config["column.exclude.list"] = excluded;
    SluiceProcess sluice = SluiceProcess::Run(config);
    auto count = [](const Side& side, const std::string& table) {
      return side.Query("SELECT count(*) FROM " + side.Table(table))[0][0].value_or("");
    };
    std::string schema = src.dialect == Dialect::kPg ? "public" : src.db;
    auto target_rows = [&](const std::string& table) {
      if (envelopes) return EnvelopeRows(envelopes(schema, table), {});
      return tgt.Query("SELECT id FROM " + tgt.Table(table) + " ORDER BY id");
    };
    for (const Family& f : families) {
      std::string want = count(src, TableName(f));
      WaitUntil(
          [&] {
            if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
            try {
              return std::to_string(target_rows(TableName(f)).size()) == want;
            } catch (const HarnessError&) {
              return false;  // table not created yet
            }
          },
          90s, pair + ": snapshot of " + TableName(f), 100ms);
    }
    for (const Family& f : families) {
      std::string t = src.Table(TableName(f));
      std::vector<std::string> cols;
      for (const TypeCase& c : f.cases) {
        if (!refused.count({TableName(f), ColumnName(f, c)}))
          cols.push_back(Quote(src.dialect, ColumnName(f, c)));
      }
      std::string list, from_b;
      for (const std::string& c : cols) {
        list += ", " + c;
        from_b += std::string(from_b.empty() ? "" : ", ") + "a." + c + " = b." + c;
      }
      std::string sql = "INSERT INTO " + t + " (id" + list + ") SELECT id + 1000" + list +
                        " FROM " + t + " WHERE id < 1000;";
      // Whole row: 1001 takes row 2's values (and 1002 row 1's).
      for (auto [to, from] : {std::pair{1001, 2}, std::pair{1002, 1}}) {
        if (src.dialect == Dialect::kPg) {
          std::string set, sel;
          for (const std::string& c : cols) {
            set += std::string(set.empty() ? "" : ", ") + c;
            sel += std::string(sel.empty() ? "" : ", ") + "b." + c;
          }
          sql += "UPDATE " + t + " a SET (" + set + ") = (SELECT " + sel + " FROM " + t +
                 " b WHERE b.id = " + std::to_string(from) + ") WHERE a.id = " +
                 std::to_string(to) + ";";
        } else {
          sql += "UPDATE " + t + " a JOIN " + t + " b ON b.id = " + std::to_string(from) +
                 " SET " + from_b + " WHERE a.id = " + std::to_string(to) + ";";
        }
      }
      if (key_change) sql += "UPDATE " + t + " SET id = id + 5000 WHERE id = 1001;";
      sql += "UPDATE " + t + " SET " + cols[0] + " = " + cols[0] + " WHERE id >= 1003;";  // one column
      sql += "DELETE FROM " + t + " WHERE id = 1000;";
      src.Query(sql);
    }
    std::string last = src.Table(TableName(families.back()));
    src.Query("INSERT INTO " + last + " (id) VALUES (9999)");
    WaitUntil(
        [&] {
          if (!sluice.IsRunning()) throw HarnessError("sluice exited:\n" + sluice.LogTail());
          try {
            SqlRows rows = target_rows(TableName(families.back()));
            return !rows.empty() && rows.back()[0] == "9999";
          } catch (const HarnessError&) {
            return false;
          }
        },
        90s, pair + ": the stream's marker row", 100ms);
    sluice.Stop();
    Compare(pair, "stream", families, src, tgt, refused, envelopes);
  }

  // Creates the family tables of `families` in the source, one row per sample (and a row of
  // NULLs, id 0).
  static void CreateSource(const Side& src, const std::vector<Family>& families) {
    for (const Family& f : families) {
      std::string sql = f.setup;
      std::string cols = "id integer PRIMARY KEY";
      size_t rows = 0;
      for (const TypeCase& c : f.cases) {
        cols += ", " + Quote(src.dialect, ColumnName(f, c)) + " " + c.type;
        rows = std::max(rows, c.values.size());
      }
      sql += "CREATE TABLE " + Quote(src.dialect, TableName(f)) + " (" + cols + ");";
      sql += "INSERT INTO " + Quote(src.dialect, TableName(f)) + " (id) VALUES (0);";
      for (size_t r = 0; r < rows; ++r) {
        std::string names = "id", values = std::to_string(r + 1);
        for (const TypeCase& c : f.cases) {
          if (r >= c.values.size()) continue;
          names += ", " + Quote(src.dialect, ColumnName(f, c));
          values += ", " + c.values[r];
        }
        sql += "INSERT INTO " + Quote(src.dialect, TableName(f)) + " (" + names + ") VALUES (" +
               values + ");";
      }
      src.Query(sql);
    }
  }

  // Runs `sluice sync` until it succeeds, each refusal recorded and its column excluded.
  // `reset_target` re-creates the target for each attempt and returns its sink.url. Returns the refused (table, column) -> message.
  static std::map<std::pair<std::string, std::string>, std::string> SyncWithRefusals(
      const std::vector<Family>& families, const nlohmann::json& base,
      const std::string& source_schema, const std::function<std::string()>& reset_target,
      std::string* excluded_out) {
    std::map<std::pair<std::string, std::string>, std::string> refused;
    std::string& excluded = *excluded_out;
    for (int attempt = 0; attempt < 40; ++attempt) {
      std::string url = reset_target();  // may change `base` too (a Kafka pair's topic prefix)
      nlohmann::json config = base;
      if (!url.empty()) config["sink.url"] = url;
      if (!excluded.empty()) config["column.exclude.list"] = excluded;
      CommandResult r = SluiceProcess::RunToCompletion("sync", config, 120s);
      if (r.Success()) return refused;
      std::string text = r.out + "\n" + r.err;
      // The refusal must name the table and the column.
      const Family* family = nullptr;
      const TypeCase* which = nullptr;
      size_t best = 0;
      for (const Family& f : families) {
        if (text.find(TableName(f)) == std::string::npos) continue;
        for (const TypeCase& c : f.cases) {
          std::string col = ColumnName(f, c);
          if (refused.count({TableName(f), col})) continue;
          size_t at = text.find(col);
          // The longest name found, and not as a prefix of a longer name.
          while (at != std::string::npos && at + col.size() < text.size() &&
                 (isalnum(static_cast<unsigned char>(text[at + col.size()])) || text[at + col.size()] == '_'))
            at = text.find(col, at + 1);
          if (at != std::string::npos && col.size() > best) {
            best = col.size();
            family = &f;
            which = &c;
          }
        }
      }
      if (family == nullptr) {
        ADD_FAILURE() << "sync failed without naming a table and column of the matrix:\n" << text;
        return refused;
      }
      std::string col = ColumnName(*family, *which);
      std::istringstream lines(text);
      std::string line, message;
      while (std::getline(lines, line)) {
        if (line.find(col) != std::string::npos) message = line;
      }
      // The scratch databases' names vary from run to run.
      message = std::regex_replace(message, std::regex("mx_[a-z_]+_[0-9]+_[0-9]+_[0-9]+"), "DB");
      size_t from = message.find("sink: ");
      if (from != std::string::npos) message = message.substr(from);
      refused[{TableName(*family), col}] = message;
      if (!excluded.empty()) excluded += ",";
      excluded += RegexEscape(source_schema) + "\\." + RegexEscape(TableName(*family)) + "\\." +
                  RegexEscape(col);
    }
    ADD_FAILURE() << "too many refusals";
    return refused;
  }

  // Compares every cell of every family table, source against target.
  static void Compare(const std::string& pair, const std::string& phase,
                      const std::vector<Family>& families, const Side& src, const Side& tgt,
                      const std::map<std::pair<std::string, std::string>, std::string>& refused,
                      const EnvelopeSource& envelopes = nullptr) {
    for (const Family& f : families) {
      std::string table = TableName(f);
      auto src_types = src.Types(table, false), src_full = src.Types(table, true);
      std::map<std::string, std::string> tgt_types, tgt_full;
      if (!envelopes) {
        tgt_types = tgt.Types(table, false);
        tgt_full = tgt.Types(table, true);
      } else {
        for (const TypeCase& c : f.cases) tgt_types[ColumnName(f, c)] = tgt_full[ColumnName(f, c)] = "JSON";
      }
      std::string src_sql = "SELECT id", tgt_sql = "SELECT id", alt_sql = "SELECT id";
      std::vector<const TypeCase*> compared;
      for (const TypeCase& c : f.cases) {
        std::string col = ColumnName(f, c);
        auto ref = refused.find({table, col});
        if (ref != refused.end()) {
          if (phase == "sync") {
            for (const std::string& v : c.values)
              Cells().push_back({pair, phase, c.type, v, "-", "refused: " + ref->second});
          }
          continue;
        }
        if (!tgt_types.count(col)) {
          ADD_FAILURE() << pair << ": column " << table << "." << col << " missing in the target";
          continue;
        }
        compared.push_back(&c);
        src_sql += ", " + ReadExpr(src.dialect, Quote(src.dialect, col), src_types[col]);
        // The source value as JSON (PostgreSQL; arrays also as the JSON of their elements' text)
        // or as hex bytes (MariaDB), for the mappings.
        std::string q = Quote(src.dialect, col);
        if (src.dialect == Dialect::kMariadb) {
          alt_sql += ", HEX(" + q + ")";
        } else if (src_types[col].find("[]") != std::string::npos) {
          alt_sql += ", jsonb_build_array(to_jsonb(" + q + "), to_jsonb(" + q + "::text[]))::text";
        } else {
          alt_sql += ", to_jsonb(" + q + ")::text";
        }
        tgt_sql += ", " + ReadExpr(tgt.dialect, Quote(tgt.dialect, col), tgt_types[col]);
      }
      SqlRows s = src.Query(src_sql + " FROM " + src.Table(table) + " ORDER BY id");
      SqlRows a = src.Query(alt_sql + " FROM " + src.Table(table) + " ORDER BY id");
      SqlRows t;
      if (!envelopes) {
        t = tgt.Query(tgt_sql + " FROM " + tgt.Table(table) + " ORDER BY id");
      } else {
        std::vector<std::string> names;
        for (const TypeCase* c : compared) names.push_back(ColumnName(f, *c));
        t = EnvelopeRows(envelopes(src.dialect == Dialect::kPg ? "public" : src.db, table), names);
      }
      ASSERT_EQ(s.size(), t.size()) << pair << ": rows of " << table;
      for (size_t r = 0; r < s.size(); ++r) {
        ASSERT_EQ(s[r][0], t[r][0]) << pair << ": ids of " << table;
        for (size_t i = 0; i < compared.size(); ++i) {
          const TypeCase& c = *compared[i];
          std::string col = ColumnName(f, c);
          const SqlValue& sv = s[r][i + 1];
          const SqlValue& tv = t[r][i + 1];
          size_t row = SampleRow(std::stoul(*s[r][0]));
          bool listed = row >= 1 && row <= c.values.size();
          std::string sample = listed ? c.values[row - 1] : "NULL";
          std::string outcome;
          if (sv == tv) {
            outcome = "exact";
          } else if (sv) {
            std::string got = tv.value_or("");
            for (const Mapping& m : Mappings()) {
              if (tv && m.same(Texts{*sv, got, a[r][i + 1], src_types[col], tgt_types[col],
                                     src_full[col]})) {
                outcome = "mapped: " + m.how;
                break;
              }
            }
          }
          if (outcome.empty()) {
            ADD_FAILURE() << "silent difference: " << pair << " (" << phase << ") " << table << "."
                          << col << " type " << src_full[col] << " value " << sample
                          << ": expected " << sv.value_or("NULL") << ", got "
                          << tv.value_or("NULL") << " (target type " << tgt_full[col] << ")";
            outcome = "DIFFERENT";
          }
          if (!listed) continue;  // NULLs are checked, not listed
          Cell cell{pair, phase, src_full[col], sample, tgt_full[col], outcome};
          if (phase == "sync") {
            Cells().push_back(cell);
            continue;
          }
          // The stream phase must give each value the outcome the sync gave it.
          ++StreamCells();
          StreamPairs().insert(pair);
          auto same = std::find_if(Cells().begin(), Cells().end(), [&](const Cell& c) {
            return c.pair == pair && c.source_type == cell.source_type && c.sample == sample &&
                   c.outcome == outcome && c.target_type == cell.target_type;
          });
          EXPECT_NE(same, Cells().end()) << pair << " (" << phase << ") " << table << "." << col
                                         << " value " << sample << ": " << outcome
                                         << ", not the sync's outcome";
        }
      }
    }
  }
};

std::string AllSetup(const std::vector<Family>& families) {
  std::string sql;
  for (const Family& f : families) sql += f.setup;
  return sql;
}

TEST_F(TypeMatrixTest, PostgresToPostgres) {
  std::string src_db = CreateScratchPgDatabase("mx_pp");
  std::string slot = UniqueName("slot_mx_pp");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::string tgt_db;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "postgres";
  auto reset = [&] {
    DropSlot(slot);
    if (!tgt_db.empty()) PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
    tgt_db = CreateScratchPgDatabase("mx_pp_t");
    // A PostgreSQL target needs the source's user-defined types (else it refuses the column).
    PgClient(tgt_db).Exec(AllSetup(PgFamilies()));
    return PgClient(tgt_db).Url();
  };
  RunPair("PostgreSQL → PostgreSQL", PgFamilies(), src, config, "public", reset,
          [&] { return Side{Dialect::kPg, tgt_db, "public"}; });
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, PostgresToMariadb) {
  std::string src_db = CreateScratchPgDatabase("mx_pm");
  std::string slot = UniqueName("slot_mx_pm");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::string tgt_db;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "mysql";
  auto reset = [&] {
    DropSlot(slot);
    if (!tgt_db.empty()) MysqlClient().TryQuery("DROP DATABASE `" + tgt_db + "`");
    tgt_db = CreateScratchMysqlDatabase("mx_pm_t");
    return MysqlClient(tgt_db).Url();
  };
  RunPair("PostgreSQL → MariaDB", PgFamilies(), src, config, "public", reset,
          [&] { return Side{Dialect::kMariadb, tgt_db, ""}; });
  DropSlot(slot);
  MysqlClient().TryQuery("DROP DATABASE `" + tgt_db + "`");
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToPostgres) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mp");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  std::string tgt_db;
  nlohmann::json config = MariadbSourceConfig(src_db);
  config["sink.type"] = "postgres";
  auto reset = [&] {
    if (!tgt_db.empty()) PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
    tgt_db = CreateScratchPgDatabase("mx_mp_t");
    return PgClient(tgt_db).Url();
  };
  RunPair("MariaDB → PostgreSQL", MariadbFamilies(), src, config, src_db, reset,
          [&] { return Side{Dialect::kPg, tgt_db, src_db}; });
  PgClient("postgres").TryQuery("DROP DATABASE " + tgt_db + " WITH (FORCE)");
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

TEST_F(TypeMatrixTest, PostgresToFile) {
  std::string src_db = CreateScratchPgDatabase("mx_pf");
  std::string slot = UniqueName("slot_mx_pf");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  std::optional<TempDir> dir;
  nlohmann::json config = PgSourceConfig(src_db, slot);
  config["sink.type"] = "file";
  config["sink.file.fsync"] = "false";
  auto reset = [&] {
    DropSlot(slot);
    dir.emplace("mx_pf");
    return dir->path().string();
  };
  RunPair("PostgreSQL → file", PgFamilies(), src, config, "public", reset, [&] { return src; },
          [&](const std::string& schema, const std::string& table) {
            return FileLines(dir->path().string(), schema, table);
          });
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToFile) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mf");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  std::optional<TempDir> dir;
  nlohmann::json config = MariadbSourceConfig(src_db);
  config["sink.type"] = "file";
  config["sink.file.fsync"] = "false";
  auto reset = [&] {
    dir.emplace("mx_mf");
    return dir->path().string();
  };
  RunPair("MariaDB → file", MariadbFamilies(), src, config, src_db, reset, [&] { return src; },
          [&](const std::string& schema, const std::string& table) {
            return FileLines(dir->path().string(), schema, table);
          });
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

// Kafka: the topics of a fresh topic.prefix, read with kcat.
void KafkaPair(const std::string& pair, const std::vector<Family>& families, const Side& src,
               nlohmann::json config, const std::string& source_schema) {
  std::string prefix;
  config["sink.type"] = "kafka";
  config["sink.kafka.bootstrap.servers"] = TestEnv::KafkaBootstrap();
  auto topics = [&](const std::string& schema, const std::string& table) {
    return TopicLines(prefix, schema, table);
  };
  // Each attempt and phase under its own prefix: its topics start empty.
  auto fresh = [&] {
    if (config["connector.class"] == "postgres") DropSlot(config["slot.name"]);
    config["topic.prefix"] = prefix = UniqueName("mx");
    return std::string();
  };
  TypeMatrixTest::RunPair(pair, families, src, config, source_schema, fresh, [&] { return src; },
                          topics);
}

TEST_F(TypeMatrixTest, PostgresToKafka) {
  std::string src_db = CreateScratchPgDatabase("mx_pk");
  std::string slot = UniqueName("slot_mx_pk");
  Side src{Dialect::kPg, src_db, "public"};
  CreateSource(src, PgFamilies());
  KafkaPair("PostgreSQL → Kafka", PgFamilies(), src, PgSourceConfig(src_db, slot), "public");
  DropSlot(slot);
  PgClient("postgres").TryQuery("DROP DATABASE " + src_db + " WITH (FORCE)");
}

TEST_F(TypeMatrixTest, MariadbToKafka) {
  std::string src_db = CreateScratchMysqlDatabase("mx_mk");
  Side src{Dialect::kMariadb, src_db, ""};
  CreateSource(src, MariadbFamilies());
  KafkaPair("MariaDB → Kafka", MariadbFamilies(), src, MariadbSourceConfig(src_db), src_db);
  MysqlClient().TryQuery("DROP DATABASE `" + src_db + "`");
}

// Runs last: the README block from the outcomes above.
TEST_F(TypeMatrixTest, ReadmeTablesMatchTheRun) {
  ASSERT_FALSE(Cells().empty());
  // Collapse: one row per (pair, source type, target type, outcome), samples joined.
  std::map<std::string, std::vector<std::string>> order;  // pair -> row keys in first-seen order
  std::map<std::string, std::vector<std::string>> samples;
  std::map<std::string, std::string> row_text;
  std::map<std::string, std::map<std::string, int>> counts;
  for (const Cell& c : Cells()) {
    std::string outcome_kind = c.outcome.substr(0, c.outcome.find(':'));
    counts[c.pair][outcome_kind]++;
    std::string key = c.pair + "\x1f" + c.source_type + "\x1f" + c.target_type + "\x1f" + c.outcome;
    if (!samples.count(key)) {
      order[c.pair].push_back(key);
      row_text[key] = c.source_type + "\x1f" + c.target_type + "\x1f" + c.outcome;
    }
    auto& list = samples[key];
    if (std::find(list.begin(), list.end(), c.sample) == list.end()) list.push_back(c.sample);
  }
  auto cell = [](std::string s) {
    std::string out;
    for (char ch : s) {
      if (ch == '|') out += "\\|";
      else if (ch == '\n' || ch == '\t') out += ' ';
      else out += ch;
    }
    if (out.size() > 300) out = out.substr(0, 297) + "...";
    return out;
  };
  std::string md;
  for (const auto& [pair, keys] : order) {
    md += "\n**" + pair + "** (`sluice sync`" +
          (StreamPairs().count(pair) ? ", and the same in `sluice run`'s snapshot + stream" : "") +
          "): ";
    bool first = true;
    for (const auto& [kind, n] : counts[pair]) {
      md += (first ? "" : ", ") + std::to_string(n) + " " + kind;
      first = false;
    }
    md += "\n\n| source type | samples | target type | outcome |\n| --- | --- | --- | --- |\n";
    for (const std::string& key : keys) {
      std::vector<std::string> parts;
      std::string rest = row_text[key];
      for (size_t at; (at = rest.find('\x1f')) != std::string::npos; rest = rest.substr(at + 1))
        parts.push_back(rest.substr(0, at));
      parts.push_back(rest);
      std::string joined;
      for (const std::string& s : samples[key]) joined += (joined.empty() ? "" : ", ") + s;
      md += "| " + cell(parts[0]) + " | `" + cell(joined) + "` | " + cell(parts[1]) + " | " +
            cell(parts[2]) + " |\n";
    }
  }
  std::ofstream("type_matrix.md") << md;
  std::printf("type matrix: %zu sync cells, %d stream cells (each with the sync's outcome)\n",
              Cells().size(), StreamCells());
  const char* src_dir = std::getenv("SLUICE_SOURCE_DIR");
  ASSERT_NE(src_dir, nullptr);
  std::string readme_path = std::string(src_dir) + "/README.md";
  std::ifstream in(readme_path);
  std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string begin = "<!-- type-matrix:begin -->", end = "<!-- type-matrix:end -->";
  size_t b = readme.find(begin), e = readme.find(end);
  ASSERT_TRUE(b != std::string::npos && e != std::string::npos && b < e)
      << "README.md has no " << begin << " ... " << end << " block";
  std::string current = readme.substr(b + begin.size(), e - b - begin.size());
  std::string wanted = md + "\n";
  if (const char* w = std::getenv("SLUICE_MATRIX_WRITE_README"); w && std::string(w) == "1") {
    readme.replace(b + begin.size(), e - b - begin.size(), wanted);
    std::ofstream(readme_path) << readme;
    return;
  }
  EXPECT_EQ(current, wanted) << "README.md's type-matrix block differs from this run's outcomes "
                                "(rerun with SLUICE_MATRIX_WRITE_README=1 and review the diff)";
}

}  // namespace
}  // namespace sluice::itest::matrix
