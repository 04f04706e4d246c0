#include "integration/common/teardown.h"

#include <chrono>
#include <thread>

#include "integration/common/sql_client.h"

namespace sluice::itest {

void DropPgSlotsOf(const std::string& db, bool terminate_active) {
  PgClient admin("postgres");
  if (terminate_active) {
    admin.TryQuery("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE "
                   "database = '" + db + "' AND active");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the slot is released
  }
  admin.TryQuery("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
                 "database = '" + db + "'");
}

void DropPgSlot(const std::string& slot) {
  PgClient("postgres").TryQuery(
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '" +
      slot + "'");
}

void DropPgDatabase(const std::string& db) {
  PgClient("postgres").TryQuery("DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
}

void DropPgSourceDatabase(const std::string& db, bool terminate_active) {
  DropPgSlotsOf(db, terminate_active);
  DropPgDatabase(db);
}

void DropMysqlDatabase(const std::string& db) {
  MysqlClient().TryQuery("DROP DATABASE IF EXISTS `" + db + "`");
}

}  // namespace sluice::itest
