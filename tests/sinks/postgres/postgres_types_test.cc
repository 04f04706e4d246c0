#include "sinks/postgres/postgres_types.h"

#include <gtest/gtest.h>

#include "sinks/postgres/pg_connection.h"

namespace sluice::sinks::pgsink {
namespace {

using core::Column;
using core::LogicalType;

std::string Array(std::string_view json) {
  std::string out = "prefix:";
  if (!JsonArrayToPgArray(json, out)) return "<error>";
  return out.substr(7);
}

Column Col(LogicalType type, std::string source_type = "") {
  Column c;
  c.name = "c";
  c.type = type;
  c.source_type = std::move(source_type);
  return c;
}

TEST(JsonArrayToPgArray, ConvertsScalarsNullsAndBooleans) {
  EXPECT_EQ(Array("[]"), "{}");
  EXPECT_EQ(Array("[1,2,3]"), "{1,2,3}");
  EXPECT_EQ(Array(" [ 1 , null , -2.5e3 ] "), "{1,NULL,-2.5e3}");
  EXPECT_EQ(Array("[true,false]"), "{t,f}");
}

TEST(JsonArrayToPgArray, QuotesStringsSoNullStaysText) {
  EXPECT_EQ(Array(R"(["a b","NULL",""])"), R"({"a b","NULL",""})");
  EXPECT_EQ(Array(R"(["q\"uote","back\\slash"])"), R"({"q\"uote","back\\slash"})");
  EXPECT_EQ(Array(R"(["{braces},comma"])"), R"({"{braces},comma"})");
}

TEST(JsonArrayToPgArray, DecodesJsonEscapesToUtf8) {
  EXPECT_EQ(Array(R"(["line\nbreak\ttab"])"), "{\"line\nbreak\ttab\"}");
  EXPECT_EQ(Array(R"(["\u00e9\u4e2d"])"), "{\"\xc3\xa9\xe4\xb8\xad\"}");
  EXPECT_EQ(Array(R"(["\ud83d\ude00"])"), "{\"\xf0\x9f\x98\x80\"}");
  EXPECT_EQ(Array("[\"h\xc3\xa9\"]"), "{\"h\xc3\xa9\"}");
}

TEST(JsonArrayToPgArray, NestsMultidimensionalArrays) {
  EXPECT_EQ(Array("[[1,2],[3,4]]"), "{{1,2},{3,4}}");
  EXPECT_EQ(Array(R"([["a"],[null]])"), R"({{"a"},{NULL}})");
}

TEST(JsonArrayToPgArray, KeepsObjectsAsQuotedJson) {
  EXPECT_EQ(Array(R"([{"k":"v"},{"a":[1,2]}])"), R"({"{\"k\":\"v\"}","{\"a\":[1,2]}"})");
}

TEST(JsonArrayToPgArray, RejectsMalformedInputWithoutCrashing) {
  for (std::string_view bad : {"", "1", "[", "[1,", "[1 2]", "[\"abc", "[\"\\u12\"]",
                               "[\"\\ud800\"]", "[\"\\u0000\"]", "[nul]", "[1]x", "{}",
                               "[{\"a\":1]", "[\"\\q\"]"}) {
    EXPECT_EQ(Array(bad), "<error>") << bad;
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_EQ(Array(deep), "<error>");
}

// The PostgreSQL source's form of an array with explicit bounds becomes the bounds again
// (dropping them made v[0] NULL at the target).
TEST(JsonArrayToPgArray, WritesExplicitLowerBounds) {
  EXPECT_EQ(Array(R"({"lower_bounds":[0],"values":[7,8,9]})"), "[0:2]={7,8,9}");
  EXPECT_EQ(Array(R"({"lower_bounds":[0,-1],"values":[[1,2],[3,4]]})"),
            "[0:1][-1:0]={{1,2},{3,4}}");
  EXPECT_EQ(Array(R"({"lower_bounds":[5],"values":["a,b",null]})"), R"([5:6]={"a,b",NULL})");
  EXPECT_EQ(Array(R"({"lower_bounds":[0],"values":[]})"), "<error>");  // no bounds when empty
  EXPECT_EQ(Array(R"({"lower_bounds":[0,1],"values":[1]})"), "<error>");  // dimensions differ
  EXPECT_EQ(Array(R"({"lower_bounds":[x],"values":[1]})"), "<error>");
  EXPECT_EQ(Array(R"({"values":[1]})"), "<error>");
}

// box[] takes ';' between elements (box's typdelim): a comma would split each box.
TEST(JsonArrayToPgArray, SeparatesElementsWithTheTargetsDelimiter) {
  std::string out;
  ASSERT_TRUE(JsonArrayToPgArray(R"x(["(1,1),(0,0)",null,"(3,3),(2,2)"])x", out, ';'));
  EXPECT_EQ(out, R"x({"(1,1),(0,0)";NULL;"(3,3),(2,2)"})x");
  out.clear();
  ASSERT_TRUE(JsonArrayToPgArray(R"x([["(1,1),(0,0)"],["(2,2),(0,0)"]])x", out, ';'));
  EXPECT_EQ(out, R"x({{"(1,1),(0,0)"};{"(2,2),(0,0)"}})x");
  out.clear();
  ASSERT_TRUE(AppendPgText(ValueKind::kArray, R"x({"lower_bounds":[2],"values":["(1,1),(0,0)","(2,2),(0,0)"]})x",
                           out, ';'));
  EXPECT_EQ(out, R"x([2:3]={"(1,1),(0,0)";"(2,2),(0,0)"})x");
}

TEST(TargetType, MariadbInetColumnsBecomeInet) {
  core::Column c;
  c.type = core::LogicalType::kString;
  c.source_type = "inet6";
  EXPECT_EQ(TargetType(c, false), "inet");
  c.source_type = "inet4";
  EXPECT_EQ(TargetType(c, false), "inet");
  c.type = core::LogicalType::kUuid;
  c.source_type = "uuid";
  EXPECT_EQ(TargetType(c, false), "uuid");
}

TEST(AppendPgText, BytesBecomeHexAndPlainPassesThrough) {
  std::string out;
  ASSERT_TRUE(AppendPgText(ValueKind::kBytes, std::string_view("\x00\xff\x10", 3), out));
  EXPECT_EQ(out, "\\x00ff10");
  out.clear();
  ASSERT_TRUE(AppendPgText(ValueKind::kPlain, "12.50", out));
  EXPECT_EQ(out, "12.50");
  out.clear();
  ASSERT_TRUE(AppendPgText(ValueKind::kArray, "[1,2]", out));
  EXPECT_EQ(out, "{1,2}");
  EXPECT_FALSE(AppendPgText(ValueKind::kArray, "nope", out));
}

TEST(AppendCopyEscaped, EscapesCopyTextSpecials) {
  std::string out;
  AppendCopyEscaped("a\tb\nc\rd\\e", out);
  EXPECT_EQ(out, "a\\tb\\nc\\rd\\\\e");
  out.clear();
  AppendCopyEscaped("\\N", out);
  EXPECT_EQ(out, "\\\\N");  // the text \N, not NULL
}

TEST(TargetType, PostgresSourceKeepsItsTypeText) {
  EXPECT_EQ(TargetType(Col(LogicalType::kDecimal, "numeric(12,2)"), true), "numeric(12,2)");
  EXPECT_EQ(TargetType(Col(LogicalType::kArray, "integer[]"), true), "integer[]");
  EXPECT_EQ(TargetType(Col(LogicalType::kEnum, "\"My Mood\""), true), "\"My Mood\"");
  EXPECT_EQ(TargetType(Col(LogicalType::kEnum, "\"a;b\""), true), "\"a;b\"");
  EXPECT_EQ(TargetType(Col(LogicalType::kString, "text; DROP TABLE x"), true), std::nullopt);
  EXPECT_EQ(TargetType(Col(LogicalType::kString, "text -- x"), true), std::nullopt);
}

TEST(TargetType, OtherSourcesMapFromTheLogicalType) {
  Column u = Col(LogicalType::kInt64, "bigint(20) unsigned");
  u.is_unsigned = true;
  EXPECT_EQ(TargetType(u, false), "numeric(20,0)");
  Column i = Col(LogicalType::kInt32, "int(10) unsigned");
  i.is_unsigned = true;
  EXPECT_EQ(TargetType(i, false), "bigint");
  Column d = Col(LogicalType::kDecimal, "decimal(10,3)");
  d.precision = 10;
  d.scale = 3;
  EXPECT_EQ(TargetType(d, false), "numeric(10,3)");
  Column v = Col(LogicalType::kString, "varchar(255)");
  v.length = 255;
  EXPECT_EQ(TargetType(v, false), "varchar(255)");
  EXPECT_EQ(TargetType(Col(LogicalType::kString, "longtext"), false), "text");
  Column ts = Col(LogicalType::kTimestamp, "datetime(6)");
  ts.precision = 6;
  EXPECT_EQ(TargetType(ts, false), "timestamp(6)");
  EXPECT_EQ(TargetType(Col(LogicalType::kEnum, "enum('a','b')"), false), "text");
  EXPECT_EQ(TargetType(Col(LogicalType::kBytes, "blob"), false), "bytea");
  EXPECT_EQ(TargetType(Col(LogicalType::kJson, "json"), false), "jsonb");
  EXPECT_EQ(TargetType(Col(LogicalType::kArray, ""), false), "jsonb");
}

// MySQL TIME spans -838:59:59..838:59:59: a non-PostgreSQL source's time becomes interval
// (with its fractional digits), while a PostgreSQL source keeps its own time type.
TEST(TargetType, NonPostgresTimeBecomesIntervalPostgresTimeStaysTime) {
  Column my = Col(LogicalType::kTime, "time(3)");
  my.precision = 3;
  EXPECT_EQ(TargetType(my, false), "interval(3)");
  EXPECT_EQ(TargetType(Col(LogicalType::kTime, "time"), false), "interval");
  EXPECT_EQ(TargetType(Col(LogicalType::kTime, ""), false), "interval");
  Column pg = Col(LogicalType::kTime, "time(3) without time zone");
  pg.precision = 3;
  EXPECT_EQ(TargetType(pg, true), "time(3) without time zone");
  EXPECT_EQ(TargetType(Col(LogicalType::kTime, "time without time zone"), true),
            "time without time zone");
  // A PostgreSQL column without a source type still maps through the logical type: time.
  EXPECT_EQ(TargetType(Col(LogicalType::kTime, ""), true), "time");
}

TEST(KindOf, ArraysAreLiteralsOnlyForPostgresArrayColumns) {
  EXPECT_EQ(KindOf(Col(LogicalType::kArray, "text[]"), true), ValueKind::kArray);
  EXPECT_EQ(KindOf(Col(LogicalType::kArray, "text[]"), false), ValueKind::kPlain);
  EXPECT_EQ(KindOf(Col(LogicalType::kBytes, "bytea"), true), ValueKind::kBytes);
  EXPECT_EQ(KindOf(Col(LogicalType::kInt32, "integer"), true), ValueKind::kPlain);
}

std::string Field(BinaryKind kind, std::string_view text) {
  std::string out;
  if (!AppendCopyBinaryField(kind, text, out)) return "<none>";
  return out;
}

TEST(CopyBinary, HeaderAndTrailerFollowTheFormat) {
  std::string out;
  AppendCopyBinaryHeader(out);
  EXPECT_EQ(out, std::string("PGCOPY\n\xff\r\n\0", 11) + std::string(8, '\0'));
  out.clear();
  AppendCopyBinaryFieldCount(4, out);
  AppendCopyBinaryNull(out);
  AppendCopyBinaryTrailer(out);
  EXPECT_EQ(out, std::string("\x00\x04\xff\xff\xff\xff\xff\xff", 8));
}

TEST(CopyBinary, IntegersAreBigEndianAndRangeChecked) {
  EXPECT_EQ(Field(BinaryKind::kInt4, "258"), std::string("\0\0\0\x04\0\0\x01\x02", 8));
  EXPECT_EQ(Field(BinaryKind::kInt2, "-1"), std::string("\0\0\0\x02\xff\xff", 6));
  EXPECT_EQ(Field(BinaryKind::kInt8, "-9223372036854775808"),
            std::string("\0\0\0\x08\x80\0\0\0\0\0\0\0", 12));
  EXPECT_EQ(Field(BinaryKind::kInt2, "32768"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kInt4, "2147483648"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kInt4, "12x"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kInt4, " 1"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kInt4, ""), "<none>");
}

TEST(CopyBinary, FloatsKeepEveryBitAndSpecialValues) {
  EXPECT_EQ(Field(BinaryKind::kFloat8, "1.5"), std::string("\0\0\0\x08\x3f\xf8\0\0\0\0\0\0", 12));
  EXPECT_EQ(Field(BinaryKind::kFloat4, "-2"), std::string("\0\0\0\x04\xc0\0\0\0", 8));
  EXPECT_EQ(Field(BinaryKind::kFloat8, "Infinity"),
            std::string("\0\0\0\x08\x7f\xf0\0\0\0\0\0\0", 12));
  EXPECT_EQ(Field(BinaryKind::kFloat8, "-Infinity"),
            std::string("\0\0\0\x08\xff\xf0\0\0\0\0\0\0", 12));
  EXPECT_NE(Field(BinaryKind::kFloat8, "NaN"), "<none>");
  // Shortest round-trip text (PostgreSQL's float8out) gives back the same double.
  EXPECT_EQ(Field(BinaryKind::kFloat8, "0.1"), std::string("\0\0\0\x08\x3f\xb9\x99\x99\x99\x99\x99\x9a", 12));
  EXPECT_EQ(Field(BinaryKind::kFloat8, "1e400"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kFloat8, "abc"), "<none>");
}

TEST(CopyBinary, BooleansAndTextAsTheyAre) {
  EXPECT_EQ(Field(BinaryKind::kBool, "t"), std::string("\0\0\0\x01\x01", 5));
  EXPECT_EQ(Field(BinaryKind::kBool, "false"), std::string("\0\0\0\x01\0", 5));
  EXPECT_EQ(Field(BinaryKind::kBool, "maybe"), "<none>");
  EXPECT_EQ(Field(BinaryKind::kText, "a\tb\\"), std::string("\0\0\0\x04" "a\tb\\", 8));
  EXPECT_EQ(Field(BinaryKind::kText, ""), std::string("\0\0\0\0", 4));
}

TEST(CopyBinary, OnlyTypesWithAnExactEncoder) {
  EXPECT_EQ(BinaryKindOfOid(23), BinaryKind::kInt4);
  EXPECT_EQ(BinaryKindOfOid(1042), BinaryKind::kText);
  EXPECT_EQ(BinaryKindOfOid(1700), BinaryKind::kNone);  // numeric
  EXPECT_EQ(BinaryKindOfOid(1114), BinaryKind::kNone);  // timestamp
  EXPECT_EQ(BinaryKindOfOid(17), BinaryKind::kNone);    // bytea
}

}  // namespace
}  // namespace sluice::sinks::pgsink
