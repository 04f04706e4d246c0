// The plugin table: which source connector classes and sink types exist, the config keys each
// accepts, and how to build them. The only place that knows every connector and sink.
//
// Thread-safety: immutable tables; functions are safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/pipeline.h"
#include "core/progress.h"
#include "core/sink.h"
#include "core/source.h"

namespace sluice::api {

using KeysFn = std::vector<core::ConfigKey> (*)();
using SourceFactory = core::Result<std::unique_ptr<core::Source>> (*)(const core::ConnectorContext&);
using SinkFactory = core::Result<std::unique_ptr<core::Sink>> (*)(const core::ConnectorContext&);

struct SourcePlugin {
  std::string connector_class;  // canonical: postgres, mysql, kafka
  std::string kafka_connect_class;  // the class name Kafka Connect clients see
  std::string version;
  KeysFn keys;
  SourceFactory make;
};

struct SinkPlugin {
  std::string type;  // file, postgres, mysql, kafka
  KeysFn keys;
  SinkFactory make;
  // Pipeline defaults this sink type changes (applied when the config leaves the key out).
  std::vector<std::pair<std::string, std::string>> pipeline_defaults = {};
};

const std::vector<SourcePlugin>& SourcePlugins();
const std::vector<SinkPlugin>& SinkPlugins();
const SourcePlugin* FindSourcePlugin(const std::string& connector_class);
const SinkPlugin* FindSinkPlugin(const std::string& type);

// Common keys + the keys of the config's source class and sink type (those that are known).
core::ConfigDef ConfigDefFor(const core::ConnectorConfig& config);

// Validates keys and values only (no connections). kInvalidArgument naming the key.
core::Status ValidateConfig(const core::ConnectorConfig& config);

// Everything needed to run one connector, built from a validated config.
struct BuiltConnector {
  std::unique_ptr<core::Source> source;
  std::unique_ptr<core::Sink> sink;
  core::PipelineOptions options;
};

// Resolves the config's ${env:…}/${file:…} references (core/config_providers.h), validates it
// and builds its source and sink (no connection is opened yet).
core::Result<BuiltConnector> BuildConnector(const core::ConnectorConfig& config,
                                            core::MetricsRegistry* metrics,
                                            core::ProgressTracker* progress);

// Builds only the source of a config (no connection is opened), for administrative calls on a
// connector that is not running (offset checks, cleanup on delete). `metrics` must outlive it.
core::Result<std::unique_ptr<core::Source>> BuildSource(const core::ConnectorConfig& config,
                                                       core::MetricsRegistry* metrics);

}  // namespace sluice::api
