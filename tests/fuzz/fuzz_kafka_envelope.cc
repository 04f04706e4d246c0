// libFuzzer target: the Kafka source's envelope decoder and type mapping
// (connectors/kafka/envelope_decoder.h, kafka_types.h).
//
// Input: records separated by the byte 0x1E; a record holding a NUL byte is "key NUL value",
// else it is a value with no key. All records go through one decoder (schemas are kept per
// table across records, as in a partition), then the batch is encoded as the file and Kafka
// sinks write it. Contract checked: a record decodes or fails with kInvalidArgument naming the
// record, never a crash, and memory stays bounded (libFuzzer's -rss_limit_mb / -malloc_limit_mb).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/kafka/envelope_decoder.h"
#include "fuzz_util.h"

namespace {

using namespace sluice;
using sluice::fuzz::Check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  kafka::EnvelopeDecoder decoder;
  core::EventBatch batch;
  int64_t offset = 0;
  size_t start = 0;
  while (start <= in.size()) {
    size_t end = in.find('\x1e', start);
    if (end == std::string_view::npos) end = in.size();
    std::string_view record_bytes = in.substr(start, end - start);
    start = end + 1;
    kafka::KafkaRecord record;
    record.topic = "fuzz.public.orders";
    record.offset = offset++;
    size_t nul = record_bytes.find('\0');
    std::string_view value = record_bytes;
    if (nul != std::string_view::npos) {
      record.key = record_bytes.data();
      record.key_len = nul;
      value = record_bytes.substr(nul + 1);
    }
    record.value = value.data();
    record.value_len = value.size();
    auto outcome = decoder.Decode(record, batch);
    if (!outcome.ok()) {
      Check(outcome.status().code() == core::StatusCode::kInvalidArgument,
            "kafka decode error is not kInvalidArgument", outcome.status().message());
      Check(outcome.status().message().find("fuzz.public.orders/0@") != std::string::npos,
            "kafka decode error does not name the record", outcome.status().message());
    }
  }
  sluice::fuzz::EncodeAsSinksDo(batch);
  return 0;
}
