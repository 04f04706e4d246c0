// `sluice verify CONFIG.json`: compares the target of a connector config with its source.
#include <iostream>

#include "api/commands.h"
#include "api/plugins.h"
#include "api/stop_signals.h"
#include "api/verify_job.h"
#include "core/config.h"

namespace sluice::api {

int VerifyCommand(const VerifyOptions& options) {
  auto loaded = core::LoadConnectorConfigFile(options.config_path);
  if (!loaded.ok()) {
    std::cerr << "sluice verify: " << loaded.status().message() << "\n";
    return 2;
  }
  core::ConnectorConfig config = std::move(*loaded);
  if (config.name().empty()) config.set_name("verify");
  if (core::Status s = ValidateConfig(config); !s.ok()) {
    std::cerr << "sluice verify: " << options.config_path << ": " << s.message() << "\n";
    return 2;
  }
  nlohmann::json body = {{"mode", options.mode},
                         {"rechecks", options.rechecks},
                         {"chunk_rows", options.chunk_rows},
                         {"repair", options.repair}};
  if (!options.tables.empty()) body["tables"] = options.tables;
  auto request = ParseVerifyRequest(body);
  if (!request.ok()) {
    std::cerr << "sluice verify: " << request.status().message() << "\n";
    return 2;
  }
  BlockStopSignals();
  VerifyJob job(config, *request);
  std::optional<StopSignalWatcher> watcher;
  watcher.emplace([&job](int) { job.Cancel(); });
  core::Status st = job.Run();
  watcher.reset();
  if (options.json) std::cout << job.ToJson().dump(2) << "\n";
  if (!st.ok()) {
    std::cerr << "sluice verify: " << st.message() << "\n";
    return st.code() == core::StatusCode::kInvalidArgument ? 2 : 1;
  }
  if (!options.json) {
    for (const core::TableReport& r : job.reports()) {
      std::cout << r.source.ToString() << " -> " << r.target.ToString() << ": "
                << (r.equal() ? "equal" : "DIFFERENT") << " (source " << r.source_rows
                << " rows, target " << r.target_rows << " rows, " << r.rows_compared
                << " compared";
      if (r.repaired > 0) std::cout << ", " << r.repaired << " rows repaired";
      std::cout << ")\n";
      for (const std::string& p : r.problems) std::cout << "  " << p << "\n";
      auto print = [](const char* prefix, const core::RowDiff& d) {
        std::cout << "  " << prefix << core::DiffKindName(d.kind) << ": " << d.key;
        if (!d.columns.empty()) {
          std::cout << " columns";
          for (size_t i = 0; i < d.columns.size(); ++i) std::cout << (i ? ", " : " ") << d.columns[i];
        }
        if (!d.detail.empty()) std::cout << " (" << d.detail << ")";
        std::cout << "\n";
      };
      for (const core::RowDiff& d : r.repairs) print("repaired ", d);
      for (const core::RowDiff& d : r.diffs) print("", d);
      const uint64_t shown = r.diffs.size();
      if (r.differences + r.documented > shown) {
        std::cout << "  … and " << (r.differences + r.documented - shown) << " more\n";
      }
    }
    std::cout << (job.equal() ? "verify: the target equals the source\n"
                              : "verify: the target differs from the source\n");
  }
  return job.equal() ? 0 : 1;
}

}  // namespace sluice::api
