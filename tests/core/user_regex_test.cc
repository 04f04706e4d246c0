#include "core/user_regex.h"

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/table_filter.h"

namespace sluice::core {
namespace {

std::string Nested(size_t depth, std::string_view core) {
  return std::string(depth, '(') + std::string(core) + std::string(depth, ')');
}

ConfigDef Common() {
  ConfigDef def;
  def.AddAll(CommonConfigKeys());
  return def;
}

ConnectorConfig WithInclude(std::string value) {
  return ConnectorConfig("c", {{"connector.class", "postgres"},
                               {"sink.type", "file"},
                               {"table.include.list", std::move(value)}});
}

// The crash: std::regex compiled 20,000 nested groups by recursion and overflowed the
// stack, ending the process. Every path that compiles a list (validation, the filter) must
// answer with an error or a working filter instead.
TEST(UserRegexTest, TwentyThousandNestedGroupsAreRefusedWithoutCrashing) {
  const std::string pattern = Nested(20000, "a");
  ConnectorConfig config = WithInclude(pattern);

  Status validated = Common().Validate(config);
  EXPECT_EQ(validated.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(validated.message().find("table.include.list"), std::string::npos) << validated.message();
  EXPECT_NE(validated.message().find("limit is 4096 bytes"), std::string::npos) << validated.message();

  auto filter = TableFilter::FromConfig(config);
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(filter.status().message().find("table.include.list"), std::string::npos);
  // The message quotes an excerpt, not 40 kB of parentheses.
  EXPECT_LT(filter.status().message().size(), 400u) << filter.status().message();
}

// Within the length limit, the deepest nesting a pattern can have still neither crashes nor
// hangs: RE2 parses without recursion and refuses depth beyond its own bound, or compiles.
TEST(UserRegexTest, DeepNestingWithinTheLengthLimitIsHandled) {
  for (size_t depth : {500u, 1000u, 2047u}) {
    const std::string pattern = Nested(depth, "a");
    ASSERT_LE(pattern.size(), kMaxRegexPatternBytes);
    auto re = UserRegex::Compile("table.include.list", pattern);
    if (re.ok()) {
      EXPECT_TRUE(re->FullMatch("a")) << depth;
      EXPECT_FALSE(re->FullMatch("aa")) << depth;
    } else {
      EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument) << depth;
      EXPECT_NE(re.status().message().find("table.include.list"), std::string::npos);
    }
  }
  auto alternation = UserRegex::Compile("k", Nested(1300, "a|b"));
  ASSERT_TRUE(alternation.ok()) << alternation.status().ToString();
  EXPECT_TRUE(alternation->FullMatch("b"));
}

TEST(UserRegexTest, OverLongPatternsAndListsAreRefused) {
  auto at_limit = UserRegex::Compile("table.exclude.list", std::string(kMaxRegexPatternBytes, 'x'));
  EXPECT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  auto over = UserRegex::Compile("table.exclude.list", std::string(kMaxRegexPatternBytes + 1, 'x'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("table.exclude.list"), std::string::npos);
  EXPECT_NE(over.status().message().find("4097 bytes"), std::string::npos) << over.status().message();

  // Many short patterns that add up past the list limit.
  std::string list;
  while (list.size() <= kMaxRegexListBytes) list += "public\\.t,";
  auto many = CompileRegexList("column.exclude.list", list);
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("column.exclude.list: the list is"), std::string::npos)
      << many.status().message();
}

TEST(UserRegexTest, PatternsRe2RefusesNameTheKeyAndTheProblem) {
  for (const char* pattern : {"public.(", "(a)\\1", "(?=x)y", "a{2,100000}", "[z-a]"}) {
    auto re = UserRegex::Compile("table.include.list", pattern);
    ASSERT_FALSE(re.ok()) << pattern;
    EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(re.status().message().find("table.include.list: invalid regular expression"),
              std::string::npos)
        << re.status().message();
  }
  // A program past the memory budget is refused, not built.
  auto huge = UserRegex::Compile("table.include.list", "\\pL{1000}");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("memory limit"), std::string::npos) << huge.status().message();
  // Control bytes and invalid UTF-8 never reach the message raw.
  auto bad = UserRegex::Compile("table.include.list", "a\r\nSet-Cookie: x\xff(");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find('\r'), std::string::npos);
  EXPECT_EQ(bad.status().message().find('\xff'), std::string::npos);
}

TEST(UserRegexTest, FullMatchSemantics) {
  auto re = UserRegex::Compile("k", "public\\.orders");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE(re->FullMatch("public.orders"));
  EXPECT_FALSE(re->FullMatch("public.orders_2024"));  // whole name, not a prefix
  EXPECT_FALSE(re->FullMatch("xpublic.orders"));      // nor a suffix
  EXPECT_FALSE(re->FullMatch("publicXorders"));       // an escaped dot is a dot

  auto dot = UserRegex::Compile("k", "public.orders");
  ASSERT_TRUE(dot.ok());
  EXPECT_TRUE(dot->FullMatch("publicXorders"));  // an unescaped dot is any character

  auto alt = UserRegex::Compile("k", "shop\\.(orders|items)|audit\\..*");
  ASSERT_TRUE(alt.ok());
  EXPECT_TRUE(alt->FullMatch("shop.orders"));
  EXPECT_TRUE(alt->FullMatch("shop.items"));
  EXPECT_TRUE(alt->FullMatch("audit.log_2024"));
  EXPECT_FALSE(alt->FullMatch("shop.users"));
  EXPECT_FALSE(alt->FullMatch("shop.orders.x"));

  // Case-sensitive, as before; (?i) asks for the other.
  EXPECT_FALSE(re->FullMatch("Public.Orders"));
  auto ci = UserRegex::Compile("k", "(?i)public\\.orders");
  ASSERT_TRUE(ci.ok());
  EXPECT_TRUE(ci->FullMatch("Public.ORDERS"));

  // Names with multibyte UTF-8 match character by character.
  auto utf8 = UserRegex::Compile("k", "public\\.caf.");
  ASSERT_TRUE(utf8.ok());
  EXPECT_TRUE(utf8->FullMatch("public.caf\xc3\xa9"));
}

TEST(UserRegexTest, ListsSplitAtCommasAndTrim) {
  auto list = CompileRegexList("k", " a\\..* , ,b\\.t ");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].pattern(), "a\\..*");
  EXPECT_TRUE(AnyFullMatch(*list, "b.t"));
  EXPECT_TRUE(AnyFullMatch(*list, "a.x"));
  EXPECT_FALSE(AnyFullMatch(*list, "c.t"));
  auto empty = CompileRegexList("k", "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(UserRegexTest, TableFilterKeepsWholeNameSemantics) {
  ConnectorConfig c("c", {{"table.include.list", "public\\.orders.*,inventory\\..*"},
                          {"table.exclude.list", "public\\.orders_archive"},
                          {"column.exclude.list", "public\\.orders\\.(secret|ssn)"}});
  auto f = TableFilter::FromConfig(c);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->include_patterns(), (std::vector<std::string>{"public\\.orders.*", "inventory\\..*"}));
  EXPECT_TRUE(f->PatternMatches(1, {"inventory", "items"}));
  EXPECT_FALSE(f->PatternMatches(0, {"inventory", "items"}));
  EXPECT_FALSE(f->IncludesTable({"public", "orders_archive"}));
  EXPECT_FALSE(f->IncludesColumn({"public", "orders"}, "ssn"));
  EXPECT_TRUE(f->IncludesColumn({"public", "orders"}, "ssn2"));
  EXPECT_FALSE(f->IncludesTable({"Public", "orders"}));
}

}  // namespace
}  // namespace sluice::core
