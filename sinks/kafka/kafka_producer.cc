#include "sinks/kafka/kafka_producer.h"

namespace sluice::sinks::kafka_sink {

namespace {
const kafka::client::ErrorHints& SinkHints() {
  static const kafka::client::ErrorHints hints{"check the sink.kafka.sasl.* settings",
                                               "grant the producer the needed ACLs",
                                               core::StatusCode::kInternal};
  return hints;
}
}  // namespace

core::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what,
                        const std::string& detail) {
  return kafka::client::MapError(err, what, detail, SinkHints());
}

core::Status KafkaError(rd_kafka_error_t* error, const std::string& what) {
  return kafka::client::MapError(error, what, SinkHints());
}

}  // namespace sluice::sinks::kafka_sink
