#include "connectors/postgres/pgoutput_decoder.h"

#include <cstdio>
#include <cstring>

#include "core/text_codec.h"

namespace sluice::pg {
namespace {

// A bounds-checked big-endian reader over one message.
class Reader {
 public:
  Reader(std::string_view b, uint64_t lsn, const char* what) : b_(b), lsn_(lsn), what_(what) {}

  bool ok() const { return ok_; }
  size_t pos() const { return pos_; }
  bool AtEnd() const { return pos_ == b_.size(); }

  uint64_t Int(int bytes) {
    if (!Need(bytes)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += bytes;
    return v;
  }
  char Byte() { return static_cast<char>(Int(1)); }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  // A NUL-terminated string.
  void String(std::string& out) {
    if (!ok_) return;
    size_t end = b_.find('\0', pos_);
    if (end == std::string_view::npos) {
      Fail("unterminated string");
      return;
    }
    out.assign(b_.data() + pos_, end - pos_);
    pos_ = end + 1;
  }
  void Fail(const char* why) {
    if (ok_) {
      ok_ = false;
      why_ = why;
    }
  }
  core::Status Error() const {
    return core::DataLossError("pgoutput " + std::string(what_) + " at lsn " + LsnToString(lsn_) +
                               ", offset " + std::to_string(pos_) + " of " +
                               std::to_string(b_.size()) + " bytes: " + why_ +
                               " (malformed replication data)");
  }

 private:
  bool Need(size_t n) {
    if (!ok_) return false;
    if (b_.size() - pos_ < n) {
      Fail("message ends early");
      return false;
    }
    return true;
  }
  std::string_view b_;
  uint64_t lsn_;
  const char* what_;
  size_t pos_ = 0;
  bool ok_ = true;
  std::string why_;
};

void ReadTuple(Reader& r, std::vector<TupleValue>& out) {
  int n = static_cast<int>(r.Int(2));
  out.resize(r.ok() ? n : 0);
  for (int i = 0; i < n && r.ok(); ++i) {
    TupleValue& v = out[i];
    v.kind = r.Byte();
    v.data = {};
    switch (v.kind) {
      case 'n':
      case 'u':
        break;
      case 't':
      case 'b': {
        uint32_t len = static_cast<uint32_t>(r.Int(4));
        v.data = r.Bytes(len);
        break;
      }
      default:
        r.Fail("unknown tuple value kind");
    }
  }
}

const char* MessageName(char type) {
  switch (type) {
    case 'B': return "Begin";
    case 'C': return "Commit";
    case 'O': return "Origin";
    case 'R': return "Relation";
    case 'Y': return "Type";
    case 'I': return "Insert";
    case 'U': return "Update";
    case 'D': return "Delete";
    case 'T': return "Truncate";
    case 'M': return "Message";
    default: return "message";
  }
}

}  // namespace

std::string LsnToString(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

bool ParseLsn(std::string_view text, uint64_t& lsn) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) return false;
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    char c = text[i];
    int d = core::HexDigitValue(c);
    if (d < 0) return false;
    uint64_t& part = i < slash ? hi : lo;
    part = part * 16 + d;
    if (part > 0xffffffffu) return false;
  }
  lsn = hi << 32 | lo;
  return true;
}

core::Status DecodeCopyData(std::string_view bytes, CopyDataFrame& frame) {
  Reader r(bytes, 0, "copy data");
  frame.kind = r.Byte();
  frame.payload = {};
  frame.reply_requested = false;
  switch (frame.kind) {
    case 'w':  // XLogData: Byte1('w') Int64 start Int64 end Int64 clock, then the message
      frame.wal_start = r.Int(8);
      frame.wal_end = r.Int(8);
      frame.send_time_us = static_cast<int64_t>(r.Int(8));
      if (r.ok()) frame.payload = bytes.substr(r.pos());
      break;
    case 'k':  // Primary keepalive: Byte1('k') Int64 end Int64 clock Byte1 reply
      frame.wal_end = r.Int(8);
      frame.send_time_us = static_cast<int64_t>(r.Int(8));
      frame.reply_requested = r.Byte() != 0;
      break;
    default:
      r.Fail("unknown replication message kind");
  }
  if (!r.ok()) return r.Error();
  return core::Status::Ok();
}

std::string EncodeStandbyStatus(uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                                int64_t now_unix_us, bool reply_requested) {
  std::string out(34, '\0');
  out[0] = 'r';
  auto put = [&](size_t at, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
      out[at + (7 - i)] = static_cast<char>((v >> (i * 8)) & 0xff);
    }
  };
  put(1, write_lsn);
  put(9, flush_lsn);
  put(17, apply_lsn);
  put(25, static_cast<uint64_t>(now_unix_us - kPgEpochUnixMicros));
  out[33] = reply_requested ? 1 : 0;
  return out;
}

core::Status DecodePgoutput(std::string_view bytes, uint64_t lsn, PgoutputMessage& m) {
  char type = bytes.empty() ? 0 : bytes[0];
  Reader r(bytes, lsn, MessageName(type));
  m.type = r.Byte();
  switch (m.type) {
    case 'B':
      m.final_lsn = r.Int(8);
      m.commit_time_us = static_cast<int64_t>(r.Int(8));
      m.xid = static_cast<uint32_t>(r.Int(4));
      break;
    case 'C':
      r.Int(1);  // flags, unused
      m.commit_lsn = r.Int(8);
      m.end_lsn = r.Int(8);
      m.commit_time_us = static_cast<int64_t>(r.Int(8));
      break;
    case 'O':
      r.Int(8);
      r.String(m.relname);
      break;
    case 'R': {
      m.relid = static_cast<uint32_t>(r.Int(4));
      r.String(m.nspname);
      r.String(m.relname);
      m.replident = r.Byte();
      int n = static_cast<int>(r.Int(2));
      m.columns.resize(r.ok() ? n : 0);
      for (int i = 0; i < n && r.ok(); ++i) {
        RelationColumn& c = m.columns[i];
        c.key = (r.Int(1) & 1) != 0;
        r.String(c.name);
        c.type_oid = static_cast<uint32_t>(r.Int(4));
        c.typmod = static_cast<int32_t>(static_cast<uint32_t>(r.Int(4)));
      }
      break;
    }
    case 'Y':
      m.relid = static_cast<uint32_t>(r.Int(4));
      r.String(m.nspname);
      r.String(m.relname);
      break;
    case 'I': {
      m.relid = static_cast<uint32_t>(r.Int(4));
      m.old_kind = 0;
      m.old_tuple.clear();
      if (r.Byte() != 'N' && r.ok()) r.Fail("Insert without a new tuple");
      ReadTuple(r, m.new_tuple);
      m.has_new = true;
      break;
    }
    case 'U': {
      m.relid = static_cast<uint32_t>(r.Int(4));
      m.old_kind = 0;
      m.old_tuple.clear();
      char k = r.Byte();
      if (k == 'K' || k == 'O') {
        m.old_kind = k;
        ReadTuple(r, m.old_tuple);
        k = r.Byte();
      }
      if (k != 'N' && r.ok()) r.Fail("Update without a new tuple");
      ReadTuple(r, m.new_tuple);
      m.has_new = true;
      break;
    }
    case 'D': {
      m.relid = static_cast<uint32_t>(r.Int(4));
      char k = r.Byte();
      if (k != 'K' && k != 'O' && r.ok()) r.Fail("Delete without an old tuple");
      m.old_kind = k;
      ReadTuple(r, m.old_tuple);
      m.has_new = false;
      m.new_tuple.clear();
      break;
    }
    case 'T': {
      uint32_t n = static_cast<uint32_t>(r.Int(4));
      m.truncate_options = static_cast<uint8_t>(r.Int(1));
      if (r.ok() && n > (bytes.size() - r.pos()) / 4) {
        r.Fail("Truncate relation count exceeds the message");
        break;
      }
      m.relids.resize(r.ok() ? n : 0);
      for (uint32_t i = 0; i < n && r.ok(); ++i) m.relids[i] = static_cast<uint32_t>(r.Int(4));
      break;
    }
    case 'M': {
      // Message (proto 1, not streamed): Int8 flags (1: transactional), Int64 LSN, String
      // prefix, Int32 content length, Byte(n) content.
      uint8_t flags = static_cast<uint8_t>(r.Int(1));
      m.message_transactional = (flags & 1) != 0;
      m.message_lsn = r.Int(8);
      r.String(m.message_prefix);
      uint32_t len = static_cast<uint32_t>(r.Int(4));
      m.message_content = r.Bytes(len);
      break;
    }
    default:
      r.Fail("unknown message type");
  }
  if (!r.ok()) return r.Error();
  if (!r.AtEnd()) {
    r.Fail("trailing bytes");
    return r.Error();
  }
  return core::Status::Ok();
}

}  // namespace sluice::pg
