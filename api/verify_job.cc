#include "api/verify_job.h"

#include "api/plugins.h"
#include "core/sink.h"

#include <algorithm>

#include "connectors/mysql/source_config.h"
#include "connectors/mysql/verify_side.h"
#include "connectors/postgres/verify_side.h"
#include "core/config_providers.h"
#include "core/parse_number.h"
#include "core/table_filter.h"
#include "sinks/mysql/mysql_client.h"
#include "sinks/mysql/mysql_sql.h"
#include "sinks/postgres/postgres_sql.h"

namespace sluice::api {

namespace {

struct Sides {
  std::unique_ptr<core::VerifySide> source;
  std::unique_ptr<core::VerifySide> target;
  std::vector<core::TableId> tables;
  // Source table -> target table, by the sink's naming rules.
  std::function<core::TableId(const core::TableId&)> target_name;
};

core::Result<Sides> BuildSides(const core::ConnectorConfig& c) {
  Sides sides;
  const std::string cls = core::CanonicalConnectorClass(c.Get("connector.class")).value_or("");
  SLUICE_ASSIGN_OR_RETURN(int64_t port_or_zero, c.GetInt("database.port", 0));
  if (cls == "postgres") {
    pg::ConnectionParams p;
    p.host = c.Get("database.hostname", "127.0.0.1");
    p.port = port_or_zero != 0 ? static_cast<int>(port_or_zero) : 5432;
    p.user = c.Get("database.user");
    p.password = c.Get("database.password");
    p.dbname = c.Get("database.dbname");
    p.sslmode = c.Get("database.sslmode");
    p.sslrootcert = c.Get("database.sslrootcert");
    p.sslcert = c.Get("database.sslcert");
    p.sslkey = c.Get("database.sslkey");
    p.sslpassword = c.Get("database.sslpassword");
    p.application_name = "sluice_verify";
    SLUICE_ASSIGN_OR_RETURN(core::TableFilter filter, core::TableFilter::FromConfig(c));
    auto side = std::make_unique<pg::PgVerifySide>(p, std::move(filter));
    SLUICE_RETURN_IF_ERROR(side->Connect().WithContext("verify: source"));
    SLUICE_ASSIGN_OR_RETURN(sides.tables, side->ListTables());
    sides.source = std::move(side);
  } else if (cls == "mysql") {
    mysql::ConnectionParams p;
    p.host = c.Get("database.hostname", "127.0.0.1");
    p.port = port_or_zero != 0 ? static_cast<int>(port_or_zero) : 3306;
    p.user = c.Get("database.user");
    p.password = c.Get("database.password");
    SLUICE_RETURN_IF_ERROR(mysql::ApplyTlsConfig(c, p));
    SLUICE_ASSIGN_OR_RETURN(mysql::CaptureFilter filter, mysql::CaptureFilter::FromConfig(c));
    auto side = std::make_unique<mysql::MysqlVerifySide>(p, std::move(filter));
    SLUICE_RETURN_IF_ERROR(side->Connect().WithContext("verify: source"));
    SLUICE_ASSIGN_OR_RETURN(sides.tables, side->ListTables());
    sides.source = std::move(side);
  } else {
    return core::InvalidArgumentError("verify needs a postgres or mysql source (connector.class is '" +
                                      c.Get("connector.class") + "')");
  }
  const std::string sink = c.Get("sink.type");
  const std::string format = c.Get("sink.table.name.format");
  if (sink == "postgres") {
    SLUICE_ASSIGN_OR_RETURN(pg::ConnectionParams p, pg::ParamsFromUrl(c.Get("sink.url")));
    auto side = std::make_unique<pg::PgVerifySide>(p, core::TableFilter());
    SLUICE_RETURN_IF_ERROR(side->Connect().WithContext("verify: target"));
    sides.target = std::move(side);
    sides.target_name = [format](const core::TableId& id) {
      auto name = sinks::pgsink::ResolveTargetName(format, id);
      return core::TableId{name.schema, name.table};
    };
  } else if (sink == "mysql") {
    SLUICE_ASSIGN_OR_RETURN(sinks::mysql_sink::MysqlUrl url,
                            sinks::mysql_sink::ParseMysqlUrl(c.Get("sink.url")));
    mysql::ConnectionParams p;
    p.host = url.host;
    p.port = url.port;
    p.user = url.user;
    p.password = url.password;
    p.connect_timeout_s = url.connect_timeout_s;
    SLUICE_ASSIGN_OR_RETURN(mysql::CaptureFilter all,
                            mysql::CaptureFilter::FromConfig(core::ConnectorConfig()));
    auto side = std::make_unique<mysql::MysqlVerifySide>(p, std::move(all));
    SLUICE_RETURN_IF_ERROR(side->Connect().WithContext("verify: target"));
    sides.target = std::move(side);
    const std::string database = url.database;
    sides.target_name = [format, database](const core::TableId& id) {
      return core::TableId{database, sinks::mysql_sink::TargetTableName(format, id)};
    };
  } else {
    return core::InvalidArgumentError("verify needs a postgres or mysql sink (sink.type is '" +
                                      sink + "')");
  }
  return sides;
}

// Repairs through the connector's own sink: its naming, type mapping and upsert/delete by key.
// Writes no source position (the batches carry no checkpoint), so the connector's committed
// position in the target is left as it is.
class SinkRepairer final : public core::VerifyRepairer {
 public:
  explicit SinkRepairer(std::unique_ptr<core::Sink> sink) : sink_(std::move(sink)) {}
  ~SinkRepairer() override {
    if (open_) sink_->Close();
  }
  core::Status Apply(const core::EventBatch& batch) override {
    if (!open_) {
      SLUICE_RETURN_IF_ERROR(sink_->Open());
      open_ = true;
    }
    SLUICE_RETURN_IF_ERROR(sink_->Write(batch));
    auto flushed = sink_->Flush();
    return flushed.ok() ? core::Status::Ok() : flushed.status();
  }

 private:
  std::unique_ptr<core::Sink> sink_;
  bool open_ = false;
};

}  // namespace

core::Result<VerifyRequest> ParseVerifyRequest(const nlohmann::json& body) {
  VerifyRequest r;
  if (body.is_null()) return r;
  if (!body.is_object()) return core::InvalidArgumentError("the request body must be a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key == "tables") {
      if (value.is_string()) {
        std::string list = value.get<std::string>();
        size_t start = 0;
        while (start <= list.size()) {
          size_t comma = list.find(',', start);
          std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          item.erase(0, item.find_first_not_of(" \t"));
          item.erase(item.find_last_not_of(" \t") + 1);
          if (!item.empty()) r.tables.push_back(item);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      } else if (value.is_array()) {
        for (const auto& t : value) {
          if (!t.is_string()) return core::InvalidArgumentError("\"tables\" must hold strings (\"schema.table\")");
          r.tables.push_back(t.get<std::string>());
        }
      } else {
        return core::InvalidArgumentError("\"tables\" must be a list of \"schema.table\" names");
      }
    } else if (key == "mode") {
      if (!value.is_string()) return core::InvalidArgumentError("\"mode\" must be count, checksum or rows");
      SLUICE_ASSIGN_OR_RETURN(r.mode, core::ParseVerifyMode(value.get<std::string>()));
    } else if (key == "rechecks") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 100) {
        return core::InvalidArgumentError("\"rechecks\" must be an integer from 0 to 100");
      }
      r.rechecks = value.get<int>();
    } else if (key == "recheck_delay_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 600000) {
        return core::InvalidArgumentError("\"recheck_delay_ms\" must be an integer from 0 to 600000");
      }
      r.recheck_delay_ms = value.get<int>();
    } else if (key == "repair") {
      if (!value.is_boolean()) return core::InvalidArgumentError("\"repair\" must be true or false");
      r.repair = value.get<bool>();
    } else if (key == "chunk_rows") {
      if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 10000000) {
        return core::InvalidArgumentError("\"chunk_rows\" must be an integer from 1 to 10000000");
      }
      r.chunk_rows = value.get<uint64_t>();
    } else {
      return core::InvalidArgumentError("unknown field \"" + key +
                                        "\" (known: tables, mode, rechecks, recheck_delay_ms, chunk_rows, repair)");
    }
  }
  return r;
}

VerifyJob::VerifyJob(core::ConnectorConfig config, VerifyRequest request,
                     core::MetricsRegistry* metrics)
    : config_(std::move(config)), request_(std::move(request)), metrics_(metrics) {}

core::Status VerifyJob::Run() {
  core::Status st;
  try {
    st = RunLocked();
  } catch (...) {
    st = core::ExceptionToStatus("verify", std::current_exception());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!st.ok()) {
    state_ = st.code() == core::StatusCode::kCancelled ? "cancelled" : "failed";
    error_ = st.message();
  } else {
    state_ = "done";
  }
  return st;
}

core::Status VerifyJob::RunLocked() {
  SLUICE_ASSIGN_OR_RETURN(core::ConnectorConfig config, core::ResolveConfigProviders(config_));
  SLUICE_ASSIGN_OR_RETURN(Sides sides, BuildSides(config));
  std::vector<core::TableId> tables;
  if (request_.tables.empty()) {
    tables = sides.tables;
  } else {
    for (const std::string& name : request_.tables) {
      auto it = std::find_if(sides.tables.begin(), sides.tables.end(),
                             [&](const core::TableId& id) { return id.ToString() == name; });
      if (it == sides.tables.end()) {
        return core::InvalidArgumentError("table \"" + name +
                                          "\" is not captured by this connector's source "
                                          "(name it as schema.table; for MySQL database.table)");
      }
      tables.push_back(*it);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : tables) {
      progress_.push_back({t.ToString(), sides.target_name(t).ToString()});
    }
  }
  const std::string connector = config.name().empty() ? "verify" : config.name();
  core::MetricsRegistry local_metrics;
  std::unique_ptr<SinkRepairer> repairer;
  if (request_.repair) {
    SLUICE_ASSIGN_OR_RETURN(BuiltConnector built,
                            BuildConnector(config, metrics_ ? metrics_ : &local_metrics, nullptr));
    repairer = std::make_unique<SinkRepairer>(std::move(built.sink));
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    core::VerifyOptions options;
    options.mode = request_.mode;
    options.rechecks = request_.rechecks;
    options.recheck_delay_ms = request_.recheck_delay_ms;
    options.chunk_rows = request_.chunk_rows;
    options.repairer = repairer.get();
    options.leaf_rows = std::max<uint64_t>(1, std::min<uint64_t>(1000, request_.chunk_rows / 8));
    options.cancel = &cancel_;
    options.progress = [this, i](uint64_t done, uint64_t total) {
      std::lock_guard<std::mutex> lock(mu_);
      progress_[i].rows_done = done;
      progress_[i].rows_total = total;
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      progress_[i].state = "running";
    }
    auto report = core::VerifyTable(*sides.source, *sides.target, tables[i],
                                    sides.target_name(tables[i]), options);
    std::lock_guard<std::mutex> lock(mu_);
    if (!report.ok()) {
      progress_[i].state = "failed";
      return report.status();
    }
    progress_[i].state = "done";
    if (metrics_ != nullptr) {
      metrics_->GetCounter("sluice_verify_rows_compared_total", "rows compared by verification",
                           {{"connector", connector}})
          .Increment(report->rows_compared);
      metrics_->GetGauge("sluice_verify_differences",
                         "rows that differ between source and target at the last verification",
                         {{"connector", connector}, {"table", tables[i].ToString()}})
          .Set(static_cast<double>(report->differences + report->problems.size()));
    }
    reports_.push_back(std::move(*report));
  }
  return core::Status::Ok();
}

bool VerifyJob::equal() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::all_of(reports_.begin(), reports_.end(),
                     [](const core::TableReport& r) { return r.equal(); });
}

namespace {

nlohmann::json DiffsJson(const std::vector<core::RowDiff>& list) {
  nlohmann::json diffs = nlohmann::json::array();
  for (const auto& d : list) {
    nlohmann::json j = {{"kind", std::string(core::DiffKindName(d.kind))}, {"key", d.key}};
    if (!d.columns.empty()) j["columns"] = d.columns;
    if (!d.detail.empty()) j["detail"] = d.detail;
    diffs.push_back(std::move(j));
  }
  return diffs;
}

}  // namespace

nlohmann::json TableReportJson(const core::TableReport& r) {
  nlohmann::json diffs = DiffsJson(r.diffs);
  return {{"source_rows", r.source_rows},   {"target_rows", r.target_rows},
          {"rows_compared", r.rows_compared}, {"ranges", r.ranges},
          {"ranges_differing", r.ranges_differing}, {"differences", r.differences},
          {"documented", r.documented},     {"repaired", r.repaired},
          {"repairs", DiffsJson(r.repairs)},
          {"diffs", std::move(diffs)},
          {"problems", r.problems},         {"equal", r.equal()}};
}

nlohmann::json VerifyJob::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json tables = nlohmann::json::array();
  bool all_equal = true;
  for (size_t i = 0; i < progress_.size(); ++i) {
    const TableProgress& p = progress_[i];
    nlohmann::json j = {{"table", p.table}, {"target", p.target}, {"state", p.state},
                        {"rows_done", p.rows_done}, {"rows_total", p.rows_total}};
    if (i < reports_.size()) {
      j.update(TableReportJson(reports_[i]));
      all_equal = all_equal && reports_[i].equal();
    }
    tables.push_back(std::move(j));
  }
  nlohmann::json out = {{"state", state_},
                        {"mode", std::string(core::VerifyModeName(request_.mode))},
                        {"tables", std::move(tables)}};
  if (state_ == "done") out["equal"] = all_equal;
  if (!error_.empty()) out["error"] = error_;
  return out;
}

}  // namespace sluice::api
