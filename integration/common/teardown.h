// What integration suites leave behind on the shared servers, removed in their TearDown: the
// replication slots of a source database (slots outlive databases and hold WAL), the databases
// themselves, and MariaDB databases. Errors are ignored (teardown also runs after a failure, when
// some of these were never created); each call uses the test superuser.
#ifndef SLUICE_INTEGRATION_COMMON_TEARDOWN_H_
#define SLUICE_INTEGRATION_COMMON_TEARDOWN_H_

#include <string>

namespace sluice::itest {

// Drops the replication slots of PostgreSQL database `db`. With `terminate_active`, first ends
// the walsenders still streaming from them (a killed Sluice's may linger briefly).
void DropPgSlotsOf(const std::string& db, bool terminate_active = false);
// Drops the replication slot `slot`, wherever it is.
void DropPgSlot(const std::string& slot);
// Drops PostgreSQL database `db` (WITH (FORCE): open sessions are ended).
void DropPgDatabase(const std::string& db);
// DropPgSlotsOf(db, terminate_active), then DropPgDatabase(db).
void DropPgSourceDatabase(const std::string& db, bool terminate_active = false);
// Drops MariaDB database `db`.
void DropMysqlDatabase(const std::string& db);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_TEARDOWN_H_
