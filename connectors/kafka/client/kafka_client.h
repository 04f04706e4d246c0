// The Kafka client layer shared by the Kafka source's consumer (connectors/kafka) and the Kafka
// sink's producer (sinks/kafka): RAII owners of librdkafka handles, building a librdkafka
// configuration from properties (bootstrap servers, security/SASL/SSL pass-through, client id),
// and the one map from librdkafka error codes to Status.
//
// Thread-safety: free functions, no shared state.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::kafka::client {

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
  void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, RdKafkaDeleter>;

// The client.id of a connector's clients: "sluice-<connector name>".
std::string ClientId(std::string_view connector_name);

// Builds a librdkafka configuration from `settings` (librdkafka property names, the user's
// pass-through properties such as security.protocol or sasl.* included). An invalid property
// or value is kInvalidArgument naming `key_prefix` + the property, the key the user wrote.
core::Result<KafkaConf> MakeConf(const std::map<std::string, std::string>& settings,
                                 const std::string& key_prefix);

// What an error tells the user to do, by side (the sink's producer, the source's consumer).
struct ErrorHints {
  std::string authentication;  // appended to authentication failures
  std::string authorization;   // appended to authorization failures
  // The code of an error the map does not list.
  core::StatusCode otherwise = core::StatusCode::kInternal;
};

// Maps a librdkafka error code to a Status: retriable and transport errors -> kUnavailable,
// authentication -> kUnauthenticated, authorization -> kPermissionDenied, fencing ->
// kFailedPrecondition, fatal idempotent-producer errors -> kAborted (the handle must be
// recreated), the rest -> hints.otherwise. The message is `what`: <librdkafka's text>
// (<detail> when it adds something).
core::Status MapError(rd_kafka_resp_err_t err, const std::string& what, const std::string& detail,
                      const ErrorHints& hints);
// Same, from an rd_kafka_error_t (transactional API), which it destroys; an unlisted error that
// librdkafka calls retriable or abortable is kAborted.
core::Status MapError(rd_kafka_error_t* error, const std::string& what, const ErrorHints& hints);

}  // namespace sluice::kafka::client
