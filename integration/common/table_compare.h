// The one comparator every integration test ends with: "the target holds what the source holds".
#ifndef SLUICE_INTEGRATION_COMMON_TABLE_COMPARE_H_
#define SLUICE_INTEGRATION_COMMON_TABLE_COMPARE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <source_location>
#include <string>

#include "integration/common/sql_client.h"

namespace sluice::itest {

// Compares two row sets as multisets (row order does not matter): the row count and a checksum
// over every column of the sorted rows must agree. Each side is fetched with SQL the test
// writes for its own dialect (casts, rounding, time zones), so that equal data prints equal
// text. On mismatch the message gives both counts and checksums and the first `max_rows_shown`
// rows present on one side only. Pure function; thread-safe.
//
//   EXPECT_TRUE(TablesMatch(pg.Query("SELECT id, name FROM t"), my.Query("SELECT id, name FROM t")));
::testing::AssertionResult TablesMatch(const SqlRows& source, const SqlRows& target,
                                       size_t max_rows_shown = 5);

// Non-fatal expectation form of TablesMatch, reported at the caller's line.
void ExpectTablesEqual(const SqlRows& source, const SqlRows& target,
                       std::source_location where = std::source_location::current());

// An order-independent checksum of a row set (FNV-1a over the sorted rows; NULL differs from '').
uint64_t RowsChecksum(const SqlRows& rows);

// "(1, 'a', NULL)" for messages; non-printable bytes are escaped.
std::string RowToString(const SqlRow& row);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_TABLE_COMPARE_H_
