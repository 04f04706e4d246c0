// CheckSlotOwner (pg_admin.h): which existing replication slots a connector may use or drop,
// without a server.
#include <gtest/gtest.h>

#include <string>

#include "connectors/postgres/pg_admin.h"

namespace sluice::pg {
namespace {

SlotState Logical(const std::string& database, const std::string& plugin) {
  SlotState s;
  s.exists = true;
  s.slot_type = "logical";
  s.database = database;
  s.plugin = plugin;
  return s;
}

SlotState Physical() {
  SlotState s;
  s.exists = true;
  s.slot_type = "physical";
  return s;  // pg_replication_slots has NULL plugin and database, read as ""
}

TEST(SlotOwner, MissingSlotAndOwnLogicalPgoutputSlotPass) {
  EXPECT_TRUE(CheckSlotOwner(SlotState{}, "shop", "sluice_c").ok());
  EXPECT_TRUE(CheckSlotOwner(Logical("shop", "pgoutput"), "shop", "sluice_c").ok());
}

TEST(SlotOwner, PhysicalSlotIsRefusedWithTheDropSql) {
  core::Status s = CheckSlotOwner(Physical(), "shop", "standby_1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("'standby_1' is a physical replication slot"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("set a different slot.name"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("SELECT pg_drop_replication_slot('standby_1')"), std::string::npos)
      << s.message();
}

TEST(SlotOwner, LogicalSlotOfAnotherDatabaseIsRefused) {
  core::Status s = CheckSlotOwner(Logical("billing", "pgoutput"), "shop", "sluice_c");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("logical slot of database 'billing', not of shop"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("pg_drop_replication_slot('sluice_c')"), std::string::npos);
}

TEST(SlotOwner, LogicalSlotOfAnotherPluginIsRefused) {
  core::Status s = CheckSlotOwner(Logical("shop", "test_decoding"), "shop", "sluice_c");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("plugin 'test_decoding', not pgoutput"), std::string::npos)
      << s.message();
}

TEST(SlotOwner, SlotOfUnknownTypeIsRefused) {
  // A row without slot_type (never seen from a server, but "" must not read as ours).
  SlotState s = Logical("shop", "pgoutput");
  s.slot_type = "";
  EXPECT_FALSE(CheckSlotOwner(s, "shop", "sluice_c").ok());
}

}  // namespace
}  // namespace sluice::pg
