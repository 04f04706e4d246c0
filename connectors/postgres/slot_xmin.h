// Debezium's xmin.fetch.interval.ms for the PostgreSQL source: the replication slot's
// catalog_xmin (the oldest transaction whose catalog rows the slot still needs: where a new slot
// could start from), read at most once per interval and stamped on the transactions that begin
// after the reading as source.xmin (core::TxnInfo::xmin). Debezium reads it on its streaming
// thread as well; snapshot records keep xmin null, as Debezium's.
//
// A failed reading keeps the last value (null before the first) and logs a warning, at most one
// per interval: xmin is informational, and the stream does not stop for it.
//
// Thread-safety: one thread (the source thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connectors/postgres/pg_connection.h"
#include "core/periodic.h"
#include "core/status.h"

namespace spdlog {
class logger;
}

namespace sluice::pg {

class SlotXminFetcher {
 public:
  // One reading of catalog_xmin; 0 when the server reports NULL.
  using Fetch = std::function<core::Result<uint64_t>()>;

  SlotXminFetcher(std::chrono::milliseconds interval, Fetch fetch,
                  std::shared_ptr<spdlog::logger> logger);

  // The value for the transactions that begin now: read again first when `interval` has passed
  // since the last attempt (the first call always reads).
  uint64_t Current(std::chrono::steady_clock::time_point now);

 private:
  core::Periodic every_;
  Fetch fetch_;
  std::shared_ptr<spdlog::logger> logger_;
  uint64_t xmin_ = 0;
};

// Reads pg_replication_slots.catalog_xmin of `slot` on a regular connection of its own, opened
// on first use and again after a failure (statement_timeout 5 s).
SlotXminFetcher::Fetch CatalogXminQuery(ConnectionParams params, std::string slot);

}  // namespace sluice::pg
