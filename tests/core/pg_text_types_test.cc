// PostgreSQL timetz and hstore as Debezium's PostgreSQL connector writes them (ZonedTime in UTC;
// hstore.handling.mode json and map), and back. Expected values come from java.time and
// java.util.HashMap (Java 17; see each test), which Debezium uses, not from this code.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/envelope.h"
#include "core/java_hash.h"
#include "core/pg_text_types.h"

namespace sluice::core {
namespace {

std::string Zoned(std::string_view timetz) {
  std::string out;
  return TimetzToZonedTime(timetz, out) ? out : "<refused>";
}

// OffsetTime.parse(text, Debezium's TIMETZ formatter).withOffsetSameInstant(UTC)
//   .format(ISO_OFFSET_TIME), run in jshell.
TEST(PgTextTypesTest, TimetzBecomesUtcZonedTimeAsJavaTimeFormatsIt) {
  EXPECT_EQ(Zoned("12:00:00+05:30"), "06:30:00Z");
  EXPECT_EQ(Zoned("00:00:00-15:59"), "15:59:00Z");
  EXPECT_EQ(Zoned("23:59:59.999999+00"), "23:59:59.999999Z");
  EXPECT_EQ(Zoned("12:00:00.5+02"), "10:00:00.5Z");
  EXPECT_EQ(Zoned("10:00:00.000001-01"), "11:00:00.000001Z");
  EXPECT_EQ(Zoned("12:00:00+02"), "10:00:00Z");
  // java.time has no 24:00 nor offsets with seconds (Debezium fails on them); the same instant
  // of day, wrapped into the day as OffsetTime wraps.
  EXPECT_EQ(Zoned("24:00:00+15:59"), "08:01:00Z");
  EXPECT_EQ(Zoned("24:00:00+00"), "00:00:00Z");
  EXPECT_EQ(Zoned("01:02:03.12+15:59:59"), "09:02:04.12Z");
  for (std::string_view bad : {"", "12:00:00", "12:00+02", "25:00:00+00", "24:00:01+00",
                               "12:60:00+00", "12:00:00.1234567+00", "12:00:00+2", "12:00:00Z",
                               "12:00:00+02:0", "12:00:00 +02", "12:00:00.+02"}) {
    EXPECT_EQ(Zoned(bad), "<refused>") << bad;
  }
}

TEST(PgTextTypesTest, ZonedTimeReadsBackAsUtcTimetz) {
  EXPECT_EQ(ZonedTimeToTimetz("06:30:00Z"), "06:30:00+00");
  EXPECT_EQ(ZonedTimeToTimetz("10:00:00.5Z"), "10:00:00.5+00");
  EXPECT_EQ(ZonedTimeToTimetz("23:59:59.999999Z"), "23:59:59.999999+00");
  EXPECT_EQ(ZonedTimeToTimetz("08:30+02:00"), "06:30:00+00");
  EXPECT_EQ(ZonedTimeToTimetz("00:30:00.123456789+01:00").has_value(), false);  // below a µs
  EXPECT_EQ(ZonedTimeToTimetz("00:30:00.123456000+01:00"), "23:30:00.123456+00");
  EXPECT_EQ(ZonedTimeToTimetz("00:00:00-1559"), "15:59:00+00");
  for (std::string_view bad : {"", "06:30:00", "24:00:00Z", "6:30:00Z", "06:30:00ZZ", "x"}) {
    EXPECT_FALSE(ZonedTimeToTimetz(bad).has_value()) << bad;
  }
  // Every timetz keeps its instant of day through ZonedTime and back.
  for (std::string_view t : {"12:00:00+05:30", "00:00:00-15:59", "24:00:00+15:59", "00:00:00.000001+00"}) {
    std::string zoned;
    ASSERT_TRUE(TimetzToZonedTime(t, zoned)) << t;
    auto back = ZonedTimeToTimetz(zoned);
    ASSERT_TRUE(back.has_value()) << zoned;
    std::string again;
    ASSERT_TRUE(TimetzToZonedTime(*back, again));
    EXPECT_EQ(again, zoned) << t;
  }
}

std::vector<HstorePair> Parse(std::string_view text) {
  std::vector<HstorePair> out;
  EXPECT_TRUE(ParseHstore(text, out)) << text;
  return out;
}

TEST(PgTextTypesTest, HstoreParsesHstoreOutAndInputSyntax) {
  EXPECT_TRUE(Parse("").empty());
  EXPECT_TRUE(Parse("  ").empty());
  auto p = Parse(R"("" =>"", "a"=>NULL, "b"=>"NULL", "q\"t"=>"back\\slash", "é"=>"日本")");
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], (HstorePair{"", ""}));
  EXPECT_EQ(p[1], (HstorePair{"a", std::nullopt}));
  EXPECT_EQ(p[2], (HstorePair{"b", "NULL"}));
  EXPECT_EQ(p[3], (HstorePair{"q\"t", "back\\slash"}));
  EXPECT_EQ(p[4], (HstorePair{"é", "日本"}));
  auto u = Parse(R"(a=>1,b => null, c\,d=>x\ y, e=>f=g)");
  ASSERT_EQ(u.size(), 4u);
  EXPECT_EQ(u[1], (HstorePair{"b", std::nullopt}));
  EXPECT_EQ(u[2], (HstorePair{"c,d", "x y"}));
  EXPECT_EQ(u[3], (HstorePair{"e", "f=g"}));  // '=' ends an unquoted key only
  EXPECT_EQ(Parse(R"(a"b=>1)")[0], (HstorePair{"a\"b", "1"}));  // as hstore_in reads them
  // Typed with a repeated key: both pairs parse (hstore_in keeps the first, as HstoreText).
  EXPECT_EQ(Parse(R"("a"=>"1", "a"=>"2")").size(), 2u);
  std::vector<HstorePair> out;
  for (std::string_view bad : {R"("a")", R"("a"=>)", R"("a"=>"b)", R"("a"=>"b",)", R"("a"="b")",
                               R"("a"=>"b" "c"=>"d")", R"("a\)", "=>\"b\""}) {
    EXPECT_FALSE(ParseHstore(bad, out)) << bad;
  }
}

TEST(JavaHashTest, MatchesStringHashCode) {
  EXPECT_EQ(JavaStringHash("hello"), 99162322);
  EXPECT_EQ(JavaStringHash("public.orders"), 762281482);
  EXPECT_EQ(JavaStringHash("public.items"), -535079941);
  EXPECT_EQ(JavaStringHash("\xC3\xA9\xF0\x9F\x98\x80"), 1996812);  // "é😀": a surrogate pair
}

std::string Keys(std::vector<HstorePair> pairs) {
  OrderAsDebezium(pairs);
  std::string out;
  for (size_t i = 0; i < pairs.size(); ++i) out += (i ? "|" : "") + pairs[i].key;
  return out;
}

std::vector<HstorePair> Pairs(std::initializer_list<std::string> keys) {
  std::vector<HstorePair> out;
  for (const auto& k : keys) out.push_back({k, k});
  return out;
}

// new HashMap<String,String>(); put(k, k) in this order; String.join("|", keySet()) (jshell).
TEST(PgTextTypesTest, HstorePairsFollowJavaHashMapIterationOrder) {
  EXPECT_EQ(Keys(Pairs({"b", "aa"})), "aa|b");
  EXPECT_EQ(Keys(Pairs({"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"})),
            "a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p|q");
  EXPECT_EQ(Keys(Pairs({"", "é", "key", "\"q\"", "back\\slash", "日本"})), "|\"q\"|back\\slash|é|日本|key");
  // Equal hash codes ("Aa" and "BB") share a bucket in insertion order.
  EXPECT_EQ(Keys(Pairs({"Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "AaAaAa", "BBBBBB", "AaAaBB", "BBAaAa"})),
            "Aa|BB|AaAaAa|BBBBBB|AaAaBB|BBAaAa|AaAa|BBBB|AaBB|BBAa");
  // Two resizes (16 -> 32 -> 64).
  std::vector<HstorePair> forty;
  for (int i = 0; i < 40; ++i) forty.push_back({"k" + std::to_string(i), ""});
  EXPECT_EQ(Keys(forty),
            "k31|k30|k11|k33|k10|k32|k13|k35|k12|k34|k15|k37|k14|k36|k17|k39|k16|k38|k19|k18|k0|k1|"
            "k2|k3|k20|k4|k5|k22|k6|k21|k7|k24|k8|k23|k9|k26|k25|k28|k27|k29");
  // Sixteen equal hash codes: Java resizes to 64 and then makes the bucket a red-black tree,
  // whose root moves to the front of the bucket's list.
  std::vector<HstorePair> colliding = {{"x", ""}};
  for (int i = 0; i < 16; ++i) {
    std::string k;
    for (int b = 0; b < 4; ++b) k += (i >> b) & 1 ? "BB" : "Aa";
    colliding.push_back({k, ""});
  }
  colliding.push_back({"y", ""});
  colliding.push_back({"z1", ""});
  EXPECT_EQ(Keys(colliding),
            "BBAaAaAa|AaAaAaAa|AaBBAaAa|BBBBAaAa|BBAaBBBB|AaAaBBAa|AaAaBBBB|BBAaBBAa|AaBBBBAa|"
            "AaBBBBBB|BBBBBBAa|BBBBBBBB|BBBBAaBB|AaAaAaBB|BBAaAaBB|AaBBAaBB|z1|x|y");
  // 20 keys in bucket 5 of 64 (a tree), then 40 more: at 128 the tree splits and each half
  // is rebuilt.
  auto in_bucket = [](const std::string& prefix, uint32_t capacity, size_t n) {
    std::vector<HstorePair> out;
    for (int i = 0; out.size() < n; ++i) {
      std::string k = prefix + std::to_string(i);
      if (JavaHashMapBucket(JavaStringHash(k), capacity) == 5) out.push_back({k, ""});
    }
    return out;
  };
  std::vector<HstorePair> split = in_bucket("s", 64, 20);
  for (int i = 0; i < 40; ++i) split.push_back({"r" + std::to_string(i), ""});
  EXPECT_EQ(Keys(split),
            "r2|r3|r4|r5|r6|s1172|s1051|r7|s1095|s1293|s1370|s3191|s3070|s4082|s1491|r8|r9|r10|r12|"
            "r11|r14|r13|r16|r15|r18|r17|r19|r21|r20|r23|r22|r25|r24|r27|r26|r29|r28|s1392|s1073|"
            "s1150|s1194|s1271|s1590|s2080|s3092|s3290|s4060|s4181|r30|r32|r31|r34|r33|r36|r35|r38|"
            "r37|r39|r0|r1");
  // 30 in one bucket of 64, 200 more (resizes to 512: halves of 6 or fewer become lists again),
  // then 9 more into bucket 5 of 512.
  std::vector<HstorePair> grown = in_bucket("t", 64, 30);
  for (int i = 0; i < 200; ++i) grown.push_back({"u" + std::to_string(i), ""});
  for (auto& p : in_bucket("v", 512, 9)) grown.push_back(std::move(p));
  EXPECT_EQ(Keys(grown),
            "u170|u172|u171|v1182|t1339|t1218|v1061|v2032|v2153|v2274|v2395|v3000|v3121|v3242|u178|"
            "u177|u179|u174|u173|u71|u176|u70|u175|u73|u72|u75|u74|u77|u76|u79|u78|u161|u160|u167|"
            "u166|u169|u168|u80|u163|u162|u82|u165|u81|u164|u84|u83|u86|u85|u88|u87|u159|u89|u192|"
            "u191|u194|u193|t1438|t1317|t9|t2409|t1559|u190|u199|u91|u196|u90|u195|u93|u198|u92|u197|"
            "u95|u94|u97|u96|u99|u98|u0|u1|u2|u3|u4|u5|u181|u6|u180|u7|u183|u8|u182|u9|u189|u188|u185|"
            "u184|u187|u186|t1812|t1933|t1119|t1911|t1856|t1977|t1735|t1614|t1834|t1713|t1955|u112|"
            "u111|u114|u113|u110|u109|u108|u11|u105|u10|u104|u13|u107|u12|u106|u15|u14|u17|u16|u19|"
            "u18|u101|u100|u103|u102|u20|u22|u21|u24|u23|u26|u25|u28|u27|u29|t1537|t1416|t2629|t2508|"
            "t1779|t1658|u134|u133|u136|u135|u130|u132|u131|u31|u30|u33|u127|u32|u126|u35|u129|u34|"
            "u128|u37|u36|u39|u38|u123|u122|u125|u124|u121|u120|u40|u119|u42|u41|u44|u116|u43|u115|"
            "u46|u118|u45|u117|u48|u47|u49|u150|t1515|t1878|t1757|t1999|t2607|t1636|u156|u155|u158|"
            "u157|u152|u151|u154|u153|u51|u50|u53|u52|u55|u149|u54|u148|u57|u56|u59|u58|u145|u144|"
            "u147|u146|u141|u140|u60|u143|u142|u62|u61|u64|u63|u66|u138|u65|u137|u68|u67|u139|u69");
}

TEST(PgTextTypesTest, HstoreJsonIsJacksonsCompactObject) {
  std::string out;
  AppendHstoreJson(out, {{"a", "1"}, {"n", std::nullopt}, {"q\"\\", "\n\x01\x1f/é"}, {"", ""}});
  EXPECT_EQ(out, R"({"a":"1","n":null,"q\"\\":"\n\u0001\u001F/é","":""})");
  out.clear();
  AppendHstoreJson(out, {});
  EXPECT_EQ(out, "{}");
}

TEST(PgTextTypesTest, HstoreTextIsHstoreOutsForm) {
  EXPECT_EQ(HstoreText({}), "");
  EXPECT_EQ(HstoreText({{"bb", "2"}, {"a", std::nullopt}, {"q\"\\", "v\"\\"}, {"", ""}, {"ab", "x"}}),
            R"(""=>"", "a"=>NULL, "ab"=>"x", "bb"=>"2", "q\"\\"=>"v\"\\")");
  EXPECT_EQ(HstoreText({{"k", "first"}, {"k", "second"}}), R"("k"=>"first")");
}

// The envelope: value and field schema, in each hstore.handling.mode, and refusals.
struct Encoded {
  bool ok;
  nlohmann::json value;
  nlohmann::json schema;
};

Encoded Encode(const Column& c, std::string_view text, const ValueModes& modes) {
  EventBatch b;
  uint32_t row = b.BeginRow();
  b.AppendValue(text);
  b.EndRow();
  std::string value, schema;
  bool ok = AppendEnvelopeValue(value, c, b.row(row), 0, modes);
  AppendFieldSchemaJson(schema, c, modes);
  return {ok, nlohmann::json::parse(value), nlohmann::json::parse(schema)};
}

Column Col(LogicalType type, std::string source_type) {
  Column c;
  c.name = "c";
  c.type = type;
  c.source_type = std::move(source_type);
  return c;
}

ValueModes Modes(std::string_view hstore) {
  ConnectorConfig config;
  config.mutable_values()["connector.class"] = "postgres";
  if (!hstore.empty()) config.mutable_values()["hstore.handling.mode"] = std::string(hstore);
  auto m = ValueModesFromConfig(config);
  EXPECT_TRUE(m.ok());
  return m.ok() ? *m : ValueModes{};
}

TEST(PgTextTypesTest, EnvelopeWritesTimetzAsZonedTime) {
  for (std::string_view type : {"time with time zone", "time(3) with time zone"}) {
    Encoded e = Encode(Col(LogicalType::kString, std::string(type)), "12:00:00.123+05:30", Modes(""));
    EXPECT_TRUE(e.ok);
    EXPECT_EQ(e.value, "06:30:00.123Z");
    EXPECT_EQ(e.schema["type"], "string");
    EXPECT_EQ(e.schema["name"], "io.debezium.time.ZonedTime");
    EXPECT_EQ(e.schema["version"], 1);
  }
  EXPECT_FALSE(Encode(Col(LogicalType::kString, "time with time zone"), "noon", Modes("")).ok);
  // Sluice's own representation (the file sink) keeps the text.
  EXPECT_EQ(Encode(Col(LogicalType::kString, "time with time zone"), "12:00:00+05:30", kSluiceText).value,
            "12:00:00+05:30");
  // time without time zone is not ZonedTime.
  EXPECT_EQ(Encode(Col(LogicalType::kTime, "time without time zone"), "12:00:00", Modes("")).schema["name"],
            "io.debezium.time.MicroTime");
}

TEST(PgTextTypesTest, EnvelopeWritesHstoreInEachMode) {
  const std::string text = R"("b"=>"2", "aa"=>NULL, "q\"t"=>"x\\y", "é"=>"日本")";
  for (std::string_view type : {"hstore", "extensions.hstore"}) {
    Column c = Col(LogicalType::kUnknown, std::string(type));
    Encoded json_mode = Encode(c, text, Modes(""));
    EXPECT_TRUE(json_mode.ok);
    EXPECT_EQ(json_mode.value, R"({"aa":null,"b":"2","q\"t":"x\\y","é":"日本"})");
    EXPECT_EQ(json_mode.schema["type"], "string");
    EXPECT_EQ(json_mode.schema["name"], "io.debezium.data.Json");
    EXPECT_EQ(Encode(c, text, Modes("json")).value, json_mode.value);

    Encoded map_mode = Encode(c, text, Modes("map"));
    EXPECT_TRUE(map_mode.ok);
    EXPECT_EQ(map_mode.value.dump(), R"({"aa":null,"b":"2","q\"t":"x\\y","é":"日本"})");
    EXPECT_EQ(map_mode.schema["type"], "map");
    EXPECT_FALSE(map_mode.schema.contains("name"));
    EXPECT_EQ(map_mode.schema["keys"], (nlohmann::json{{"type", "string"}, {"optional", false}}));
    EXPECT_EQ(map_mode.schema["values"], (nlohmann::json{{"type", "string"}, {"optional", true}}));
  }
  Column c = Col(LogicalType::kUnknown, "hstore");
  EXPECT_EQ(Encode(c, "", Modes("")).value, "{}");
  EXPECT_EQ(Encode(c, "", Modes("map")).value, nlohmann::json::object());
  EXPECT_EQ(Encode(c, text, kSluiceText).value, text);
  // Another type named like it is not hstore.
  EXPECT_EQ(Encode(Col(LogicalType::kUnknown, "myhstore"), "x", Modes("")).value, "x");
}

// Arrays: Debezium converts each element (SchemaBuilder.array of ZonedTime / the hstore schema).
TEST(PgTextTypesTest, EnvelopeWritesTimetzAndHstoreArraysElementByElement) {
  Column tt = Col(LogicalType::kArray, "time with time zone[]");
  Encoded e = Encode(tt, R"(["12:00:00+05:30",null,["00:00:00.5-15:59"]])", Modes(""));
  EXPECT_TRUE(e.ok);
  EXPECT_EQ(e.value, nlohmann::json::parse(R"(["06:30:00Z",null,["15:59:00.5Z"]])"));
  EXPECT_EQ(e.schema["type"], "array");
  EXPECT_EQ(e.schema["items"], nlohmann::json::parse(
      R"({"type":"string","optional":true,"name":"io.debezium.time.ZonedTime","version":1})"));
  EXPECT_FALSE(Encode(tt, R"(["noon"])", Modes("")).ok);
  // Lower bounds other than 1 have no Debezium form: the text, as for other arrays.
  EXPECT_TRUE(Encode(tt, R"({"lower_bounds":[0],"values":["12:00:00+00"]})", Modes("")).value.is_string());
  EXPECT_EQ(Encode(tt, R"(["12:00:00+05:30"])", kSluiceText).value,
            nlohmann::json::parse(R"(["12:00:00+05:30"])"));

  Column h = Col(LogicalType::kArray, "hstore[]");
  const std::string text = R"(["\"b\"=>\"2\", \"aa\"=>NULL","",null])";
  Encoded json_mode = Encode(h, text, Modes(""));
  EXPECT_TRUE(json_mode.ok);
  EXPECT_EQ(json_mode.value, nlohmann::json::parse(R"(["{\"aa\":null,\"b\":\"2\"}","{}",null])"));
  EXPECT_EQ(json_mode.schema["items"], nlohmann::json::parse(
      R"({"type":"string","optional":true,"name":"io.debezium.data.Json","version":1})"));
  Encoded map_mode = Encode(h, text, Modes("map"));
  EXPECT_TRUE(map_mode.ok);
  EXPECT_EQ(map_mode.value.dump(), R"([{"aa":null,"b":"2"},{},null])");
  EXPECT_EQ(map_mode.schema["items"], nlohmann::json::parse(
      R"({"type":"map","keys":{"type":"string","optional":false},"values":{"type":"string","optional":true},"optional":true})"));
  EXPECT_FALSE(Encode(h, R"(["\"a\"=>"])", Modes("map")).ok);
  // Other arrays are unchanged.
  EXPECT_EQ(Encode(Col(LogicalType::kArray, "text[]"), R"(["a=>b"])", Modes("")).value,
            nlohmann::json::parse(R"(["a=>b"])"));
}

TEST(PgTextTypesTest, UnparsableHstoreIsRefusedNamingTableColumnAndValue) {
  auto schema = std::make_shared<TableSchema>();
  schema->id = {"public", "kv"};
  schema->columns = {Col(LogicalType::kInt32, "integer"), Col(LogicalType::kUnknown, "hstore")};
  schema->columns[0].name = "id";
  schema->columns[1].name = "h";
  schema->key = {0};
  EventBatch b;
  uint32_t txn = b.AddTxn({});
  uint32_t row = b.BeginRow();
  b.AppendValue("7");
  b.AppendValue(R"("a"=>"unterminated)");
  b.EndRow();
  ChangeEvent e{Op::kCreate, kNoRow, row, txn, schema};
  b.AddEvent(e);
  Status why = EnvelopeValueError(b, e, Modes(""));
  ASSERT_FALSE(why.ok());
  for (std::string_view part : {"public.kv", "column h", "\"a\"=>\"unterminated", "hstore"}) {
    EXPECT_NE(why.message().find(part), std::string::npos) << part << " in " << why.message();
  }
  ConnectorConfig config;
  config.mutable_values()["hstore.handling.mode"] = "text";
  auto bad = ValueModesFromConfig(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("hstore.handling.mode"), std::string::npos);
}

}  // namespace
}  // namespace sluice::core
