#include "connectors/postgres/pg_names.h"

#include <cctype>
#include <cstdint>
#include <cstdio>

namespace sluice::pg {
namespace {

// NAMEDATALEN - 1: the longest slot or publication name PostgreSQL keeps.
constexpr size_t kMaxNameBytes = 63;

std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(l)) && static_cast<unsigned char>(l) < 0x80) ||
                   l == '_'
               ? l
               : '_';
  }
  return out;
}

// FNV-1a, 32 bits: stable across versions and platforms (std::hash is not), which matters
// because the result names objects on the server that must be found again after an upgrade.
uint32_t Fnv1a32(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return h;
}

std::string_view OrDefault(std::string_view connector) {
  return connector.empty() ? std::string_view("connector") : connector;
}

}  // namespace

std::string LegacyServerObjectName(std::string_view prefix, std::string_view connector) {
  std::string out = Sanitize(std::string(prefix) + std::string(OrDefault(connector)));
  if (out.size() > kMaxNameBytes) out.resize(kMaxNameBytes);
  return out;
}

std::string DeriveServerObjectName(std::string_view prefix, std::string_view connector) {
  connector = OrDefault(connector);
  std::string sanitized = Sanitize(connector);
  std::string plain = std::string(prefix) + sanitized;
  if (sanitized == connector && plain.size() <= kMaxNameBytes) return plain;
  // Altered or cut: two different names could now meet, so the exact name's hash tells them
  // apart. (A plain name that happens to end in the same 8 hex digits is caught by the
  // supervisor's check that no two connectors share a slot or publication.)
  char hash[10];
  std::snprintf(hash, sizeof hash, "_%08x", Fnv1a32(connector));
  const size_t room = kMaxNameBytes - (sizeof hash - 1);
  if (plain.size() > room) plain.resize(room);
  return plain + hash;
}

ServerObjectNames ResolveServerObjectNames(const core::ConnectorConfig& config,
                                           const std::string& stored_slot) {
  ServerObjectNames names;
  const std::string& connector = config.name();
  names.slot_configured = !config.Get("slot.name").empty();
  names.publication_configured = !config.Get("publication.name").empty();
  names.slot = names.slot_configured ? config.Get("slot.name")
                                     : DeriveServerObjectName("sluice_", connector);
  names.publication = names.publication_configured
                          ? config.Get("publication.name")
                          : DeriveServerObjectName("sluice_pub_", connector);
  if (!names.slot_configured && !stored_slot.empty() && stored_slot != names.slot) {
    // The committed position was taken on another slot (made by an earlier version): keep
    // streaming from it rather than starting over on a new slot.
    names.slot = stored_slot;
    if (!names.publication_configured &&
        stored_slot == LegacyServerObjectName("sluice_", connector)) {
      // pgoutput reads the publication through the historic catalog: a publication created
      // after the slot's position would not be found for the changes before it. Keep the
      // publication made together with the old slot.
      names.publication = LegacyServerObjectName("sluice_pub_", connector);
    }
  }
  return names;
}

}  // namespace sluice::pg
