// Type mapping and text conversion of the PostgreSQL source (no server: built-in types only).
#include "connectors/postgres/pg_types.h"

#include <gtest/gtest.h>

#include "connectors/postgres/pg_position.h"

namespace sluice::pg {
namespace {

using core::LogicalType;

TEST(PgTypes, BuiltinMapping) {
  EXPECT_EQ(LogicalTypeForOid(16), LogicalType::kBool);
  EXPECT_EQ(LogicalTypeForOid(21), LogicalType::kInt16);
  EXPECT_EQ(LogicalTypeForOid(23), LogicalType::kInt32);
  EXPECT_EQ(LogicalTypeForOid(20), LogicalType::kInt64);
  EXPECT_EQ(LogicalTypeForOid(1700), LogicalType::kDecimal);
  EXPECT_EQ(LogicalTypeForOid(700), LogicalType::kFloat32);
  EXPECT_EQ(LogicalTypeForOid(1184), LogicalType::kTimestampTz);
  EXPECT_EQ(LogicalTypeForOid(1186), LogicalType::kInterval);
  EXPECT_EQ(LogicalTypeForOid(2950), LogicalType::kUuid);
  EXPECT_EQ(LogicalTypeForOid(3802), LogicalType::kJson);
  EXPECT_EQ(LogicalTypeForOid(790), LogicalType::kString);  // money
  EXPECT_EQ(LogicalTypeForOid(869), LogicalType::kString);  // inet
  EXPECT_EQ(LogicalTypeForOid(600), LogicalType::kUnknown);  // point
}

TEST(PgTypes, DescribeNumericAndVarchar) {
  TypeResolver types(nullptr);
  core::Column c;
  ColumnCodec codec;
  ASSERT_TRUE(types.Describe(1700, (12 << 16 | 2) + 4, "numeric(12,2)", c, codec).ok());
  EXPECT_EQ(c.type, LogicalType::kDecimal);
  EXPECT_EQ(c.precision, 12);
  EXPECT_EQ(c.scale, 2);
  EXPECT_EQ(c.source_type, "numeric(12,2)");
  // PostgreSQL 15 scales outside 0..precision: numeric(3,-2) and numeric(3,5).
  ASSERT_TRUE(types.Describe(1700, ((3 << 16) | (-2 & 0x7ff)) + 4, "numeric(3,-2)", c, codec).ok());
  EXPECT_EQ(c.precision, 3);
  EXPECT_EQ(c.scale, -2);
  ASSERT_TRUE(types.Describe(1700, ((3 << 16) | 5) + 4, "numeric(3,5)", c, codec).ok());
  EXPECT_EQ(c.scale, 5);
  ASSERT_TRUE(types.Describe(1043, 64 + 4, "character varying(64)", c, codec).ok());
  EXPECT_EQ(c.length, 64);
  ASSERT_TRUE(types.Describe(17, -1, "bytea", c, codec).ok());
  EXPECT_EQ(codec.codec, ValueCodec::kBytea);
}

TEST(PgTypes, ByteaHex) {
  std::string out;
  ASSERT_TRUE(DecodeByteaHex("\\x00ff41", out));
  EXPECT_EQ(out, std::string("\0\xff" "A", 3));
  EXPECT_FALSE(DecodeByteaHex("\\x0", out));
  EXPECT_FALSE(DecodeByteaHex("\\xzz", out));
  EXPECT_FALSE(DecodeByteaHex("00", out));
  core::EventBatch batch;
  batch.BeginRow();
  std::string scratch;
  ASSERT_TRUE(AppendCanonical(batch, {ValueCodec::kBytea, ElementKind::kString}, "\\x6869", scratch));
  batch.EndRow();
  EXPECT_EQ(batch.row(0).text(0), "hi");
}

TEST(PgTypes, ArrayLiteralsToJson) {
  std::string out;
  ASSERT_TRUE(PgArrayToJson("{1,NULL,3}", ElementKind::kNumber, out));
  EXPECT_EQ(out, "[1,null,3]");
  ASSERT_TRUE(PgArrayToJson("{{1,2},{3,4}}", ElementKind::kNumber, out));
  EXPECT_EQ(out, "[[1,2],[3,4]]");
  ASSERT_TRUE(PgArrayToJson("{NaN,1.5}", ElementKind::kNumber, out));
  EXPECT_EQ(out, "[\"NaN\",1.5]");
  ASSERT_TRUE(PgArrayToJson("{t,f}", ElementKind::kBool, out));
  EXPECT_EQ(out, "[true,false]");
  ASSERT_TRUE(PgArrayToJson(R"({plain,"a b","q\"uote","back\\slash","NULL",NULL})",
                            ElementKind::kString, out));
  EXPECT_EQ(out, R"(["plain","a b","q\"uote","back\\slash","NULL",null])");
  ASSERT_TRUE(PgArrayToJson("{}", ElementKind::kString, out));
  EXPECT_EQ(out, "[]");
  EXPECT_FALSE(PgArrayToJson("{1,2", ElementKind::kNumber, out));
  EXPECT_FALSE(PgArrayToJson("1,2}", ElementKind::kNumber, out));
  EXPECT_FALSE(PgArrayToJson("{\"open}", ElementKind::kString, out));
  EXPECT_FALSE(PgArrayToJson("{1}x", ElementKind::kNumber, out));
  EXPECT_FALSE(PgArrayToJson("{1,,2}", ElementKind::kNumber, out));
}

// PostgreSQL prints the bounds of an array whose lower bound is not 1; dropping them once made
// v[0] NULL at the target. They travel as an object the PostgreSQL sink turns back into bounds.
TEST(PgTypes, ArrayBoundsAreKept) {
  std::string out;
  ASSERT_TRUE(PgArrayToJson("[0:2]={7,8,9}", ElementKind::kNumber, out));
  EXPECT_EQ(out, R"({"lower_bounds":[0],"values":[7,8,9]})");
  ASSERT_TRUE(PgArrayToJson("[-2:-1][3:4]={{1,2},{3,4}}", ElementKind::kNumber, out));
  EXPECT_EQ(out, R"({"lower_bounds":[-2,3],"values":[[1,2],[3,4]]})");
  ASSERT_TRUE(PgArrayToJson(R"([5:5]={"a,b"})", ElementKind::kString, out));
  EXPECT_EQ(out, R"({"lower_bounds":[5],"values":["a,b"]})");
  EXPECT_FALSE(PgArrayToJson("[0:1]{5,6}", ElementKind::kNumber, out));
  EXPECT_FALSE(PgArrayToJson("[x:1]={5,6}", ElementKind::kNumber, out));
  EXPECT_FALSE(PgArrayToJson("[0:1", ElementKind::kNumber, out));
}

// box[] is printed with box's typdelim ';' between elements (a box's own text has commas).
TEST(PgTypes, ArrayElementsSplitOnTheElementTypesDelimiter) {
  std::string out;
  ASSERT_TRUE(PgArrayToJson("{(1,1),(0,0);(3,3),(2,2);NULL}", ElementKind::kString, out, ';'));
  EXPECT_EQ(out, R"x(["(1,1),(0,0)","(3,3),(2,2)",null])x");
  ASSERT_TRUE(PgArrayToJson("{{(1,1),(0,0)};{(3,3),(2,2)}}", ElementKind::kString, out, ';'));
  EXPECT_EQ(out, R"x([["(1,1),(0,0)"],["(3,3),(2,2)"]])x");
  core::EventBatch batch;
  batch.BeginRow();
  std::string scratch;
  ColumnCodec codec{ValueCodec::kArray, ElementKind::kString};
  codec.delimiter = ';';
  ASSERT_TRUE(AppendCanonical(batch, codec, "{(1,1),(0,0)}", scratch));
  batch.EndRow();
  EXPECT_EQ(batch.row(0).text(0), R"x(["(1,1),(0,0)"])x");
}

TEST(PgPosition, RoundTrip) {
  PgPosition p;
  p.lsn = 0x16B374D848ull;
  p.slot = "s";
  p.snapshot_running = true;
  auto back = PgPosition::Parse(p.ToSource().value);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->lsn, p.lsn);
  EXPECT_TRUE(back->snapshot_running);
  EXPECT_EQ(back->slot, "s");
  EXPECT_FALSE(PgPosition::Parse("{\"file\":\"x\"}").ok());
  EXPECT_FALSE(PgPosition::Parse("nonsense").ok());
}

}  // namespace
}  // namespace sluice::pg
