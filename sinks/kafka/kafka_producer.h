// Producer: a thin RAII owner of a librdkafka producer handle (rd_kafka_t) for the Kafka sink,
// with the configuration helpers and status mapping the sink needs. It is the seam between the
// sink's logic and librdkafka.
//
// Lifecycle: Create() -> produce/poll/flush through handle() -> destructor (rd_kafka_destroy,
// which does not wait for undelivered messages: the sink flushes first).
// Thread-safety: librdkafka handles are thread-safe; the sink uses one from one thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>

#include "core/status.h"

namespace sluice::sinks::kafka_sink {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter>;

// Builds a librdkafka configuration from `settings` (librdkafka property names). An invalid
// property or value is kInvalidArgument naming `key_prefix` + the property.
core::Result<KafkaConf> MakeConf(const std::map<std::string, std::string>& settings,
                                 const std::string& key_prefix);

// Maps a librdkafka error code to a Status: retriable and transport errors -> kUnavailable,
// authentication -> kUnauthenticated, authorization -> kPermissionDenied, fencing and fatal
// producer errors -> kFailedPrecondition, the rest -> kInternal. `what` gives the context.
core::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what,
                        const std::string& detail = "");
// Same, from an rd_kafka_error_t (transactional API), which it destroys.
core::Status KafkaError(rd_kafka_error_t* error, const std::string& what);

}  // namespace sluice::sinks::kafka_sink
