// Names of the server objects a PostgreSQL connector uses: its replication slot and publication.
//
// Without slot.name / publication.name they are derived from the connector name:
// `sluice_<name>` and `sluice_pub_<name>`. PostgreSQL allows only [a-z0-9_] in slot names and 63
// bytes in both, so a name is lowercased, other characters become '_', and it is cut to fit.
// That alone made `orders-eu` and `orders_eu` share `sluice_orders_eu` (one connector took the
// other's slot and publication). So when sanitizing changed the name or cutting shortened it, a
// short hash of the exact connector name is appended: `sluice_orders_eu_1f0c7a2b`. A name that is
// already plain [a-z0-9_] and fits keeps the name it always had, so existing connectors keep
// their slots. A connector whose committed position names another slot (one made under the old
// derivation, before the hash) keeps that slot, and the publication derived the old way with it.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"

namespace sluice::pg {

// `prefix` + the connector name made safe for a slot or publication name (see above).
std::string DeriveServerObjectName(std::string_view prefix, std::string_view connector);
// The derivation before hashes were added (punctuation replaced, cut at 63 bytes): only to
// recognise slots made by earlier versions.
std::string LegacyServerObjectName(std::string_view prefix, std::string_view connector);

struct ServerObjectNames {
  std::string slot;
  std::string publication;
  bool slot_configured = false;         // slot.name was set
  bool publication_configured = false;  // publication.name was set
};

// The names this connector uses: the configured ones, else the slot its stored position names
// (`stored_slot`, empty when none) when that differs from the derived one, else derived.
ServerObjectNames ResolveServerObjectNames(const core::ConnectorConfig& config,
                                           const std::string& stored_slot);

}  // namespace sluice::pg
