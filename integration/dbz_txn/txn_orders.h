// What Debezium's transaction metadata promises of one transaction, whatever the source: the END
// record's event_count and data_collections against the transaction's data records, each
// record's data_collection_order 1..k per table in production order, and total_order 1..n.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace sluice::itest {

// `records`: the transaction's data records in production order per topic; `schema_key`: the
// source block's field that qualifies a table ("schema" for PostgreSQL, "db" for MySQL).
inline void ExpectTransactionOrders(const nlohmann::json& end,
                                    const std::vector<nlohmann::json>& records,
                                    const std::string& schema_key) {
  EXPECT_EQ(end["event_count"], records.size()) << end.dump();
  std::map<std::string, int64_t> per_table;
  std::vector<int64_t> totals;
  for (const nlohmann::json& v : records) {
    std::string table = v["source"][schema_key].get<std::string>() + "." +
                        v["source"]["table"].get<std::string>();
    EXPECT_EQ(v["transaction"]["data_collection_order"], ++per_table[table]) << v.dump();
    totals.push_back(v["transaction"]["total_order"]);
  }
  std::sort(totals.begin(), totals.end());
  for (size_t k = 0; k < totals.size(); ++k) EXPECT_EQ(totals[k], static_cast<int64_t>(k + 1));
  std::map<std::string, int64_t> listed;
  for (const auto& c : end["data_collections"]) listed[c["data_collection"]] = c["event_count"];
  EXPECT_EQ(listed, per_table) << end.dump();
}

}  // namespace sluice::itest
