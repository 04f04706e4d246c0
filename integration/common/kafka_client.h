// Reading and writing the test broker's topics with kcat, run as a subprocess: an independent
// Kafka client that shares no code with Sluice.
#ifndef SLUICE_INTEGRATION_COMMON_KAFKA_CLIENT_H_
#define SLUICE_INTEGRATION_COMMON_KAFKA_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::itest {

struct KafkaMessage {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;
  std::optional<std::string> key;    // nullopt: no key
  std::optional<std::string> value;  // nullopt: null value (a tombstone)
  std::vector<std::pair<std::string, std::string>> headers;
};

// Every message now in `topic` (all partitions, from the beginning, until the end of each
// partition), ordered by partition, then offset. Uses `kcat -C -e -J` on
// SLUICE_TEST_KAFKA_BOOTSTRAP. A topic that does not exist yet is auto-created (4 partitions)
// and reads as empty. Throws HarnessError when kcat fails. Thread-safe.
std::vector<KafkaMessage> ConsumeTopic(std::string_view topic,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Polls ConsumeTopic until the topic holds at least `count` messages and returns them; throws
// HarnessError on timeout with the count seen last.
std::vector<KafkaMessage> WaitForMessages(std::string_view topic, size_t count,
                                          std::chrono::milliseconds timeout);

// Produces one message with `kcat -P` (the value is sent as one message, newlines included).
// partition -1 lets the partitioner choose. Throws HarnessError when kcat fails.
void ProduceMessage(std::string_view topic, std::optional<std::string> key, std::string_view value,
                    int32_t partition = -1);

// Creates `topic` with `partitions` partitions through sluice_mock_broker's control socket
// (SLUICE_TEST_KAFKA_CONTROL). Auto-created topics get 4 partitions (fixed by librdkafka 2.0.2);
// call this before anything touches the topic when a test needs another count.
void CreateKafkaTopic(std::string_view topic, int partitions);

// Parses kcat -J output, one JSON object per line; exposed for tests.
std::vector<KafkaMessage> ParseKcatJson(std::string_view output);

}  // namespace sluice::itest

#endif  // SLUICE_INTEGRATION_COMMON_KAFKA_CLIENT_H_
