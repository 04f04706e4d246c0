#include "core/config_providers.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace sluice::core {
namespace {

class ConfigProvidersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sluice-providers-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::setenv("SLUICE_TEST_PG_PASSWORD", "env-s3cret", 1);
    ::unsetenv("SLUICE_TEST_UNSET");
  }
  void TearDown() override {
    ::unsetenv("SLUICE_TEST_PG_PASSWORD");
    std::filesystem::remove_all(dir_);
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static Status ErrorOf(const std::string& key, const std::string& value) {
    auto r = ResolveConfigProviders(ConnectorConfig("c", {{key, value}}));
    return r.ok() ? Status::Ok() : r.status();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigProvidersTest, EnvReferencesResolveInsideTheValue) {
  ConnectorConfig stored("c", {{"database.password", "${env:SLUICE_TEST_PG_PASSWORD}"},
                               {"sink.url", "postgresql://app:${env:SLUICE_TEST_PG_PASSWORD}@db/x"},
                               {"database.hostname", "db"}});
  auto resolved = ResolveConfigProviders(stored);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->Get("database.password"), "env-s3cret");
  EXPECT_EQ(resolved->Get("sink.url"), "postgresql://app:env-s3cret@db/x");
  EXPECT_EQ(resolved->Get("database.hostname"), "db");
  EXPECT_EQ(resolved->name(), "c");
  // The input, which is what the state store keeps, still holds the reference.
  EXPECT_EQ(stored.Get("database.password"), "${env:SLUICE_TEST_PG_PASSWORD}");
}

TEST_F(ConfigProvidersTest, FileReferencesReadPropertiesOrTheWholeFile) {
  std::string props = Write("db.properties",
                            "# credentials\n"
                            "! another comment\n"
                            "   pg.password = p@ss word\n"
                            "mysql.password:colon\n"
                            "spaced value-after-space\n"
                            "multi=one\\\n"
                            "      two\r\n"
                            "escaped\\=key=a\\tb\\u00e9\n"
                            "pg.password=later-wins\n");
  std::string whole = Write("token", "\n  whole-file-secret \n\n");
  ConnectorConfig stored("c", {{"a", "${file:" + props + ":pg.password}"},
                               {"b", "${file:" + props + ":mysql.password}"},
                               {"c", "${file:" + props + ":spaced}"},
                               {"d", "${file:" + props + ":multi}"},
                               {"e", "${file:" + props + ":escaped=key}"},
                               {"f", "${file:" + whole + "}"},
                               {"g", "x-${file:" + whole + "}-${env:SLUICE_TEST_PG_PASSWORD}"}});
  auto r = ResolveConfigProviders(stored);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Get("a"), "later-wins");
  EXPECT_EQ(r->Get("b"), "colon");
  EXPECT_EQ(r->Get("c"), "value-after-space");
  EXPECT_EQ(r->Get("d"), "onetwo");
  EXPECT_EQ(r->Get("e"), "a\tb\xc3\xa9");
  EXPECT_EQ(r->Get("f"), "whole-file-secret");
  EXPECT_EQ(r->Get("g"), "x-whole-file-secret-env-s3cret");
}

TEST_F(ConfigProvidersTest, PlaceholdersWithoutAProviderStayAsWritten) {
  ConnectorConfig stored("c", {{"sink.table.name.format", "${schema}_${table}"},
                               {"odd", "${ and } and ${env"}});
  auto r = ResolveConfigProviders(stored);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Get("sink.table.name.format"), "${schema}_${table}");
  EXPECT_EQ(r->Get("odd"), "${ and } and ${env");
  EXPECT_FALSE(HasConfigReference("${schema}.${table}"));
  EXPECT_TRUE(HasConfigReference("a${env:X}b"));
}

TEST_F(ConfigProvidersTest, ErrorsNameTheKeyAndTheReferenceButNeverTheSecret) {
  std::string props = Write("db.properties", "pg.password=file-s3cret\n");
  struct Bad {
    std::string key, value, expect;
  };
  for (const Bad& bad : std::vector<Bad>{
           {"database.password", "${env:SLUICE_TEST_UNSET}", "SLUICE_TEST_UNSET is not set"},
           {"database.password", "${vault:secret/db}", "unknown config provider 'vault'"},
           {"sink.url", "${file:" + (dir_ / "missing").string() + ":k}", "cannot read file"},
           {"sink.url", "${file:" + props + ":nope}", "has no key 'nope'"},
           {"sink.url", "${file:relative.properties:k}", "absolute path"},
           {"sink.url", "${file:" + dir_.string() + "}", "not a regular file"},
           {"database.password", "${env:}", "names no environment variable"},
       }) {
    Status s = ErrorOf(bad.key, bad.value);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad.value;
    EXPECT_NE(s.message().find("config key '" + bad.key + "'"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(bad.value), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(bad.expect), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("file-s3cret"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find("env-s3cret"), std::string::npos) << s.message();
  }
}

TEST_F(ConfigProvidersTest, LargeFilesAreRefused) {
  std::string big = Write("big", std::string((1 << 20) + 1, 'x'));
  Status s = ErrorOf("k", "${file:" + big + "}");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("larger than"), std::string::npos) << s.message();
}

TEST(JavaPropertiesTest, ParsesTheJavaPropertiesFormat) {
  auto p = ParseJavaProperties("a=1\n  b : 2 \nc\n#d=4\nkey\\ with\\ space=v\ntrail=x  \n\\#hash=h");
  EXPECT_EQ(p["a"], "1");
  EXPECT_EQ(p["b"], "2 ");  // trailing whitespace is part of the value, as in Java
  EXPECT_EQ(p.count("c"), 1u);
  EXPECT_EQ(p["c"], "");
  EXPECT_EQ(p.count("#d"), 0u);
  EXPECT_EQ(p["key with space"], "v");
  EXPECT_EQ(p["trail"], "x  ");
  EXPECT_EQ(p["#hash"], "h");
}

}  // namespace
}  // namespace sluice::core
