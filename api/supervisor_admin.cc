// The Supervisor's administrative calls: offsets (read, reset, checked alteration) and the
// server objects of connectors (exclusive ones, released on delete). See supervisor.h.
#include <algorithm>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/supervisor.h"
#include "api/supervisor_entry.h"

namespace sluice::api {

SourceBuilder SourceBuilderFor(const ConnectorBuilder& builder) {
  if (!builder) return &BuildSource;
  return [builder](const core::ConnectorConfig& config, core::MetricsRegistry* metrics)
             -> core::Result<std::unique_ptr<core::Source>> {
    SLUICE_ASSIGN_OR_RETURN(BuiltConnector built, builder(config, metrics, nullptr));
    return std::move(built.source);
  };
}

std::string ReleaseConnectorObjects(const SourceBuilder& build, const core::ConnectorConfig& config,
                                    const std::optional<core::SourcePosition>& stored, bool drop) {
  const std::string& name = config.name();
  core::MetricsRegistry scratch;
  std::string report;
  try {
    auto source = build(config, &scratch);
    if (!source.ok()) {
      report = "nothing on the source server was dropped: its config cannot be read (" +
               source.status().message() + ")";
      spdlog::warn("connector {}: {}", name, report);
      return report;
    }
    auto released = (*source)->ReleaseServerObjects(stored, drop);
    if (!released.ok()) {
      report = released.status().message();
      spdlog::warn("connector {}: {}", name, report);
      return report;
    }
    report = *released;
  } catch (...) {
    report = core::ExceptionToStatus("releasing the source's server objects",
                                     std::current_exception())
                 .message();
    spdlog::warn("connector {}: {}", name, report);
    return report;
  }
  if (!report.empty()) spdlog::info("connector {}: {}", name, report);
  return report;
}

core::Result<std::optional<core::SourcePosition>> Supervisor::GetOffset(
    const std::string& name) const {
  if (Find(name) == nullptr) return core::NotFoundError("connector " + name + " not found");
  return store_->LoadPosition(name);
}

namespace {
core::Status RequireStopped(const std::string& name, const std::string& target, bool running) {
  if (target != kStopped) {
    return core::FailedPreconditionError("connector " + name + " is " + target +
                                         "; stop it first (PUT /connectors/" + name + "/stop)");
  }
  if (running) {
    // Transient (409 at the API): the pipeline is flushing its last batch.
    return core::UnavailableError("connector " + name + " is still stopping; retry in a moment");
  }
  return core::Status::Ok();
}
}  // namespace

core::Status Supervisor::ResetOffset(const std::string& name) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  std::lock_guard lock(e->mu);
  SLUICE_RETURN_IF_ERROR(RequireStopped(name, e->target_state, e->pipeline != nullptr));
  spdlog::info("connector {}: offsets reset", name);
  e->idle_watch.reset();  // nothing stored: nothing to watch
  return store_->ClearPosition(name);
}

core::Status Supervisor::AlterOffset(const std::string& name, const core::SourcePosition& position,
                                     bool force) {
  SLUICE_RETURN_IF_ERROR(CheckAccepting());
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  core::ConnectorConfig config;
  {
    std::lock_guard lock(e->mu);
    SLUICE_RETURN_IF_ERROR(RequireStopped(name, e->target_state, e->pipeline != nullptr));
    config = e->config;
  }
  // The check asks the source server: not under the entry's lock.
  SLUICE_ASSIGN_OR_RETURN(std::optional<core::SourcePosition> stored, store_->LoadPosition(name));
  {
    auto source = options_.source_builder(config, &admin_metrics_);
    if (!source.ok()) return source.status().WithContext("connector " + name);
    core::Status checked;
    try {
      checked = (*source)->CheckOffset(position, stored, force);
    } catch (...) {
      checked = core::ExceptionToStatus("checking the offset", std::current_exception());
    }
    if (!checked.ok()) return checked.WithContext("connector " + name + ": offset refused");
  }
  std::lock_guard lock(e->mu);
  SLUICE_RETURN_IF_ERROR(RequireStopped(name, e->target_state, e->pipeline != nullptr));
  spdlog::info("connector {}: offsets altered to {}{}", name, position.value,
               force ? " (forced)" : "");
  e->idle_watch.reset();  // rebuilt from the new position
  e->idle_watch_at = {};
  return store_->SavePosition(name, position);
}

core::Result<std::unique_ptr<core::Source>> Supervisor::AdminSource(const std::string& name) {
  std::shared_ptr<Entry> e = Find(name);
  if (e == nullptr) return core::NotFoundError("connector " + name + " not found");
  core::ConnectorConfig config;
  {
    std::lock_guard lock(e->mu);
    config = e->config;
  }
  auto source = options_.source_builder(config, &admin_metrics_);
  if (!source.ok()) return source.status().WithContext("connector " + name);
  return std::move(*source);
}

core::Result<nlohmann::json> Supervisor::ShowOffsets(const std::string& name) {
  if (Find(name) == nullptr) return core::NotFoundError("connector " + name + " not found");
  SLUICE_ASSIGN_OR_RETURN(std::optional<core::SourcePosition> stored, store_->LoadPosition(name));
  nlohmann::json offsets = nlohmann::json::array();
  if (!stored) return offsets;
  nlohmann::json partition = {{"server", name}};
  core::Result<nlohmann::json> offset = core::InternalError("not exported");
  try {
    auto source = AdminSource(name);
    if (source.ok()) {
      partition = (*source)->OffsetPartition(name);
      offset = (*source)->ExportOffset(*stored);
    } else {
      offset = source.status();
    }
  } catch (...) {
    return core::ExceptionToStatus("showing the offsets", std::current_exception())
        .WithContext("connector " + name);
  }
  if (!offset.ok()) {
    // A position this source cannot map (written by an older Sluice) is still shown, as text.
    spdlog::warn("connector {}: stored position shown as text: {}", name,
                 offset.status().message());
    offset = nlohmann::json{{"position", stored->value}};
  }
  offsets.push_back({{"partition", std::move(partition)}, {"offset", std::move(*offset)}});
  return offsets;
}

core::Status Supervisor::PatchOffsets(const std::string& name, const nlohmann::json& body) {
  const std::string shape =
      "the body must be {\"offsets\": [{\"partition\": {\"server\": …}, \"offset\": {…} | "
      "null}], \"force\": true|false}, the offset as GET /connectors/" + name +
      "/offsets shows it";
  if (!body.is_object()) return core::InvalidArgumentError(shape);
  bool force = false;
  for (const auto& [key, value] : body.items()) {
    if (key == "force") {
      if (!value.is_boolean()) return core::InvalidArgumentError("'force' must be true or false");
      force = value.get<bool>();
    } else if (key != "offsets") {
      return core::InvalidArgumentError("unknown key '" + key + "'; " + shape);
    }
  }
  if (!body.contains("offsets") || !body["offsets"].is_array() || body["offsets"].size() != 1 ||
      !body["offsets"][0].is_object()) {
    return core::InvalidArgumentError(
        "'offsets' must hold exactly one entry (a connector runs one task); " + shape);
  }
  const nlohmann::json& entry = body["offsets"][0];
  for (const auto& [key, value] : entry.items()) {
    if (key != "partition" && key != "offset") {
      return core::InvalidArgumentError("unknown key '" + key + "' in the offset entry; " + shape);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<core::Source> source, AdminSource(name));
  core::Result<core::SourcePosition> position = core::InternalError("no offset");
  try {
    // The partition is the source's ({"server": topic.prefix} for Debezium's shape); the
    // connector's name, which older Sluice versions showed, is accepted too.
    const nlohmann::json partition = source->OffsetPartition(name);
    const std::string server = partition.value("server", name);
    if (!entry.contains("partition") || !entry["partition"].is_object() ||
        entry["partition"].size() != 1 || !entry["partition"].contains("server") ||
        !entry["partition"]["server"].is_string()) {
      return core::InvalidArgumentError("the partition must be {\"server\": \"" + server + "\"}; " +
                                        shape);
    }
    const std::string given = entry["partition"]["server"].get<std::string>();
    if (given != server && given != name) {
      return core::InvalidArgumentError("the partition names server '" + given +
                                        "', not this connector's '" + server + "'");
    }
    if (!entry.contains("offset") || entry["offset"].is_null()) return ResetOffset(name);
    const nlohmann::json& offset = entry["offset"];
    // Sluice's own shape, {"position": "<text>"}, is taken from every source.
    if (offset.is_object() && offset.size() == 1 && offset.contains("position")) {
      if (!offset["position"].is_string() || offset["position"].get<std::string>().empty()) {
        return core::InvalidArgumentError("the offset's 'position' must be a non-empty string; " +
                                          shape);
      }
      position = core::SourcePosition{offset["position"].get<std::string>()};
    } else {
      position = source->ImportOffset(offset);
    }
  } catch (...) {
    return core::ExceptionToStatus("reading the offsets", std::current_exception())
        .WithContext("connector " + name);
  }
  if (!position.ok()) return position.status().WithContext("connector " + name + ": offset refused");
  return AlterOffset(name, *position, force);
}

std::vector<std::string> Supervisor::ExclusiveObjects(
    const core::ConnectorConfig& config, const std::optional<core::SourcePosition>& stored) {
  try {
    auto source = options_.source_builder(config, &admin_metrics_);
    if (!source.ok()) return {};  // the config's own errors are reported where it is used
    return (*source)->ExclusiveServerObjects(stored);
  } catch (...) {
    spdlog::warn("connector {}: {}", config.name(),
                 core::ExceptionToStatus("listing its server objects", std::current_exception())
                     .message());
    return {};
  }
}

core::Status Supervisor::CheckNoClashLocked(const std::string& name,
                                            const std::vector<std::string>& objects,
                                            bool only_older, int64_t created_unix_ms) const {
  for (const auto& [other_name, other] : entries_) {
    if (other_name == name || other->removed.load()) continue;
    if (only_older && (other->created_unix_ms > created_unix_ms ||
                       (other->created_unix_ms == created_unix_ms && other_name > name))) {
      continue;
    }
    for (const std::string& object : objects) {
      if (std::find(other->exclusive.begin(), other->exclusive.end(), object) !=
          other->exclusive.end()) {
        return core::InvalidArgumentError(
            "connector " + name + " would use the " + object + ", which connector " + other_name +
            " already uses; set a different slot.name / publication.name, or delete connector " +
            other_name + " first");
      }
    }
  }
  return core::Status::Ok();
}

}  // namespace sluice::api
