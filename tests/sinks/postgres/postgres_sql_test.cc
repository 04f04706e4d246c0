#include "sinks/postgres/postgres_sql.h"

#include <gtest/gtest.h>

namespace sluice::sinks::pgsink {
namespace {

core::TableSchema Orders() {
  core::TableSchema s;
  s.id = {"shop", "orders"};
  s.columns = {{.name = "id", .type = core::LogicalType::kInt64, .source_type = "bigint",
                .nullable = false},
               {.name = "region", .type = core::LogicalType::kString, .source_type = "text",
                .nullable = false},
               {.name = "note\"x", .type = core::LogicalType::kString, .source_type = "text"},
               {.name = "doc", .type = core::LogicalType::kJson, .source_type = "json"}};
  s.key = {0, 1};
  return s;
}

const TargetName kTarget{"shop", "orders"};

TEST(ResolveTargetName, KeepsSourceNamesOrAppliesTheFormat) {
  core::TableId id{"s", "t"};
  EXPECT_EQ(ResolveTargetName("", id).Qualified(), "\"s\".\"t\"");
  EXPECT_EQ(ResolveTargetName("${schema}_${table}", id).Qualified(), "\"s\".\"s_t\"");
  EXPECT_EQ(ResolveTargetName("archive.${table}", id).Qualified(), "\"archive\".\"t\"");
  core::TableId dotted{"a.b", "c.d"};
  EXPECT_EQ(ResolveTargetName("${schema}.${table}", dotted).Qualified(), "\"a.b\".\"c.d\"");
}

TEST(CreateTableSql, QuotesNamesAndCarriesTheKey) {
  auto s = Orders();
  EXPECT_EQ(CreateTableSql(kTarget, s, {"bigint", "text", "text", "json"}),
            "CREATE TABLE IF NOT EXISTS \"shop\".\"orders\" (\"id\" bigint NOT NULL, \"region\" "
            "text NOT NULL, \"note\"\"x\" text, \"doc\" json, PRIMARY KEY (\"id\", \"region\"))");
}

TEST(CreateTableSql, WithoutKeyForADeferredBuild) {
  auto s = Orders();
  EXPECT_EQ(CreateTableSql(kTarget, s, {"bigint", "text", "text", "json"}, false),
            "CREATE TABLE IF NOT EXISTS \"shop\".\"orders\" (\"id\" bigint NOT NULL, \"region\" "
            "text NOT NULL, \"note\"\"x\" text, \"doc\" json)");
}

TEST(AlterColumnTypeSql, CastsTheOldValuesWithUsing) {
  EXPECT_EQ(AlterColumnTypeSql(kTarget, "n", "bigint"),
            "ALTER TABLE \"shop\".\"orders\" ALTER COLUMN \"n\" TYPE bigint USING \"n\"::bigint");
  EXPECT_EQ(AlterColumnTypeSql(kTarget, "note\"x", "character varying(20)"),
            "ALTER TABLE \"shop\".\"orders\" ALTER COLUMN \"note\"\"x\" TYPE character "
            "varying(20) USING \"note\"\"x\"::character varying(20)");
}

TEST(ReplacePrimaryKeySql, DropsTheOldConstraintAndAddsTheNewKeyInOneStatement) {
  auto s = Orders();
  EXPECT_EQ(ReplacePrimaryKeySql(kTarget, s, "orders_pkey"),
            "ALTER TABLE \"shop\".\"orders\" DROP CONSTRAINT \"orders_pkey\", ADD PRIMARY KEY "
            "(\"id\", \"region\")");
  s.key = {2};
  EXPECT_EQ(ReplacePrimaryKeySql(kTarget, s, ""),
            "ALTER TABLE \"shop\".\"orders\" ADD PRIMARY KEY (\"note\"\"x\")");
  EXPECT_EQ(ReplacePrimaryKeySql(kTarget, s, "we\"ird"),
            "ALTER TABLE \"shop\".\"orders\" DROP CONSTRAINT \"we\"\"ird\", ADD PRIMARY KEY "
            "(\"note\"\"x\")");
}

TEST(UpsertSql, UpdatesNonKeyColumnsOnConflict) {
  auto s = Orders();
  EXPECT_EQ(UpsertSql(kTarget, s, {0, 1, 2}),
            "INSERT INTO \"shop\".\"orders\" (\"id\", \"region\", \"note\"\"x\") VALUES ($1, $2, "
            "$3) ON CONFLICT (\"id\", \"region\") DO UPDATE SET \"note\"\"x\" = "
            "EXCLUDED.\"note\"\"x\"");
  EXPECT_EQ(UpsertSql(kTarget, s, {0, 1}),
            "INSERT INTO \"shop\".\"orders\" (\"id\", \"region\") VALUES ($1, $2) ON CONFLICT "
            "(\"id\", \"region\") DO NOTHING");
  s.key.clear();
  EXPECT_EQ(UpsertSql(kTarget, s, {0}), "INSERT INTO \"shop\".\"orders\" (\"id\") VALUES ($1)");
}

TEST(UpdateAndDelete, MatchByKeyWithParametersAfterTheSetList) {
  auto s = Orders();
  EXPECT_EQ(UpdateByKeySql(kTarget, s, {2}),
            "UPDATE \"shop\".\"orders\" SET \"note\"\"x\" = $1 WHERE \"id\" = $2 AND \"region\" = $3");
  EXPECT_EQ(DeleteByKeySql(kTarget, s),
            "DELETE FROM \"shop\".\"orders\" WHERE \"id\" = $1 AND \"region\" = $2");
}

TEST(MultiRow, UpsertAndDeleteNumberParametersRowByRow) {
  auto s = Orders();
  EXPECT_EQ(UpsertSql(kTarget, s, {0, 1, 2}, 2),
            "INSERT INTO \"shop\".\"orders\" (\"id\", \"region\", \"note\"\"x\") VALUES ($1, $2, "
            "$3), ($4, $5, $6) ON CONFLICT (\"id\", \"region\") DO UPDATE SET \"note\"\"x\" = "
            "EXCLUDED.\"note\"\"x\"");
  EXPECT_EQ(DeleteByKeySql(kTarget, s, 2),
            "DELETE FROM \"shop\".\"orders\" WHERE (\"id\", \"region\") IN (($1, $2), ($3, $4))");
  s.key = {0};
  EXPECT_EQ(DeleteByKeySql(kTarget, s, 3),
            "DELETE FROM \"shop\".\"orders\" WHERE \"id\" IN ($1, $2, $3)");
}

TEST(KeylessTables, ChangeOneEqualRowComparingJsonAsJsonb) {
  auto s = Orders();
  s.key.clear();
  EXPECT_EQ(DeleteOneRowSql(kTarget, s, {0, 3}),
            "DELETE FROM \"shop\".\"orders\" WHERE ctid = (SELECT ctid FROM \"shop\".\"orders\" "
            "WHERE \"id\" IS NOT DISTINCT FROM $1 AND \"doc\"::jsonb IS NOT DISTINCT FROM "
            "$2::jsonb LIMIT 1)");
  EXPECT_EQ(UpdateOneRowSql(kTarget, s, {0}, {2}),
            "UPDATE \"shop\".\"orders\" SET \"note\"\"x\" = $2 WHERE ctid = (SELECT ctid FROM "
            "\"shop\".\"orders\" WHERE \"id\" IS NOT DISTINCT FROM $1 LIMIT 1)");
}

// point, box, xml and their arrays have no equality operator ("operator does not exist:
// point = unknown" stopped a keyless table's first UPDATE): with the target types known, string,
// unknown and array columns compare the text of the same type on both sides.
TEST(KeylessTables, TypesWithoutEqualityCompareTheirText) {
  core::TableSchema s;
  s.id = {"shop", "places"};
  for (auto [name, type] : {std::pair{"id", core::LogicalType::kInt32},
                            std::pair{"p", core::LogicalType::kUnknown},
                            std::pair{"x", core::LogicalType::kString},
                            std::pair{"ps", core::LogicalType::kArray}}) {
    core::Column c;
    c.name = name;
    c.type = type;
    s.columns.push_back(c);
  }
  std::vector<std::string> types = {"integer", "point", "xml", "point[]"};
  EXPECT_EQ(DeleteOneRowSql(kTarget, s, {0, 1, 2, 3}, types),
            "DELETE FROM \"shop\".\"orders\" WHERE ctid = (SELECT ctid FROM \"shop\".\"orders\" "
            "WHERE \"id\" IS NOT DISTINCT FROM $1 AND \"p\"::text IS NOT DISTINCT FROM "
            "($2::point)::text AND \"x\"::text IS NOT DISTINCT FROM ($3::xml)::text AND "
            "\"ps\"::text IS NOT DISTINCT FROM ($4::point[])::text LIMIT 1)");
  EXPECT_EQ(UpdateOneRowSql(kTarget, s, {1}, {0}, types),
            "UPDATE \"shop\".\"orders\" SET \"id\" = $2 WHERE ctid = (SELECT ctid FROM "
            "\"shop\".\"orders\" WHERE \"p\"::text IS NOT DISTINCT FROM ($1::point)::text "
            "LIMIT 1)");
}

TEST(GeneratedColumns, CreatedWithTheSourcesExpression) {
  core::TableSchema s;
  s.id = {"shop", "orders"};
  core::Column id;
  id.name = "id";
  id.type = core::LogicalType::kInt32;
  s.columns.push_back(id);
  s.key = {0};
  s.generated.push_back({"twice", "integer", "(id * 2)"});
  EXPECT_EQ(CreateTableSql(kTarget, s, {"integer"}, true),
            "CREATE TABLE IF NOT EXISTS \"shop\".\"orders\" (\"id\" integer, \"twice\" integer "
            "GENERATED ALWAYS AS ((id * 2)) STORED, PRIMARY KEY (\"id\"))");
}

TEST(SnapshotStatements, CopyAndStageUpsert) {
  auto s = Orders();
  EXPECT_EQ(CopySql(kTarget.Qualified(), s, {0, 2}),
            "COPY \"shop\".\"orders\" (\"id\", \"note\"\"x\") FROM STDIN");
  EXPECT_EQ(CreateStageSql("st", kTarget, s, {0, 1}),
            "CREATE TEMPORARY TABLE \"st\" ON COMMIT DROP AS SELECT \"id\", \"region\" FROM "
            "\"shop\".\"orders\" WITH NO DATA");
  EXPECT_EQ(UpsertFromStageSql("st", kTarget, s, {0, 1, 2}),
            "INSERT INTO \"shop\".\"orders\" (\"id\", \"region\", \"note\"\"x\") SELECT \"id\", "
            "\"region\", \"note\"\"x\" FROM \"st\" ON CONFLICT (\"id\", \"region\") DO UPDATE SET "
            "\"note\"\"x\" = EXCLUDED.\"note\"\"x\"");
}

TEST(SnapshotStatements, StageUpsertEndsLikeTheRowUpsert) {
  auto s = Orders();
  // The ON CONFLICT tail is the same for both upserts: key-only columns do nothing, a keyless
  // table has no tail at all.
  auto tail = [](const std::string& sql) { return sql.substr(sql.find(" ON CONFLICT")); };
  EXPECT_EQ(tail(UpsertFromStageSql("st", kTarget, s, {0, 1, 2})),
            tail(UpsertSql(kTarget, s, {0, 1, 2})));
  EXPECT_EQ(tail(UpsertFromStageSql("st", kTarget, s, {0, 1})),
            " ON CONFLICT (\"id\", \"region\") DO NOTHING");
  EXPECT_EQ(tail(UpsertSql(kTarget, s, {0, 1}, 2)),
            " ON CONFLICT (\"id\", \"region\") DO NOTHING");
  s.key.clear();
  EXPECT_EQ(UpsertFromStageSql("st", kTarget, s, {0, 3}),
            "INSERT INTO \"shop\".\"orders\" (\"id\", \"doc\") SELECT \"id\", \"doc\" FROM "
            "\"st\"");
}

TEST(Offsets, OneRowPerConnector) {
  TargetName o{"public", "sluice_offsets"};
  EXPECT_EQ(LoadOffsetSql(o), "SELECT position FROM \"public\".\"sluice_offsets\" WHERE connector = $1");
  EXPECT_NE(SaveOffsetSql(o).find("ON CONFLICT (connector) DO UPDATE"), std::string::npos);
}

}  // namespace
}  // namespace sluice::sinks::pgsink
