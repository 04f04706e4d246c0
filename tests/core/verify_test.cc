// The engine-neutral verification algorithm (core/verify.h) over in-memory sides: range
// planning, digest comparison and bisection down to rows, row matching by key, the report, the
// recheck of ranges in flight, cancellation; and the value rules of core/verify_values.h.
#include "core/verify.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>

#include "core/verify_values.h"
#include "tests/common/schema_builders.h"

namespace sluice::core {
namespace {

using testing::Col;
using testing::MakeSchema;
using Cells = std::vector<std::optional<std::string>>;

// A table in memory: rows by integer key (column 0) or, with text keys, by the key's text.
class FakeSide : public VerifySide {
 public:
  FakeSide(std::string engine, TableSchemaPtr schema) : engine_(std::move(engine)), schema_(std::move(schema)) {}

  void Put(const Cells& row) { rows_[*row[0]] = row; }
  void Erase(const std::string& key) { rows_.erase(key); }
  void set_digests(bool on) { digests_ = on; }
  // Called before each ReadRows (to change the table while it is verified).
  std::function<void(FakeSide&)> before_read;

  int read_calls = 0;
  uint64_t rows_read = 0;
  int digest_calls = 0;

  std::string engine() const override { return engine_; }
  Result<TableSchemaPtr> Describe(const TableId& table) override {
    if (missing_) return NotFoundError("no table " + table.ToString());
    return schema_;
  }
  void set_missing() { missing_ = true; }
  Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(const TableId&, uint32_t) override {
    std::optional<std::pair<int64_t, int64_t>> out;
    for (const auto& [k, row] : rows_) {
      int64_t v = std::stoll(k);
      if (!out) out = std::make_pair(v, v);
      out->first = std::min(out->first, v);
      out->second = std::max(out->second, v);
    }
    return out;
  }
  Result<uint64_t> CountRows(const TableId&, uint32_t, const KeyRange& range) override {
    uint64_t n = 0;
    for (const auto& [k, row] : rows_) n += In(k, range);
    return n;
  }
  Result<std::optional<RangeDigest>> Digest(const TableId&, const std::vector<uint32_t>& columns,
                                            uint32_t, const KeyRange& range) override {
    ++digest_calls;
    if (!digests_) return std::optional<RangeDigest>();
    RangeDigest d;
    uint64_t sum = 0;
    for (const auto& [k, row] : rows_) {
      if (!In(k, range)) continue;
      ++d.rows;
      std::string text;
      for (uint32_t c : columns) text += row[c] ? "v" + *row[c] + "\x1f" : "N\x1f";
      sum += std::hash<std::string>()(text);
    }
    d.hash = std::to_string(sum);
    return std::optional<RangeDigest>(d);
  }
  Status ReadRows(const TableId&, const std::vector<uint32_t>& columns, uint32_t,
                  const KeyRange& range, EventBatch& out) override {
    if (before_read) before_read(*this);
    ++read_calls;
    for (const auto& [k, row] : rows_) {
      if (!In(k, range)) continue;
      ++rows_read;
      out.BeginRow();
      for (uint32_t c : columns) {
        if (row[c]) {
          out.AppendValue(*row[c]);
        } else {
          out.AppendNull();
        }
      }
      out.EndRow();
    }
    return Status::Ok();
  }

 private:
  bool In(const std::string& key, const KeyRange& range) const {
    if (range.whole) return true;
    int64_t v = std::stoll(key);
    return v >= range.lo && v <= range.hi;
  }
  std::string engine_;
  TableSchemaPtr schema_;
  std::map<std::string, Cells> rows_;
  bool digests_ = true;
  bool missing_ = false;
};

TableSchemaPtr Items() {
  return MakeSchema("public", "items",
                    {Col("id", LogicalType::kInt64, "bigint"), Col("name", LogicalType::kString, "text"),
                     Col("price", LogicalType::kDecimal, "numeric(12,3)", 0, 12, 3)});
}

Cells Row(int64_t id) {
  return {std::to_string(id), "name " + std::to_string(id), std::to_string(id) + ".125"};
}

struct Sides {
  FakeSide source;
  FakeSide target;
};

Sides Filled(const std::string& source_engine, const std::string& target_engine, int rows) {
  Sides s{FakeSide(source_engine, Items()), FakeSide(target_engine, Items())};
  for (int i = 1; i <= rows; ++i) {
    s.source.Put(Row(i));
    s.target.Put(Row(i));
  }
  return s;
}

TableReport Verify(Sides& s, VerifyOptions options = {}) {
  auto r = VerifyTable(s.source, s.target, {"public", "items"}, {"public", "items"}, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : TableReport{};
}

TEST(VerifyTest, EqualTablesOfOneEngineAreComparedByDigestsOnly) {
  Sides s = Filled("postgres", "postgres", 10000);
  VerifyOptions o;
  o.chunk_rows = 1000;
  TableReport r = Verify(s, o);
  EXPECT_TRUE(r.equal());
  EXPECT_EQ(r.ranges, 1u) << "one full-table digest per side proves it";
  EXPECT_EQ(s.source.digest_calls, 1);
  EXPECT_EQ(s.target.digest_calls, 1);
  EXPECT_EQ(r.rows_compared, 10000u);
  EXPECT_EQ(s.source.read_calls + s.target.read_calls, 0) << "no row crosses the network";
}

TEST(VerifyTest, ADifferingRangeIsBisectedDownToTheRow) {
  Sides s = Filled("postgres", "postgres", 10000);
  Cells changed = Row(4321);
  changed[1] = "changed";
  s.target.Put(changed);
  VerifyOptions o;
  o.chunk_rows = 1000;
  o.leaf_rows = 100;
  TableReport r = Verify(s, o);
  ASSERT_EQ(r.diffs.size(), 1u);
  EXPECT_EQ(r.diffs[0].kind, DiffKind::kDifferent);
  EXPECT_EQ(r.diffs[0].key, "id=4321");
  EXPECT_EQ(r.diffs[0].columns, std::vector<std::string>{"name"});
  EXPECT_NE(r.diffs[0].detail.find("source \"name 4321\", target \"changed\""), std::string::npos);
  EXPECT_EQ(r.ranges, 10u) << "a differing table is split into its key ranges";
  EXPECT_EQ(r.ranges_differing, 1u);
  EXPECT_LE(s.source.rows_read, 100u) << "only the leaf range is read";
  EXPECT_EQ(r.differences, 1u);
}

TEST(VerifyTest, AcrossEnginesRowsAreComparedValueByValue) {
  Sides s = Filled("postgres", "mysql", 500);
  s.target.Erase("10");
  s.target.Put(Row(9999));
  Cells nulled = Row(30);
  s.source.Put(Cells{"30", std::nullopt, "30.125"});
  nulled[1] = "";
  s.target.Put(nulled);
  Cells digit = Row(50);
  digit[2] = "50.126";
  s.target.Put(digit);
  Cells trailing = Row(60);
  trailing[2] = "60.1250";  // the same number: not a difference
  s.target.Put(trailing);
  TableReport r = Verify(s);
  EXPECT_EQ(s.source.digest_calls + s.target.digest_calls, 0);
  std::map<std::string, std::string> got;
  for (const auto& d : r.diffs) {
    std::string cols;
    for (const auto& c : d.columns) cols += c;
    got[d.key] = std::string(DiffKindName(d.kind)) + ":" + cols;
  }
  std::map<std::string, std::string> want = {{"id=10", "missing:"},
                                             {"id=9999", "extra:"},
                                             {"id=30", "different:name"},
                                             {"id=50", "different:price"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(r.differences, 4u);
  EXPECT_FALSE(r.equal());
}

TEST(VerifyTest, DigestsThatDifferForEqualValuesReportNothing) {
  // The same numbers printed differently: the digests differ, the rows compare equal.
  Sides s = Filled("postgres", "postgres", 300);
  Cells row = Row(7);
  row[2] = "7.12500";
  s.target.Put(row);
  TableReport r = Verify(s);
  EXPECT_TRUE(r.equal());
  EXPECT_GT(s.target.read_calls, 0);
}

TEST(VerifyTest, TablesWithoutAnIntegerKeyAreOneRange) {
  auto schema = MakeSchema("public", "tags", {Col("name", LogicalType::kString, "text"),
                                              Col("weight", LogicalType::kInt32, "integer")});
  Sides s{FakeSide("postgres", schema), FakeSide("mysql", schema)};
  for (int i = 0; i < 50; ++i) {
    s.source.Put({"tag" + std::to_string(i), std::to_string(i)});
    s.target.Put({"tag" + std::to_string(i), std::to_string(i)});
  }
  s.target.Put({"tag7", "0"});
  auto r = VerifyTable(s.source, s.target, {"public", "tags"}, {"public", "tags"}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ranges, 1u);
  ASSERT_EQ(r->diffs.size(), 1u);
  EXPECT_EQ(r->diffs[0].key, "name=tag7");
}

TEST(VerifyTest, ExtremeKeysPlanRangesWithoutOverflow) {
  Sides s{FakeSide("postgres", Items()), FakeSide("postgres", Items())};
  for (int64_t k : {std::numeric_limits<int64_t>::min(), int64_t{0}, std::numeric_limits<int64_t>::max()}) {
    s.source.Put(Cells{std::to_string(k), "x", "1"});
    s.target.Put(Cells{std::to_string(k), "x", "1"});
  }
  s.target.Put(Cells{std::to_string(std::numeric_limits<int64_t>::max()), "y", "1"});
  VerifyOptions o;
  o.chunk_rows = 1;
  o.leaf_rows = 1;
  TableReport r = Verify(s, o);
  ASSERT_EQ(r.diffs.size(), 1u);
  EXPECT_EQ(r.diffs[0].key, "id=" + std::to_string(std::numeric_limits<int64_t>::max()));
}

TEST(VerifyTest, ARowInFlightIsNotReportedWhenRechecked) {
  Sides s = Filled("postgres", "mysql", 100);
  s.target.Erase("42");  // the stream has not applied it yet
  int reads = 0;
  s.target.before_read = [&reads](FakeSide& t) {
    if (++reads == 2) t.Put(Row(42));  // applied before the recheck
  };
  VerifyOptions o;
  o.rechecks = 2;
  o.recheck_delay_ms = 0;
  TableReport r = Verify(s, o);
  EXPECT_TRUE(r.equal());
  EXPECT_EQ(reads, 2);

  Sides still = Filled("postgres", "mysql", 100);
  still.target.Erase("42");
  TableReport r2 = Verify(still, o);
  ASSERT_EQ(r2.diffs.size(), 1u) << "a difference that stays is reported";
  EXPECT_EQ(r2.diffs[0].kind, DiffKind::kMissing);
}

TEST(VerifyTest, ReportKeepsTheFirstDiffsAndCountsAll) {
  Sides s = Filled("postgres", "mysql", 100);
  for (int i = 1; i <= 30; ++i) s.target.Erase(std::to_string(i));
  VerifyOptions o;
  o.max_reported = 5;
  TableReport r = Verify(s, o);
  EXPECT_EQ(r.diffs.size(), 5u);
  EXPECT_EQ(r.differences, 30u);
}

TEST(VerifyTest, MissingTargetTableAndColumnsAreProblems) {
  Sides s = Filled("postgres", "mysql", 10);
  s.target.set_missing();
  TableReport r = Verify(s);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("does not exist"), std::string::npos);

  auto narrow = MakeSchema("public", "items", {Col("id", LogicalType::kInt64, "bigint"),
                                               Col("name", LogicalType::kString, "text")});
  FakeSide source("postgres", Items()), target("mysql", narrow);
  source.Put(Row(1));
  target.Put(Cells{"1", "name 1"});
  auto r2 = VerifyTable(source, target, {"public", "items"}, {"public", "items"}, {});
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->problems.size(), 1u);
  EXPECT_EQ(r2->problems[0], "column price is missing in the target");
  EXPECT_TRUE(r2->diffs.empty()) << "the other columns still compare equal";
}

TEST(VerifyTest, CountModeComparesCountsOnly) {
  Sides s = Filled("postgres", "postgres", 100);
  s.target.Erase("5");
  VerifyOptions o;
  o.mode = VerifyMode::kCount;
  TableReport r = Verify(s, o);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0], "row counts differ: source 100, target 99");
  EXPECT_EQ(s.source.digest_calls + s.source.read_calls, 0);
}

TEST(VerifyTest, CancelStopsWithCancelled) {
  Sides s = Filled("postgres", "postgres", 100);
  std::atomic<bool> cancel{true};
  VerifyOptions o;
  o.cancel = &cancel;
  auto r = VerifyTable(s.source, s.target, {"public", "items"}, {"public", "items"}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
}

// Applies repair events to a FakeSide, as a sink would to the target.
class FakeRepairer : public VerifyRepairer {
 public:
  explicit FakeRepairer(FakeSide& target) : target_(target) {}
  Status Apply(const EventBatch& batch) override {
    ++calls;
    for (const ChangeEvent& e : batch.events()) {
      const bool del = e.op == Op::kDelete;
      RowView row = batch.row(del ? e.before : e.after);
      Cells cells;
      for (uint32_t i = 0; i < row.size(); ++i) {
        cells.push_back(row.is_present(i) ? std::optional<std::string>(std::string(row.text(i)))
                                          : std::nullopt);
      }
      if (del) {
        target_.Erase(*cells[0]);
        ++deletes;
      } else {
        EXPECT_EQ(e.op, Op::kCreate);
        EXPECT_EQ(e.table->id.ToString(), "public.items") << "events carry the source schema";
        target_.Put(cells);
        ++upserts;
      }
    }
    return Status::Ok();
  }
  int calls = 0, upserts = 0, deletes = 0;

 private:
  FakeSide& target_;
};

TEST(VerifyTest, RepairWritesTheDifferingRowsAndVerifiesThemAgain) {
  for (const char* target_engine : {"postgres", "mysql"}) {
    Sides s = Filled("postgres", target_engine, 2000);
    s.target.Erase("10");
    s.target.Put(Row(5000));
    Cells changed = Row(1500);
    changed[2] = "1500.126";
    s.target.Put(changed);
    FakeRepairer repairer(s.target);
    VerifyOptions o;
    o.chunk_rows = 500;
    o.leaf_rows = 50;
    o.repairer = &repairer;
    TableReport r = Verify(s, o);
    EXPECT_TRUE(r.equal()) << target_engine;
    EXPECT_EQ(r.repaired, 3u) << target_engine;
    EXPECT_EQ(repairer.upserts, 2) << target_engine;
    EXPECT_EQ(repairer.deletes, 1) << target_engine;
    TableReport again = Verify(s);
    EXPECT_TRUE(again.equal()) << target_engine;
    EXPECT_TRUE(again.diffs.empty()) << target_engine;
  }
}

TEST(VerifyTest, ParseVerifyModeNamesTheChoices) {
  EXPECT_EQ(*ParseVerifyMode("rows"), VerifyMode::kRows);
  auto bad = ParseVerifyMode("fast");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("count, checksum, rows"), std::string::npos);
}

// Value rules.
CellMatch Cmp(LogicalType s, std::optional<std::string> a, LogicalType t, std::optional<std::string> b,
              int32_t target_precision = 0, int32_t target_scale = 0) {
  Column sc = Col("c", s), tc = Col("c", t, "", 0, target_precision, target_scale);
  return CompareCells(sc, a ? CellState::kPresent : CellState::kNull, a.value_or(""), tc,
                      b ? CellState::kPresent : CellState::kNull, b.value_or(""));
}

TEST(VerifyValuesTest, LosslessMappingsCompareEqual) {
  using L = LogicalType;
  EXPECT_EQ(Cmp(L::kDecimal, "1.50", L::kDecimal, "1.5"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kInt64, "18", L::kDecimal, "18"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kDecimal, "-0.0", L::kDecimal, "0"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kBool, "t", L::kInt16, "1"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kTimestampTz, "2024-01-01 00:00:00+00", L::kTimestamp, "2024-01-01 00:00:00"),
            CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kTimestamp, "2024-01-01 00:00:00.500000", L::kTimestamp, "2024-01-01 00:00:00.5"),
            CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kTime, "838:59:59.000000", L::kInterval, "PT838H59M59S"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kTime, "-00:00:01", L::kInterval, "-PT1S"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kJson, "{\"a\": [1, 2.50]}", L::kJson, "{\"a\":[1,2.5]}"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kUuid, "123E4567-e89b-12d3-a456-426655440000", L::kString,
                "123e4567-e89b-12d3-a456-426655440000"),
            CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kFloat32, "0.1", L::kFloat64, "0.10000000149011612"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kFloat64, "NaN", L::kFloat64, "NaN"), CellMatch::kEqual);
  EXPECT_EQ(Cmp(L::kString, std::nullopt, L::kString, std::nullopt), CellMatch::kEqual);
}

TEST(VerifyValuesTest, RealDifferencesAreDifferent) {
  using L = LogicalType;
  EXPECT_EQ(Cmp(L::kString, std::nullopt, L::kString, ""), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kString, "", L::kString, std::nullopt), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kDecimal, "1.125", L::kDecimal, "1.126"), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kTimestamp, "2024-01-01 00:00:00", L::kTimestamp, "2024-01-01 00:00:00.000001"),
            CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kTime, "00:00:55", L::kInterval, "PT55.000001S"), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kInterval, "P1M", L::kTime, "720:00:00"), CellMatch::kDifferent)
      << "a month has no fixed length";
  EXPECT_EQ(Cmp(L::kFloat64, "-0", L::kFloat64, "0"), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kJson, "{\"a\": 1}", L::kJson, "{\"a\": 2}"), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kString, "abc", L::kString, "ABC"), CellMatch::kDifferent);
  EXPECT_EQ(Cmp(L::kBool, "t", L::kBool, "f"), CellMatch::kDifferent);
}

TEST(VerifyValuesTest, ADecimalRoundedToTheTargetScaleIsADocumentedDifference) {
  using L = LogicalType;
  EXPECT_EQ(Cmp(L::kDecimal, "1.23456", L::kDecimal, "1.235", 12, 3), CellMatch::kDocumented);
  EXPECT_EQ(Cmp(L::kDecimal, "9.9995", L::kDecimal, "10.000", 12, 3), CellMatch::kDocumented);
  EXPECT_EQ(Cmp(L::kDecimal, "1.23456", L::kDecimal, "1.234", 12, 3), CellMatch::kDifferent);
}

TEST(VerifyValuesTest, NormalizeDecimalAndTruncation) {
  EXPECT_EQ(NormalizeDecimal("007.50"), "7.5");
  EXPECT_EQ(NormalizeDecimal("-0.000"), "0");
  EXPECT_EQ(NormalizeDecimal("NaN"), "NaN");
  EXPECT_EQ(NormalizeDecimal("-12"), "-12");
  EXPECT_EQ(Truncated("abcdef", 3), "abc…");
  EXPECT_EQ(Truncated("a\nb", 10), "a\\x0ab");
  EXPECT_EQ(Truncated("\xc3\xbc\xc3\xbc", 3), "\xc3\xbc…") << "never cuts inside a character";
}

}  // namespace
}  // namespace sluice::core
