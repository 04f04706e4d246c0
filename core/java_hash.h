// java.util.HashMap's iteration order, which Debezium's records inherit where it keeps a map
// (transaction metadata's data_collections, hstore pairs): a key's String.hashCode and its
// bucket in a table of a power-of-two capacity.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sluice::core {

// Java's String.hashCode of UTF-8 `text` (over its UTF-16 code units; a malformed byte counts as
// U+FFFD, as Java decodes it).
int32_t JavaStringHash(std::string_view text);

// java.util.HashMap's bucket of a key with hashCode `hash` in a table of `capacity` entries:
// (h ^ h >>> 16) & (capacity - 1).
inline uint32_t JavaHashMapBucket(int32_t hash, uint32_t capacity) {
  auto h = static_cast<uint32_t>(hash);
  return (h ^ (h >> 16)) & (capacity - 1);
}

// The order in which a java.util.HashMap<String, …> iterates `keys` put in this order (a repeated
// key keeps its first place and appears once): indexes into `keys`. Replays the map, its resizes
// and its tree bins (Java 8 to 21), so that the order is Java's for any keys.
std::vector<size_t> JavaHashMapOrder(const std::vector<std::string_view>& keys);

}  // namespace sluice::core
