// The Kafka client layer: configuration from properties, and the one error map the source and
// the sink share.
#include "connectors/kafka/client/kafka_client.h"

#include <gtest/gtest.h>

namespace sluice::kafka::client {
namespace {

const ErrorHints kHints{"check the x.sasl.* settings", "grant the client the needed ACLs",
                        core::StatusCode::kInternal};

TEST(KafkaClientTest, ClientIdNamesTheConnector) { EXPECT_EQ(ClientId("orders"), "sluice-orders"); }

TEST(KafkaClientTest, MakeConfPassesSecuritySettingsThrough) {
  auto conf = MakeConf({{"bootstrap.servers", "127.0.0.1:9092"},
                        {"security.protocol", "SASL_PLAINTEXT"},
                        {"sasl.mechanisms", "PLAIN"},
                        {"sasl.username", "u"},
                        {"sasl.password", "p"},
                        {"client.id", ClientId("c")}},
                       "kafka.consumer.");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  char value[64];
  size_t size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "security.protocol", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "sasl_plaintext");
  size = sizeof value;
  ASSERT_EQ(rd_kafka_conf_get(conf->get(), "client.id", value, &size), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(value, "sluice-c");
}

TEST(KafkaClientTest, MakeConfNamesTheKeyTheUserWrote) {
  auto bad_value = MakeConf({{"security.protocol", "carrier-pigeon"}}, "sink.kafka.");
  ASSERT_FALSE(bad_value.ok());
  EXPECT_EQ(bad_value.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_value.status().message().rfind("sink.kafka.security.protocol: ", 0), 0u)
      << bad_value.status().message();
  auto unknown = MakeConf({{"no.such.property", "1"}}, "kafka.consumer.");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message().rfind("kafka.consumer.no.such.property: ", 0), 0u)
      << unknown.status().message();
}

TEST(KafkaClientTest, ErrorMapByKind) {
  struct Case {
    rd_kafka_resp_err_t err;
    core::StatusCode code;
  };
  for (const Case& c : {Case{RD_KAFKA_RESP_ERR__TRANSPORT, core::StatusCode::kUnavailable},
                        Case{RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, core::StatusCode::kUnavailable},
                        Case{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, core::StatusCode::kUnavailable},
                        Case{RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                             core::StatusCode::kUnavailable},
                        Case{RD_KAFKA_RESP_ERR__AUTHENTICATION, core::StatusCode::kUnauthenticated},
                        Case{RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED,
                             core::StatusCode::kUnauthenticated},
                        Case{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                             core::StatusCode::kPermissionDenied},
                        Case{RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
                             core::StatusCode::kPermissionDenied},
                        Case{RD_KAFKA_RESP_ERR_PRODUCER_FENCED,
                             core::StatusCode::kFailedPrecondition},
                        Case{RD_KAFKA_RESP_ERR__FATAL, core::StatusCode::kAborted},
                        Case{RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, core::StatusCode::kInternal}}) {
    EXPECT_EQ(MapError(c.err, "kafka x", "", kHints).code(), c.code) << rd_kafka_err2name(c.err);
  }
}

TEST(KafkaClientTest, ErrorMessagesCarryContextDetailAndTheSidesHint) {
  core::Status auth = MapError(RD_KAFKA_RESP_ERR__AUTHENTICATION, "kafka sink: connect",
                               "SASL handshake failed", kHints);
  EXPECT_EQ(auth.message().rfind("kafka sink: connect: ", 0), 0u) << auth.message();
  EXPECT_NE(auth.message().find("(SASL handshake failed)"), std::string::npos) << auth.message();
  EXPECT_NE(auth.message().find("; check the x.sasl.* settings"), std::string::npos);
  core::Status denied = MapError(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "w", "", kHints);
  EXPECT_NE(denied.message().find("; grant the client the needed ACLs"), std::string::npos);
  // A detail that repeats librdkafka's text is not shown twice.
  const std::string text = rd_kafka_err2str(RD_KAFKA_RESP_ERR__TRANSPORT);
  EXPECT_EQ(MapError(RD_KAFKA_RESP_ERR__TRANSPORT, "w", text, kHints).message(), "w: " + text);
}

TEST(KafkaClientTest, UnlistedErrorsTakeTheCallersCode) {
  ErrorHints hints = kHints;
  hints.otherwise = core::StatusCode::kUnavailable;  // e.g. a consumer's commit
  EXPECT_EQ(MapError(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, "commit", "", hints).code(),
            core::StatusCode::kUnavailable);
  EXPECT_EQ(MapError(RD_KAFKA_RESP_ERR__AUTHENTICATION, "commit", "", hints).code(),
            core::StatusCode::kUnauthenticated);
}

TEST(KafkaClientTest, ErrorObjectIsMappedByItsCode) {
  core::Status s = MapError(rd_kafka_error_new(RD_KAFKA_RESP_ERR__TRANSPORT, "broker gone"),
                            "kafka sink: commit transaction", kHints);
  EXPECT_EQ(s.code(), core::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("(broker gone)"), std::string::npos) << s.message();
  core::Status other = MapError(rd_kafka_error_new(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, "big"),
                                "kafka sink: produce", kHints);
  EXPECT_EQ(other.code(), core::StatusCode::kInternal) << "neither retriable nor abortable";
}

}  // namespace
}  // namespace sluice::kafka::client
