#include "core/incremental_snapshot.h"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace sluice::core {
namespace {

constexpr size_t kFinishedKept = 50;

bool IsActive(const IncrementalTableProgress& p) {
  return p.state == "PENDING" || p.state == "RUNNING";
}

nlohmann::json KeyJson(const KeyText& key) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : key) out.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  return out;
}

constexpr const char* kRequestShape =
    "; send {\"tables\": [\"schema.table\", …], \"filter\": \"<SQL condition>\" or "
    "{\"schema.table\": \"<SQL condition>\"}}";

}  // namespace

int64_t IncrementalTableProgress::EtaMs(int64_t now_unix_ms) const {
  if (state != "RUNNING" || started_unix_ms == 0 || rows == 0 || estimated_rows == 0) return -1;
  if (rows >= estimated_rows) return 0;
  double elapsed = static_cast<double>(now_unix_ms - started_unix_ms);
  return static_cast<int64_t>(elapsed / static_cast<double>(rows) *
                              static_cast<double>(estimated_rows - rows));
}

Result<IncrementalSnapshotRequest> ParseIncrementalSnapshotRequest(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError(std::string("the body is not a JSON object") + kRequestShape);
  }
  IncrementalSnapshotRequest out;
  const char* tables_key = j.contains("tables") ? "tables" : "data-collections";
  if (!j.contains(tables_key) || !j[tables_key].is_array() || j[tables_key].empty()) {
    return InvalidArgumentError(std::string("\"tables\" must be a non-empty array") + kRequestShape);
  }
  for (const auto& t : j[tables_key]) {
    if (!t.is_string() || t.get<std::string>().empty()) {
      return InvalidArgumentError(std::string("every entry of \"tables\" must be a table name") +
                                  kRequestShape);
    }
    std::string name = t.get<std::string>();
    if (std::find(out.tables.begin(), out.tables.end(), name) != out.tables.end()) {
      return InvalidArgumentError("table " + name + " is listed twice");
    }
    out.tables.push_back(std::move(name));
  }
  if (j.contains("type") && (!j["type"].is_string() || (j["type"] != "incremental" &&
                                                          j["type"] != "INCREMENTAL"))) {
    return InvalidArgumentError("only incremental snapshots can be requested (\"type\": "
                                "\"incremental\")");
  }
  auto set_filter = [&](const std::string& table, const nlohmann::json& f) -> Status {
    if (!f.is_string()) return InvalidArgumentError("the filter of " + table + " must be a string");
    if (std::find(out.tables.begin(), out.tables.end(), table) == out.tables.end()) {
      return InvalidArgumentError("a filter names table " + table + ", which is not in \"tables\"");
    }
    if (!f.get<std::string>().empty()) out.filters[table] = f.get<std::string>();
    return Status::Ok();
  };
  if (j.contains("filter") && !j["filter"].is_null()) {
    const auto& f = j["filter"];
    if (f.is_string()) {
      for (const auto& t : out.tables) SLUICE_RETURN_IF_ERROR(set_filter(t, f));
    } else if (f.is_object()) {
      for (const auto& [table, cond] : f.items()) SLUICE_RETURN_IF_ERROR(set_filter(table, cond));
    } else {
      return InvalidArgumentError(std::string("\"filter\" must be a string or an object") +
                                  kRequestShape);
    }
  }
  if (j.contains("additional-conditions")) {
    const auto& conds = j["additional-conditions"];
    if (!conds.is_array()) return InvalidArgumentError("\"additional-conditions\" must be an array");
    for (const auto& c : conds) {
      if (!c.is_object() || !c.contains("data-collection") || !c["data-collection"].is_string() ||
          !c.contains("filter")) {
        return InvalidArgumentError("each additional condition needs \"data-collection\" and "
                                    "\"filter\"");
      }
      SLUICE_RETURN_IF_ERROR(set_filter(c["data-collection"].get<std::string>(), c["filter"]));
    }
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "tables" && key != "data-collections" && key != "filter" && key != "type" &&
        key != "additional-conditions") {
      return InvalidArgumentError("unknown field \"" + key + "\"" + kRequestShape);
    }
  }
  return out;
}

Status IncrementalSnapshots::Request(const IncrementalSnapshotRequest& request) {
  if (request.tables.empty()) return InvalidArgumentError("no table to snapshot");
  std::vector<IncrementalTableProgress> checked;
  for (const auto& table : request.tables) {
    auto f = request.filters.find(table);
    std::string filter = f == request.filters.end() ? "" : f->second;
    SLUICE_ASSIGN_OR_RETURN(IncrementalTableInfo info, checker_(table, filter));
    IncrementalTableProgress p;
    p.table = info.table;
    p.filter = filter;
    p.state = "PENDING";
    p.estimated_rows = info.estimated_rows;
    p.consistency = info.consistency;
    p.requested_unix_ms = NowUnixMs();
    checked.push_back(std::move(p));
  }
  std::lock_guard lock(mu_);
  for (const auto& p : checked) {
    for (const auto& e : entries_) {
      if (e.progress.table == p.table && IsActive(e.progress)) {
        return AlreadyExistsError("table " + p.table + " is already being snapshotted; cancel it "
                                  "first (DELETE /connectors/{name}/snapshots/" + p.table + ")");
      }
    }
  }
  // Finished entries of the same tables make room for the new ones.
  std::erase_if(entries_, [&](const Entry& e) {
    return std::any_of(checked.begin(), checked.end(),
                       [&](const auto& p) { return p.table == e.progress.table; });
  });
  for (auto& p : checked) entries_.push_back({next_id_++, std::move(p)});
  return Status::Ok();
}

std::vector<IncrementalTableProgress> IncrementalSnapshots::Progress() const {
  std::lock_guard lock(mu_);
  std::vector<IncrementalTableProgress> out;
  for (const auto& e : entries_) out.push_back(e.progress);
  return out;
}

Status IncrementalSnapshots::Cancel(const std::string& table) {
  std::lock_guard lock(mu_);
  bool any = false;
  for (auto& e : entries_) {
    if (!IsActive(e.progress) || (!table.empty() && e.progress.table != table)) continue;
    e.progress.state = "CANCELLED";
    e.progress.finished_unix_ms = NowUnixMs();
    any = true;
  }
  if (!any) {
    return NotFoundError(table.empty() ? std::string("no incremental snapshot is running")
                                       : "no incremental snapshot of " + table + " is running");
  }
  TrimFinishedLocked();
  return Status::Ok();
}

std::optional<IncrementalSnapshots::Task> IncrementalSnapshots::Next() {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (!IsActive(e.progress)) continue;
    if (e.progress.state == "PENDING") {
      e.progress.state = "RUNNING";
      if (e.progress.started_unix_ms == 0) e.progress.started_unix_ms = NowUnixMs();
    }
    return Task{e.id, e.progress.table, e.progress.filter, e.progress.last_key};
  }
  return std::nullopt;
}

bool IncrementalSnapshots::Wanted(const Task& task) const {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    if (e.id == task.id) return IsActive(e.progress);
  }
  return false;
}

void IncrementalSnapshots::ChunkHandedOver(const Task& task, const KeyText& last_key, uint64_t rows,
                                           bool done, uint64_t dropped) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.id != task.id || !IsActive(e.progress)) continue;
    IncrementalTableProgress& p = e.progress;
    ++p.chunks;
    p.rows += rows;
    p.dropped_rows += dropped;
    if (!last_key.empty()) p.last_key = last_key;
    if (done) {
      p.state = "DONE";
      p.finished_unix_ms = NowUnixMs();
      TrimFinishedLocked();
    }
    return;
  }
}

void IncrementalSnapshots::Fail(const Task& task, const std::string& error) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.id != task.id || !IsActive(e.progress)) continue;
    e.progress.state = "FAILED";
    e.progress.error = error;
    e.progress.finished_unix_ms = NowUnixMs();
    TrimFinishedLocked();
    return;
  }
}

std::string IncrementalSnapshots::StateJson() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries_) {
    const IncrementalTableProgress& p = e.progress;
    if (!IsActive(p)) continue;
    nlohmann::json t = {{"table", p.table}, {"chunks", p.chunks}, {"rows", p.rows},
                        {"estimated_rows", p.estimated_rows},
                        {"requested_ms", p.requested_unix_ms}, {"started_ms", p.started_unix_ms}};
    if (!p.filter.empty()) t["filter"] = p.filter;
    if (!p.consistency.empty()) t["consistency"] = p.consistency;
    if (p.dropped_rows) t["dropped_rows"] = p.dropped_rows;
    if (!p.last_key.empty()) t["last_key"] = KeyJson(p.last_key);
    out.push_back(std::move(t));
  }
  return out.empty() ? std::string() : out.dump();
}

Status IncrementalSnapshots::Restore(std::string_view text) {
  std::vector<Entry> restored;
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_array()) return InvalidArgumentError("incremental snapshot state is not an array");
    for (const auto& t : j) {
      IncrementalTableProgress p;
      p.table = t.at("table").get<std::string>();
      p.filter = t.value("filter", "");
      p.chunks = t.value("chunks", uint64_t{0});
      p.rows = t.value("rows", uint64_t{0});
      p.estimated_rows = t.value("estimated_rows", uint64_t{0});
      p.consistency = t.value("consistency", "");
      p.dropped_rows = t.value("dropped_rows", uint64_t{0});
      p.requested_unix_ms = t.value("requested_ms", int64_t{0});
      p.started_unix_ms = t.value("started_ms", int64_t{0});
      p.state = p.started_unix_ms ? "RUNNING" : "PENDING";
      if (t.contains("last_key")) {
        for (const auto& v : t["last_key"]) {
          p.last_key.push_back(v.is_null() ? std::nullopt
                                           : std::optional<std::string>(v.get<std::string>()));
        }
      }
      restored.push_back({0, std::move(p)});
    }
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("incremental snapshot state is malformed: ") + e.what());
  }
  std::lock_guard lock(mu_);
  entries_.clear();
  for (auto& e : restored) {
    e.id = next_id_++;
    entries_.push_back(std::move(e));
  }
  return Status::Ok();
}

bool IncrementalSnapshots::Active() const {
  std::lock_guard lock(mu_);
  return std::any_of(entries_.begin(), entries_.end(),
                     [](const Entry& e) { return IsActive(e.progress); });
}

void IncrementalSnapshots::TrimFinishedLocked() {
  size_t finished = 0;
  for (const auto& e : entries_) finished += IsActive(e.progress) ? 0 : 1;
  while (finished > kFinishedKept) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [](const Entry& e) { return !IsActive(e.progress); });
    entries_.erase(it);
    --finished;
  }
}

std::string IncrementalPositionField(const IncrementalSnapshots& tracker,
                                     const ConnectorConfig& config,
                                     const std::vector<std::string>& filter_keys) {
  nlohmann::json field = nlohmann::json::object();
  nlohmann::json filter = nlohmann::json::object();
  for (const std::string& key : filter_keys) {
    if (config.Has(key)) filter[key] = config.Get(key);
  }
  field["filter"] = std::move(filter);
  std::string tables = tracker.StateJson();
  if (!tables.empty()) field["tables"] = nlohmann::json::parse(tables);
  return field.dump();
}

Status RestoreIncrementalPositionField(IncrementalSnapshots& tracker, const std::string& field,
                                       std::string_view source, spdlog::logger& logger) {
  if (field.empty()) return Status::Ok();
  nlohmann::json j = nlohmann::json::parse(field, nullptr, false);
  if (!j.is_object()) {
    return InvalidArgumentError(std::string(source) + " position: \"incremental\" is malformed: " +
                                field);
  }
  if (!j.contains("tables")) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(tracker.Restore(j["tables"].dump()));
  for (const auto& p : tracker.Progress()) {
    logger.info("{} incremental snapshot of {} resumes after {} chunks ({} rows)", source, p.table,
                p.chunks, p.rows);
  }
  return Status::Ok();
}

std::optional<std::map<std::string, std::string>> IncrementalFilterBefore(
    const std::string& field, const ConnectorConfig& config,
    const std::vector<std::string>& filter_keys) {
  nlohmann::json j = nlohmann::json::parse(field.empty() ? "{}" : field, nullptr, false);
  if (!j.is_object() || !j.contains("filter") || !j["filter"].is_object()) return std::nullopt;
  std::map<std::string, std::string> before;
  bool same = true;
  for (const std::string& key : filter_keys) {
    const auto& stored = j["filter"];
    if (stored.contains(key) && stored[key].is_string()) before[key] = stored[key].get<std::string>();
    std::string now = config.Has(key) ? config.Get(key) : "";
    std::string then = before.count(key) ? before[key] : "";
    same &= now == then;
  }
  if (same) return std::nullopt;
  return before;
}

void TakeSnapshotSignals(IncrementalSnapshots& tracker, const EventBatch& batch,
                         const TableId& table, spdlog::logger& logger, std::string_view source) {
  for (const ChangeEvent& e : batch.events()) {
    if (e.op != Op::kCreate || e.after == kNoRow || e.table->id != table) continue;
    const int type = e.table->FindColumn("type");
    const int data = e.table->FindColumn("data");
    if (type < 0 || data < 0) {
      logger.warn("{} signal table {} has no 'type' and 'data' columns; signals ignored", source,
                  table.ToString());
      return;
    }
    RowView row = batch.row(e.after);
    if (!row.is_present(type) || row.text(type) != "execute-snapshot") continue;
    std::string body = row.is_present(data) ? std::string(row.text(data)) : std::string();
    auto request = ParseIncrementalSnapshotRequest(body);
    Status st = request.ok() ? tracker.Request(*request) : request.status();
    if (st.ok()) {
      logger.info("{}: incremental snapshot requested by a signal in {}: {}", source,
                  table.ToString(), body);
    } else {
      logger.warn("{}: signal in {} refused: {} ({})", source, table.ToString(), st.message(),
                  body);
    }
  }
}

Result<std::optional<TableId>> SignalTableFromConfig(const ConnectorConfig& config,
                                                     std::string_view form) {
  const std::string signal = config.Get("signal.data.collection");
  if (signal.empty()) return std::optional<TableId>();
  size_t dot = signal.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == signal.size()) {
    return InvalidArgumentError("signal.data.collection '" + signal + "' must name a table as " +
                                std::string(form));
  }
  return std::optional<TableId>(TableId{signal.substr(0, dot), signal.substr(dot + 1)});
}

ConfigKey SignalTableConfigKey(std::string_view form) {
  return MakeConfigKey(
      "signal.data.collection", ConfigType::kString, "",
      "Debezium's signalling table (" + std::string(form) + " with columns id, type, data), "
      "captured by table.include.list: an inserted 'execute-snapshot' row starts an incremental "
      "snapshot, as POST /connectors/{name}/snapshots does; never required");
}

void RequestAddedTables(IncrementalSnapshots& tracker, const std::vector<TableId>& added,
                        spdlog::logger& logger, std::string_view source) {
  for (const TableId& t : added) {
    Status st = tracker.Request({{t.ToString()}, {}});
    if (st.ok()) {
      logger.info("{}: table {} was added to the captured tables: incremental snapshot requested",
                  source, t.ToString());
    } else {
      logger.warn("{}: table {} was added to the captured tables; it is streamed, but not "
                  "snapshotted: {}", source, t.ToString(), st.message());
    }
  }
}

void AppendChunkRows(EventBatch& batch, const EventBatch& rows, const TableSchemaPtr& schema,
                     const TxnInfo& info) {
  uint32_t txn = batch.AddTxn(info);
  const uint32_t n = rows.row_count();
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t row = batch.AppendValuesOf(rows.row(i));
    batch.AddEvent({Op::kRead, kNoRow, row, txn, schema});
  }
}

std::string ChunkTimings::Summary() const {
  using Ms = std::chrono::duration<double, std::milli>;
  const double n = static_cast<double>(std::max<uint64_t>(chunks, 1));
  const double read_ms = Ms(read).count();
  const double placement_ms = Ms(placement).count();
  const double between_ms = Ms(between).count();
  return fmt::format("{} chunks, read {:.0f} ms ({:.2f} ms each), placement wait {:.0f} ms "
                     "({:.2f} ms each), between chunks {:.0f} ms ({:.2f} ms each), {} read again",
                     chunks, read_ms, read_ms / n, placement_ms, placement_ms / n, between_ms,
                     between_ms / n, rereads);
}

bool ChunkPacer::ReadNow(size_t sink_backlog_events) {
  if (sink_backlog_events <= chunk_rows_) {
    deferred_since_.reset();
    return true;
  }
  const Clock::TimePoint now = clock_->Now();
  if (!deferred_since_) deferred_since_ = now;
  if (now - *deferred_since_ < kMaxDefer) return false;
  deferred_since_.reset();
  return true;
}

}  // namespace sluice::core
