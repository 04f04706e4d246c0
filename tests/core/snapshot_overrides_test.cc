#include "core/snapshot_overrides.h"

#include <gtest/gtest.h>

namespace sluice::core {
namespace {

ConnectorConfig Config(std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> values = {{"connector.class", "postgres"},
                                               {"sink.type", "file"}};
  for (auto& [k, v] : extra) values[k] = v;
  return ConnectorConfig("c", values);
}

TEST(SelectOverrides, EachListedTableHasItsStatement) {
  auto overrides = SelectOverridesFromConfig(Config(
      {{"snapshot.select.statement.overrides", "public.orders, shop.items"},
       {"snapshot.select.statement.overrides.public.orders",
        "SELECT * FROM public.orders WHERE status <> 'deleted';"},
       {"snapshot.select.statement.overrides.shop.items", "SELECT * FROM shop.items LIMIT 5"}}));
  ASSERT_TRUE(overrides.ok()) << overrides.status().message();
  ASSERT_EQ(overrides->size(), 2u);
  EXPECT_EQ(OverrideQuery(*overrides, {"public", "orders"}, "\"id\", \"status\""),
            "SELECT \"id\", \"status\" FROM (SELECT * FROM public.orders WHERE status <> "
            "'deleted') AS sluice_override");
  EXPECT_EQ(OverrideQuery(*overrides, {"public", "other"}, "\"id\""), "");
  EXPECT_TRUE(SelectOverridesFromConfig(Config({}))->empty());
}

TEST(SelectOverrides, RefusesAListWithoutStatementsAndStatementsWithoutTheList) {
  auto issues = SelectOverrideIssues(Config({{"snapshot.select.statement.overrides", "public.t"}}));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_NE(issues[0].message.find("holds no SELECT"), std::string::npos);
  issues = SelectOverrideIssues(
      Config({{"snapshot.select.statement.overrides.public.t", "SELECT * FROM public.t"}}));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].key, "snapshot.select.statement.overrides.public.t");
  EXPECT_NE(issues[0].message.find("does not list public.t"), std::string::npos);
  issues = SelectOverrideIssues(Config({{"snapshot.select.statement.overrides", "orders"}}));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_NE(issues[0].message.find("not a schema.table"), std::string::npos);
  EXPECT_FALSE(SelectOverridesFromConfig(
                   Config({{"snapshot.select.statement.overrides", "public.t"},
                           {"snapshot.select.statement.overrides.public.t", "  "}}))
                   .ok());
  ConfigDef def;
  def.AddAll(CommonConfigKeys());
  EXPECT_TRUE(def.Validate(Config({{"snapshot.select.statement.overrides", "public.t"},
                                   {"snapshot.select.statement.overrides.public.t",
                                    "SELECT * FROM public.t WHERE id > 1"}}))
                  .ok());
  EXPECT_FALSE(def.Validate(Config({{"snapshot.select.statement.overrides", "public.t"}})).ok());
}

}  // namespace
}  // namespace sluice::core
