// libFuzzer target: PostgreSQL binary COPY decoding (connectors/postgres/pg_binary.h). The first
// input byte picks the column's binary kind, the rest is the field's bytes; the text produced
// then goes through the envelope encoder as the file and Kafka sinks write it. The whole input is
// also tried as the start of a COPY BINARY stream (the header parser).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "connectors/postgres/pg_binary.h"
#include "fuzz_util.h"

namespace {

using namespace sluice;
using sluice::fuzz::Check;

constexpr pg::BinaryKind kKinds[] = {
    pg::BinaryKind::kRaw,    pg::BinaryKind::kBytea,  pg::BinaryKind::kJsonb,   pg::BinaryKind::kBool,
    pg::BinaryKind::kInt2,   pg::BinaryKind::kInt4,   pg::BinaryKind::kInt8,    pg::BinaryKind::kOid,
    pg::BinaryKind::kFloat4, pg::BinaryKind::kFloat8, pg::BinaryKind::kNumeric, pg::BinaryKind::kDate,
    pg::BinaryKind::kTime,   pg::BinaryKind::kTimestamp, pg::BinaryKind::kTimestampTz, pg::BinaryKind::kUuid,
};
constexpr core::LogicalType kTypes[] = {
    core::LogicalType::kString, core::LogicalType::kBytes,   core::LogicalType::kJson,
    core::LogicalType::kBool,   core::LogicalType::kInt16,   core::LogicalType::kInt32,
    core::LogicalType::kInt64,  core::LogicalType::kInt64,   core::LogicalType::kFloat32,
    core::LogicalType::kFloat64, core::LogicalType::kDecimal, core::LogicalType::kDate,
    core::LogicalType::kTime,   core::LogicalType::kTimestamp, core::LogicalType::kTimestampTz,
    core::LogicalType::kUuid,
};
constexpr size_t kKindCount = sizeof(kKinds) / sizeof(kKinds[0]);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  int64_t header = pg::CopyBinaryHeaderLength(all);
  Check(header <= static_cast<int64_t>(size), "COPY header longer than the input");
  if (size == 0) return 0;
  size_t k = data[0] % kKindCount;
  std::string_view bytes = all.substr(1);

  char text[pg::kMaxBinaryText];
  int n = pg::FormatBinaryFixed(kKinds[k], bytes, text);
  Check(n <= static_cast<int>(pg::kMaxBinaryText), "FormatBinaryFixed wrote past kMaxBinaryText");

  auto schema = std::make_shared<core::TableSchema>();
  schema->id = {"public", "fuzz"};
  schema->columns.push_back(core::Column{"v", kTypes[k]});
  schema->key.push_back(0);
  core::EventBatch batch;
  uint32_t txn = batch.AddTxn({});
  uint32_t row = batch.BeginRow();
  if (!pg::AppendBinaryValue(batch, kKinds[k], bytes)) {
    batch.AbandonRow();
    return 0;
  }
  batch.EndRow();
  batch.AddEvent({core::Op::kCreate, core::kNoRow, row, txn, schema});
  sluice::fuzz::EncodeAsSinksDo(batch);
  return 0;
}
