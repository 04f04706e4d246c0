// Everything an integration suite needs: include this one header.
#ifndef SLUICE_INTEGRATION_COMMON_ITEST_H_
#define SLUICE_INTEGRATION_COMMON_ITEST_H_

#include "integration/common/kafka_client.h"    // ConsumeTopic, ProduceMessage, CreateKafkaTopic
#include "integration/common/pg_sluice_test.h"  // PgSluiceTest
#include "integration/common/sluice_process.h"  // SluiceProcess
#include "integration/common/sql_client.h"      // PgClient, MysqlClient, CreateScratch*Database
#include "integration/common/subprocess.h"      // Subprocess, RunCommand
#include "integration/common/table_compare.h"   // TablesMatch, ExpectTablesEqual
#include "integration/common/teardown.h"        // DropPgSourceDatabase, DropMysqlDatabase
#include "integration/common/temp_dir.h"        // TempDir, UniqueName, FreeLoopbackPort
#include "integration/common/test_env.h"        // TestEnv, HarnessError, test users
#include "integration/common/wait.h"            // WaitUntil

#endif  // SLUICE_INTEGRATION_COMMON_ITEST_H_
