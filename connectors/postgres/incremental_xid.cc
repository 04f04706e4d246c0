#include "connectors/postgres/incremental_xid.h"

#include <algorithm>
#include <string>

#include "core/parse_number.h"

namespace sluice::pg {

core::Result<PgSnapshotXids> PgSnapshotXids::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return core::DataLossError("postgres pg_current_snapshot() value '" + std::string(text) +
                               "' is malformed: " + std::string(why));
  };
  size_t c1 = text.find(':');
  size_t c2 = c1 == std::string_view::npos ? c1 : text.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return bad("expected xmin:xmax:xip");
  PgSnapshotXids s;
  auto num = [&](std::string_view part, uint64_t& out) {
    auto r = core::ParseNumber<uint64_t>(part, "xid");
    if (!r.ok()) return false;
    out = *r;
    return true;
  };
  if (!num(text.substr(0, c1), s.xmin) || !num(text.substr(c1 + 1, c2 - c1 - 1), s.xmax)) {
    return bad("xmin or xmax is not a number");
  }
  if (s.xmin > s.xmax) return bad("xmin is past xmax");
  std::string_view rest = text.substr(c2 + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    uint64_t x = 0;
    if (!num(rest.substr(0, comma), x)) return bad("an in-progress xid is not a number");
    if (x < s.xmin || x >= s.xmax) return bad("an in-progress xid is outside [xmin, xmax)");
    s.xip.push_back(x);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(s.xip.begin(), s.xip.end());
  return s;
}

uint64_t PgSnapshotXids::Widen(uint32_t xid32) const {
  constexpr uint64_t kWrap = uint64_t{1} << 32;
  constexpr uint64_t kHalf = uint64_t{1} << 31;
  uint64_t full = (xmax & ~(kWrap - 1)) | xid32;
  if (full > xmax + kHalf && full >= kWrap) return full - kWrap;
  if (full + kHalf < xmax) return full + kWrap;
  return full;
}

bool PgSnapshotXids::Sees(uint32_t xid32) const {
  uint64_t x = Widen(xid32);
  if (x >= xmax) return false;
  if (x < xmin) return true;
  return !std::binary_search(xip.begin(), xip.end(), x);
}

}  // namespace sluice::pg
