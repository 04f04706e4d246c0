// ParseVerifyRequest: the body of POST /connectors/{name}/verify and the CLI options.
#include "api/verify_job.h"

#include <gtest/gtest.h>

namespace sluice::api {
namespace {

using nlohmann::json;

TEST(VerifyRequestTest, DefaultsForAnEmptyBody) {
  auto r = ParseVerifyRequest(json());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mode, core::VerifyMode::kChecksum);
  EXPECT_TRUE(r->tables.empty());
  EXPECT_FALSE(r->repair);
  EXPECT_EQ(r->rechecks, 0);
  EXPECT_EQ(r->chunk_rows, 10000u);
}

TEST(VerifyRequestTest, ReadsEveryField) {
  auto r = ParseVerifyRequest(json{{"tables", "public.a, public.b"}, {"mode", "rows"}, {"repair", true},
                                   {"rechecks", 3}, {"recheck_delay_ms", 250}, {"chunk_rows", 500}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->tables, (std::vector<std::string>{"public.a", "public.b"}));
  EXPECT_EQ(r->mode, core::VerifyMode::kRows);
  EXPECT_TRUE(r->repair);
  EXPECT_EQ(r->rechecks, 3);
  EXPECT_EQ(r->recheck_delay_ms, 250);
  EXPECT_EQ(r->chunk_rows, 500u);
  auto list = ParseVerifyRequest(json{{"tables", json::array({"s.t"})}});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->tables, std::vector<std::string>{"s.t"});
}

TEST(VerifyRequestTest, BadFieldsAreNamed) {
  struct Case {
    json body;
    const char* words;
  };
  for (const Case& c : {Case{json::array(), "JSON object"},
                        Case{json{{"mode", "fast"}}, "count, checksum, rows"},
                        Case{json{{"mode", 1}}, "\"mode\""},
                        Case{json{{"tables", 5}}, "\"tables\""},
                        Case{json{{"tables", json::array({1})}}, "\"tables\""},
                        Case{json{{"repair", "yes"}}, "\"repair\""},
                        Case{json{{"rechecks", 101}}, "\"rechecks\""},
                        Case{json{{"chunk_rows", 0}}, "\"chunk_rows\""},
                        Case{json{{"recheck_delay_ms", -1}}, "\"recheck_delay_ms\""},
                        Case{json{{"tabels", json::array()}}, "unknown field \"tabels\""}}) {
    auto r = ParseVerifyRequest(c.body);
    ASSERT_FALSE(r.ok()) << c.body.dump();
    EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.words), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace sluice::api
