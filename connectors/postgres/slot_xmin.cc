#include "connectors/postgres/slot_xmin.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "core/parse_number.h"

namespace sluice::pg {

SlotXminFetcher::SlotXminFetcher(std::chrono::milliseconds interval, Fetch fetch,
                                 std::shared_ptr<spdlog::logger> logger)
    : every_(interval), fetch_(std::move(fetch)), logger_(std::move(logger)) {}

uint64_t SlotXminFetcher::Current(std::chrono::steady_clock::time_point now) {
  if (!every_.Due(now)) return xmin_;
  core::Result<uint64_t> read = fetch_();
  if (read.ok()) {
    xmin_ = *read;
  } else if (logger_) {
    logger_->warn("postgres: reading the replication slot's catalog_xmin for source.xmin "
                  "(xmin.fetch.interval.ms) failed, keeping {}: {}",
                  xmin_ != 0 ? std::to_string(xmin_) : std::string("null"),
                  read.status().ToString());
  }
  return xmin_;
}

SlotXminFetcher::Fetch CatalogXminQuery(ConnectionParams params, std::string slot) {
  auto conn = std::make_shared<PgConnection>();
  return [conn, params = std::move(params), slot = std::move(slot)]() -> core::Result<uint64_t> {
    if (!conn->connected()) {
      SLUICE_RETURN_IF_ERROR(conn->Connect(params, /*replication=*/false));
      if (core::Status s = conn->Exec("SET statement_timeout = 5000"); !s.ok()) {
        conn->Close();
        return s;
      }
    }
    auto rows = conn->Query("SELECT catalog_xmin::text FROM pg_replication_slots WHERE "
                            "slot_name = " + QuoteLiteral(slot));
    if (!rows.ok()) {
      conn->Close();  // reconnect at the next reading
      return rows.status();
    }
    if (rows->empty()) {
      return core::FailedPreconditionError("replication slot '" + slot + "' does not exist");
    }
    const auto& value = rows->front().front();
    if (!value) return uint64_t{0};
    return core::ParseNumber<uint64_t>(*value, "pg_replication_slots.catalog_xmin of " + slot);
  };
}

}  // namespace sluice::pg
