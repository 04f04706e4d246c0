// The value half of the binlog decoder: the bounds-checked byte reader over an event body (with
// the malformed-event error and the bitmap test every event decoder shares) and DecodeValue,
// which turns one column value of a ROWS event into its canonical text (MySQL docs, "Rows_event"
// value formats). Pure functions over bytes, no client library. binlog_decoder.cc (event
// framing, ROWS, QUERY, ROTATE, GTID, XID) and binlog_table_map.cc (TABLE_MAP, the schema and the
// rows plan built from it) use them.
//
// Thread-safety: pure functions; a BinlogReader is one thread's cursor over bytes it does not own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/mysql/binlog_decoder.h"

namespace sluice::mysql {

// Bounds-checked little-endian reader over one event body.
class BinlogReader {
 public:
  explicit BinlogReader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

  bool U8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool Fixed(size_t n, uint64_t& v) {
    if (remaining() < n || n > 8) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (remaining() < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Skip(size_t n) {
    if (remaining() < n) return false;
    pos_ += n;
    return true;
  }
  // Length-encoded integer (MySQL protocol "int<lenenc>").
  bool LenEnc(uint64_t& v) {
    uint8_t first;
    if (!U8(first)) return false;
    if (first < 0xFB) {
      v = first;
      return true;
    }
    if (first == 0xFC) return Fixed(2, v);
    if (first == 0xFD) return Fixed(3, v);
    if (first == 0xFE) return Fixed(8, v);
    return false;  // 0xFB (NULL) and 0xFF are not valid here
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// The error for bytes an event cannot hold: kDataLoss naming the position and what is wrong.
core::Status MalformedEvent(const BinlogLocation& at, std::string_view what);

// Bit `i` of a binlog bitmap (column presence, NULLs; least significant bit first).
inline bool BitSet(std::string_view bitmap, size_t i) {
  return (static_cast<uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}

// Result of decoding one value: appended to `out`; a zero date (or a date with a zero month
// or day), also appended to `out` as the server prints it ("0000-00-00 00:00:00") for the
// caller to refuse or make NULL (ZeroDateMode); malformed; or text whose bytes are not valid in
// the column's character set.
enum class ValueResult { kOk, kZeroDate, kBad, kBadText };

// Decodes one value of column `c` from `r` into `out` (appended). Never reads past the reader's
// bytes: a short or inconsistent value is kBad, text invalid in its character set kBadText.
ValueResult DecodeValue(BinlogReader& r, const ColumnPlan& c, std::string& out);

}  // namespace sluice::mysql
