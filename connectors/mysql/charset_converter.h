// CharsetConverter: turns text in a MySQL/MariaDB character set other than utf8/latin1 (cp1251,
// gbk, big5, sjis, koi8r, latin2, utf16, …) into UTF-8 with glibc's iconv. The binlog carries
// CHAR/VARCHAR/TEXT values (and the TABLE_MAP's ENUM/SET labels) in their column's character
// set; the snapshot reads such columns as their raw bytes too (the server's own conversion
// would turn bytes invalid in the set into '?' silently) and converts them here.
//
// Converters are shared per character set (ConverterForCharset caches them for the process).
// Thread-safety: Append may be called from any thread (an iconv handle is stateful, so each
// call holds the converter's mutex; pure-ASCII values in ASCII-compatible sets skip it).
#pragma once

#include <iconv.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::mysql {

class CharsetConverter {
 public:
  CharsetConverter(std::string charset, iconv_t cd, bool ascii_compatible);
  ~CharsetConverter();
  CharsetConverter(const CharsetConverter&) = delete;
  CharsetConverter& operator=(const CharsetConverter&) = delete;

  // Appends `bytes` converted to UTF-8; false (and `out` unchanged) for an invalid or
  // incomplete byte sequence.
  bool Append(std::string& out, std::string_view bytes) const;
  const std::string& charset() const { return charset_; }
  // True when bytes below 0x80 are ASCII in this set (every set but UCS-2/UTF-16/UTF-32):
  // pure-ASCII values then need no conversion.
  bool ascii_compatible() const { return ascii_compatible_; }

 private:
  std::string charset_;
  iconv_t cd_;
  bool ascii_compatible_;
  mutable std::mutex mu_;
};

// The converter for MySQL character set `name` (e.g. "cp1251"); kInvalidArgument naming the
// set when iconv cannot convert it. Not for utf8/utf8mb3/utf8mb4/ascii/latin1/binary, which
// need no converter (mysql_types.h CharsetKind).
core::Result<std::shared_ptr<const CharsetConverter>> ConverterForCharset(std::string_view name);

// The character set of a collation id (TABLE_MAP charset metadata) among the sets above;
// empty when unknown. MariaDB's NO PAD collations (id + 1024) map like their base.
std::string_view CharsetNameForCollationId(uint32_t collation_id);

}  // namespace sluice::mysql
