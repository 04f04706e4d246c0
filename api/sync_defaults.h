// Settings a one-shot sync (`sluice sync`, POST /syncs) changes from a connector's defaults,
// each only where the config leaves its key out.
//
// Thread-safety: a pure function over the config it is given.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace sluice::api {

// A PostgreSQL source into a PostgreSQL sink reads its snapshot on one connection
// (snapshot.max.threads=1), each table with one plain COPY TO. The target loads through the
// sink's one session, one COPY backend, which is the sync's bottleneck: one source reader keeps
// ahead of it, and a second one (ctid-range COPY (SELECT …) on both, and a second decoding
// thread in Sluice) only takes CPU from it on a small machine. Returns the "key=value" settings
// it made, for the log; none when the user set them.
std::vector<std::string> ApplySyncDefaults(core::ConnectorConfig& config);

}  // namespace sluice::api
