// Debezium's column hashing (column.mask.hash.*) and truncation (column.truncate.to.*) on one
// value, byte for byte: the digest of salt + the value's bytes as lowercase hex, and a prefix
// counted in UTF-16 code units as Java's String.substring counts.
//
// Thread-safety: ColumnHasher is used by one thread at a time; the functions are pure.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::core {

// The Java MessageDigest names accepted, for messages.
inline constexpr std::string_view kSupportedJavaDigests =
    "MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256, SHA3-224, "
    "SHA3-256, SHA3-384, SHA3-512";

// OpenSSL's name of the digest Java calls `java_name` (case-insensitive, as Java's lookup), or
// nullopt when it is not supported.
std::optional<std::string> DigestNameForJava(std::string_view java_name);

// The bytes Java's ObjectOutputStream writes for one String (stream header, TC_STRING or
// TC_LONGSTRING, length, modified UTF-8): what Debezium's v1 strategy hashes, written to `out`
// (cleared first; its capacity is reused). kInvalidArgument when `utf8` is not valid UTF-8.
Status JavaSerializedString(std::string_view utf8, std::string& out);

// The longest prefix of `utf8` holding at most `units` UTF-16 code units; nullopt when the cut
// would fall between the two halves of a surrogate pair. Invalid UTF-8 bytes count one unit each.
std::optional<std::string_view> Utf16Prefix(std::string_view utf8, size_t units);

// Reuses one digest context and one output buffer for every value.
class ColumnHasher {
 public:
  ColumnHasher();
  ~ColumnHasher();
  ColumnHasher(const ColumnHasher&) = delete;
  ColumnHasher& operator=(const ColumnHasher&) = delete;

  // Hex digest of salt + (v2 ? the UTF-8 bytes : JavaSerializedString(value)); valid until the
  // next call. kInvalidArgument for an unknown digest or invalid UTF-8 (v1).
  Result<std::string_view> Hash(const std::string& digest, std::string_view salt, bool v2,
                                std::string_view value);

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
  std::string serialized_;
  std::string hex_;
};

}  // namespace sluice::core
