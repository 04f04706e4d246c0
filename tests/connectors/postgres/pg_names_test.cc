// Slot and publication names derived from connector names: plain names keep the name they
// always had, altered or cut names get a hash so that no two connector names share one.
#include "connectors/postgres/pg_names.h"

#include <gtest/gtest.h>

#include <regex>

namespace sluice::pg {
namespace {

core::ConnectorConfig Config(const std::string& name,
                             std::map<std::string, std::string> values = {}) {
  core::ConnectorConfig c;
  c.set_name(name);
  for (auto& [k, v] : values) c.mutable_values()[k] = v;
  return c;
}

TEST(PgNamesTest, APlainNameKeepsItsDerivationUnchanged) {
  EXPECT_EQ(DeriveServerObjectName("sluice_", "orders_eu"), "sluice_orders_eu");
  EXPECT_EQ(DeriveServerObjectName("sluice_pub_", "orders_eu"), "sluice_pub_orders_eu");
  EXPECT_EQ(DeriveServerObjectName("sluice_", "sync_0123456789ab"), "sluice_sync_0123456789ab");
}

TEST(PgNamesTest, NamesThatSanitizeAlikeGetDifferentSlotsAndPublications) {
  std::string a = DeriveServerObjectName("sluice_", "orders-eu");
  std::string b = DeriveServerObjectName("sluice_", "orders_eu");
  std::string c = DeriveServerObjectName("sluice_", "Orders_EU");
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(b, c);
  EXPECT_EQ(a.rfind("sluice_orders_eu_", 0), 0u) << a;
  EXPECT_NE(DeriveServerObjectName("sluice_pub_", "orders-eu"),
            DeriveServerObjectName("sluice_pub_", "orders_eu"));
  // Stable: the same name always gives the same slot (it must be found again after a restart).
  EXPECT_EQ(a, DeriveServerObjectName("sluice_", "orders-eu"));
}

TEST(PgNamesTest, DerivedNamesAreValidSlotNamesWithin63Bytes) {
  const std::regex valid("[a-z0-9_]{1,63}");
  std::string long_a(200, 'a');
  std::string long_b = long_a + "b";
  for (const std::string& name : {std::string("orders-eu"), std::string("ÜBER/ß x"), long_a,
                                  long_b, std::string("")}) {
    for (const char* prefix : {"sluice_", "sluice_pub_"}) {
      std::string derived = DeriveServerObjectName(prefix, name);
      EXPECT_TRUE(std::regex_match(derived, valid)) << "'" << derived << "' from '" << name << "'";
    }
  }
  // Names that differ only after the cut still differ.
  EXPECT_NE(DeriveServerObjectName("sluice_", long_a), DeriveServerObjectName("sluice_", long_b));
}

TEST(PgNamesTest, ConfiguredNamesWin) {
  auto names = ResolveServerObjectNames(
      Config("orders-eu", {{"slot.name", "my_slot"}, {"publication.name", "my_pub"}}), "old");
  EXPECT_EQ(names.slot, "my_slot");
  EXPECT_EQ(names.publication, "my_pub");
  EXPECT_TRUE(names.slot_configured);
  EXPECT_TRUE(names.publication_configured);
}

TEST(PgNamesTest, AConnectorWithAStoredSlotOfTheOldDerivationKeepsItAndItsPublication) {
  auto names = ResolveServerObjectNames(Config("orders-eu"), "sluice_orders_eu");
  EXPECT_EQ(names.slot, "sluice_orders_eu");
  EXPECT_EQ(names.publication, "sluice_pub_orders_eu");
  auto fresh = ResolveServerObjectNames(Config("orders-eu"), "");
  EXPECT_EQ(fresh.slot, DeriveServerObjectName("sluice_", "orders-eu"));
  EXPECT_EQ(fresh.publication, DeriveServerObjectName("sluice_pub_", "orders-eu"));
}

}  // namespace
}  // namespace sluice::pg
