#include "connectors/kafka/client/kafka_client.h"

namespace sluice::kafka::client {

std::string ClientId(std::string_view connector_name) {
  return "sluice-" + std::string(connector_name);
}

core::Result<KafkaConf> MakeConf(const std::map<std::string, std::string>& settings,
                                 const std::string& key_prefix) {
  KafkaConf conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      return core::InvalidArgumentError(key_prefix + key + ": " + err);
    }
  }
  return conf;
}

namespace {
std::string WithHint(std::string msg, const std::string& hint) {
  if (!hint.empty()) msg += "; " + hint;
  return msg;
}
}  // namespace

core::Status MapError(rd_kafka_resp_err_t err, const std::string& what, const std::string& detail,
                      const ErrorHints& hints) {
  std::string msg = what + ": " + rd_kafka_err2str(err);
  if (!detail.empty() && detail != rd_kafka_err2str(err)) msg += " (" + detail + ")";
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return core::UnavailableError(msg);
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
      return core::UnauthenticatedError(WithHint(msg, hints.authentication));
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
      return core::PermissionDeniedError(WithHint(msg, hints.authorization));
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
      return core::FailedPreconditionError(
          msg + "; another producer uses the same sink.kafka.transactional.id: stop it");
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
      // The idempotent producer cannot continue with this handle: the sink recreates it.
      return core::AbortedError(msg);
    default:
      return core::Status(hints.otherwise, msg);
  }
}

core::Status MapError(rd_kafka_error_t* error, const std::string& what, const ErrorHints& hints) {
  rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  std::string detail = rd_kafka_error_string(error);
  bool retriable = rd_kafka_error_is_retriable(error);
  bool abortable = rd_kafka_error_txn_requires_abort(error);
  rd_kafka_error_destroy(error);
  core::Status s = MapError(code, what, detail, hints);
  if ((retriable || abortable) && s.code() == hints.otherwise) {
    return core::AbortedError(s.message());
  }
  return s;
}

}  // namespace sluice::kafka::client
