// ClusterOptions (api/cluster/cluster_options.h): defaults and refusals naming the key; the
// connector -> partition map every worker must compute alike; compose's two-worker file.
#include "api/cluster/cluster_options.h"
#include "api/cluster/cluster_worker.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

namespace sluice::api::cluster {
namespace {

ClusterOptions Minimal() {
  ClusterOptions o;
  o.bootstrap_servers = "k:9092";
  o.group_id = "g";
  return o;
}

TEST(ClusterOptionsTest, TopicsDefaultToTheGroupName) {
  ClusterOptions o = Minimal();
  ASSERT_TRUE(FinishClusterOptions(o).ok());
  EXPECT_EQ(o.configs_topic, "g-configs");
  EXPECT_EQ(o.offsets_topic, "g-offsets");
  EXPECT_EQ(o.status_topic, "g-status");
  EXPECT_EQ(o.assignments_topic, "g-assignments");
  EXPECT_EQ(o.assignment_partitions, 32);
  EXPECT_EQ(o.assignment_strategy, "cooperative-sticky");
  o = Minimal();
  o.offsets_topic = "mine";
  ASSERT_TRUE(FinishClusterOptions(o).ok());
  EXPECT_EQ(o.offsets_topic, "mine") << "an explicit name is kept";
}

TEST(ClusterOptionsTest, RefusalsNameTheKey) {
  struct Case {
    void (*change)(ClusterOptions&);
    const char* key;
  };
  const Case cases[] = {
      {[](ClusterOptions& o) { o.bootstrap_servers.clear(); }, "cluster.bootstrap.servers"},
      {[](ClusterOptions& o) { o.group_id.clear(); }, "cluster.group.id"},
      {[](ClusterOptions& o) { o.assignment_partitions = 0; }, "cluster.assignments.partitions"},
      {[](ClusterOptions& o) { o.session_timeout_ms = 10; }, "cluster.session.timeout.ms"},
      {[](ClusterOptions& o) { o.assignment_strategy = "sticky"; }, "cluster.assignment.strategy"},
  };
  for (const Case& c : cases) {
    ClusterOptions o = Minimal();
    c.change(o);
    core::Status s = FinishClusterOptions(o);
    EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument) << c.key;
    EXPECT_NE(s.message().find(c.key), std::string::npos) << s.message();
  }
}

TEST(ClusterOptionsTest, AssignmentPartitionIsStableAndSpreads) {
  // FNV-1a 32 of "orders": a fixed value, so that workers of any build agree.
  EXPECT_EQ(AssignmentPartition("", 32), static_cast<int32_t>(2166136261u % 32));
  EXPECT_EQ(AssignmentPartition("orders", 32), AssignmentPartition("orders", 32));
  EXPECT_EQ(AssignmentPartition("anything", 1), 0);
  std::set<int32_t> used;
  for (int i = 0; i < 200; ++i) {
    int32_t p = AssignmentPartition("connector-" + std::to_string(i), 32);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 32);
    used.insert(p);
  }
  EXPECT_GT(used.size(), 28u) << "200 names should reach nearly every partition";
}

std::string ReadCompose(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/compose/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ClusterComposeTest, TwoWorkersWithTheirOwnIdsTokenRequiredLoopbackPorts) {
  std::string compose = ReadCompose("docker-compose.cluster.yml");
  ASSERT_FALSE(compose.empty());
  EXPECT_NE(compose.find("\"--cluster.worker.id\", \"sluice-worker-1:8083\""), std::string::npos);
  EXPECT_NE(compose.find("\"--cluster.worker.id\", \"sluice-worker-2:8083\""), std::string::npos);
  EXPECT_NE(compose.find("SLUICE_TOKEN: ${SLUICE_TOKEN:?"), std::string::npos);
  EXPECT_EQ(compose.find("--insecure-no-auth"), std::string::npos);
  EXPECT_NE(compose.find("ports: [\"127.0.0.1:8083:8083\"]"), std::string::npos);
  EXPECT_NE(compose.find("ports: [\"127.0.0.1:8084:8083\"]"), std::string::npos);
}

}  // namespace
}  // namespace sluice::api::cluster

namespace sluice::api::cluster {
namespace {

TEST(ClusterRetriableTest, ASlotHeldByAnotherProcessIsRetriedInAClusterOnly) {
  core::Status held = core::FailedPreconditionError(
      "starting source: replication slot 's' is in use by another process (pid 42): stop the "
      "other connector or client, or set a different slot.name");
  EXPECT_FALSE(held.IsRetriable()) << "a single node reports it as a problem to fix";
  EXPECT_TRUE(ClusterRetriable(held)) << "in a cluster: the previous owner, until it stops";
  EXPECT_TRUE(ClusterRetriable(core::UnavailableError("source down")));
  EXPECT_FALSE(ClusterRetriable(core::FailedPreconditionError("wal_level is replica")));
  EXPECT_FALSE(ClusterRetriable(core::InvalidArgumentError("bad key")));
}

}  // namespace
}  // namespace sluice::api::cluster
