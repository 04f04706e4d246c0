// The incremental-snapshot routes (api/rest_snapshots.cc) with fake connectors: every refusal is
// a JSON 4xx naming the reason. The real PostgreSQL path is covered end to end by
// integration/incremental/.
#include <gtest/gtest.h>

#include "tests/api/rest_fixture.h"

namespace sluice::api {
namespace {

using nlohmann::json;

class IncrementalSnapshotsRestTest : public RestApiFixture {};

TEST_F(IncrementalSnapshotsRestTest, RefusalsAreJson4xx) {
  EXPECT_EQ(CallJson("GET", "/connectors/nope/snapshots", 404)["error_code"], 404);
  EXPECT_EQ(CallJson("POST", "/connectors/nope/snapshots", 404, R"({"tables": ["a.b"]})")["error_code"],
            404);
  CallJson("POST", "/connectors", 201, ConnectorBody("orders"));
  WaitForState("orders", "RUNNING");
  // The fake source has no incremental snapshots.
  json no = CallJson("POST", "/connectors/orders/snapshots", 400, R"({"tables": ["public.t"]})");
  EXPECT_NE(no["message"].get<std::string>().find("no incremental snapshots"), std::string::npos)
      << no.dump();
  EXPECT_EQ(CallJson("PUT", "/connectors/orders/snapshots", 405)["error_code"], 405);
  EXPECT_EQ(CallJson("POST", "/connectors/orders/snapshots/public.t", 405)["error_code"], 405);
  // A connector that is not running.
  CallJson("PUT", "/connectors/orders/stop", 204);
  WaitForState("orders", "STOPPED");
  json stopped = CallJson("POST", "/connectors/orders/snapshots", 409, R"({"tables": ["public.t"]})");
  EXPECT_NE(stopped["message"].get<std::string>().find("not running"), std::string::npos);
  EXPECT_EQ(CallJson("GET", "/connectors/orders/snapshots", 409)["error_code"], 409);
}

}  // namespace
}  // namespace sluice::api
