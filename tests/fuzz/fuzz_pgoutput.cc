// libFuzzer target: the PostgreSQL replication stream decoder (connectors/postgres/
// pgoutput_decoder.h). The input is one CopyData message of the stream ('w' XLogData or 'k'
// keepalive) and, on its own, one pgoutput message; seeds are the messages captured in
// tests/testdata/pgoutput/basic.hex. Contract checked: decode, or fail with kDataLoss naming the
// LSN; every tuple value lies inside the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/postgres/pgoutput_decoder.h"
#include "fuzz_util.h"

namespace {

using sluice::fuzz::Check;
using namespace sluice;

void CheckMessage(std::string_view bytes, uint64_t lsn, pg::PgoutputMessage& m) {
  core::Status st = pg::DecodePgoutput(bytes, lsn, m);
  if (!st.ok()) {
    Check(st.code() == core::StatusCode::kDataLoss, "pgoutput error is not kDataLoss", st.message());
    Check(st.message().find(pg::LsnToString(lsn)) != std::string::npos, "pgoutput error without the LSN",
          st.message());
    return;
  }
  // The message struct is reused: only the fields of this message's type are current.
  const bool has_old = (m.type == 'U' || m.type == 'D') && m.old_kind != 0;
  const bool has_new = m.type == 'I' || (m.type == 'U' && m.has_new);
  for (const auto* tuple : {has_old ? &m.old_tuple : nullptr, has_new ? &m.new_tuple : nullptr}) {
    if (tuple == nullptr) continue;
    for (const pg::TupleValue& v : *tuple) {
      if (v.data.empty()) continue;
      Check(v.data.data() >= bytes.data() && v.data.data() + v.data.size() <= bytes.data() + bytes.size(),
            "tuple value outside the message");
    }
  }
  if (m.type == 'M' && !m.message_content.empty()) {
    Check(m.message_content.data() >= bytes.data() &&
              m.message_content.data() + m.message_content.size() <= bytes.data() + bytes.size(),
          "message content outside the message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  static pg::PgoutputMessage message;  // reused, as the stream reader does
  CheckMessage(bytes, 0x16B374D848, message);
  pg::CopyDataFrame frame;
  if (pg::DecodeCopyData(bytes, frame).ok() && frame.kind == 'w') {
    CheckMessage(frame.payload, frame.wal_start, message);
  }
  return 0;
}
