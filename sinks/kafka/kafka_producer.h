// Producer side of the Kafka client layer (connectors/kafka/client) for the Kafka sink: its
// handles, configuration and error mapping, with the hints that name the sink's settings.
//
// Lifecycle: MakeConf() -> rd_kafka_new -> produce/poll/flush through the handle -> destructor
// (rd_kafka_destroy, which does not wait for undelivered messages: the sink flushes first).
// Thread-safety: librdkafka handles are thread-safe; the sink uses one from one thread.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>

#include "connectors/kafka/client/kafka_client.h"
#include "core/status.h"

namespace sluice::sinks::kafka_sink {

using kafka::client::KafkaConf;
using kafka::client::KafkaHandle;
using kafka::client::KafkaTopic;
using kafka::client::MakeConf;

// The shared error map (kafka::client::MapError) with the sink's hints: authentication points
// at sink.kafka.sasl.*, authorization at the producer's ACLs; an unlisted error is kInternal.
core::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what,
                        const std::string& detail = "");
// Same, from an rd_kafka_error_t (transactional API), which it destroys.
core::Status KafkaError(rd_kafka_error_t* error, const std::string& what);

}  // namespace sluice::sinks::kafka_sink
