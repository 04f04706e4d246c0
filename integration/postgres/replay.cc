#include "integration/postgres/replay.h"

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "core/value_text.h"

namespace sluice::itest {
namespace {

const char kUnavailable[] = "__debezium_unavailable_value";

std::string Hex(const std::string& raw) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

SqlValue RenderValue(const nlohmann::json& v, Render r) {
  if (v.is_null()) return std::nullopt;
  switch (r) {
    case Render::kBytesHex: {
      auto raw = core::DecodeBase64(v.get<std::string>());
      return raw ? Hex(*raw) : "<bad base64>";
    }
    case Render::kDate:
      if (v.is_number()) {
        int64_t d = v.get<int64_t>();
        if (d == core::kInfinityDays) return "infinity";
        if (d == -core::kInfinityDays) return "-infinity";
        return core::EpochDaysToDate(d);
      }
      return v.get<std::string>();
    case Render::kTime:
      if (v.is_number()) return core::MicrosToTime(v.get<int64_t>());
      return v.get<std::string>();
    case Render::kTimestamp:
      if (v.is_number()) {
        int64_t us = v.get<int64_t>();
        if (us == core::kInfinityMicros) return "infinity";
        if (us == -core::kInfinityMicros) return "-infinity";
        return core::EpochMicrosToTimestamp(us);
      }
      return v.get<std::string>();
    case Render::kTimestampTz: {
      std::string s = v.get<std::string>();
      if (s.size() > 10 && s[10] == 'T') s[10] = ' ';
      if (!s.empty() && s.back() == 'Z') {
        s.pop_back();
        s += "+00";
      }
      return s;
    }
    case Render::kText:
      if (v.is_string()) return v.get<std::string>();
      if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
      return v.dump();
  }
  return v.dump();
}

std::filesystem::path FileOf(const std::filesystem::path& dir, const std::string& schema,
                             const std::string& table) {
  return dir / (schema + "." + table + ".jsonl");
}

}  // namespace

SqlRows ReplayTable(const std::filesystem::path& dir, const std::string& schema,
                    const std::string& table, const std::vector<std::string>& key,
                    const std::vector<ReplayColumn>& columns) {
  std::map<std::string, nlohmann::json> rows;
  std::ifstream in(FileOf(dir, schema, table));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A line without its newline is still being written, or was torn by kill -9 (the sink cuts
    // it off when it restarts): not an event yet.
    if (in.eof()) break;
    nlohmann::json e;
    try {
      e = nlohmann::json::parse(line);
    } catch (const std::exception& ex) {
      throw HarnessError("replay: malformed line in " + FileOf(dir, schema, table).string() +
                         ": " + ex.what());
    }
    std::string op = e.value("op", "");
    if (op == "t") {
      rows.clear();
      continue;
    }
    const nlohmann::json& image = op == "d" ? e["before"] : e["after"];
    if (!image.is_object()) throw HarnessError("replay: event without row image: " + line);
    std::string k;
    for (const auto& col : key) k += image[col].dump() + "\x1f";
    if (op == "d") {
      rows.erase(k);
      continue;
    }
    if (op == "u" && e["before"].is_object()) {
      std::string old_key;
      for (const auto& col : key) old_key += e["before"][col].dump() + "\x1f";
      if (old_key != k && e["before"][key[0]] != kUnavailable) rows.erase(old_key);
    }
    nlohmann::json& target = rows[k];
    nlohmann::json merged = image;
    for (auto it = merged.begin(); it != merged.end(); ++it) {
      if (it.value().is_string() && it.value().get<std::string>() == kUnavailable) {
        it.value() = target.is_object() && target.contains(it.key()) ? target[it.key()]
                                                                     : nlohmann::json("<unavailable>");
      }
    }
    target = std::move(merged);
  }
  SqlRows out;
  for (const auto& [k, row] : rows) {
    SqlRow r;
    for (const auto& c : columns) {
      // A column added after the row was written is absent: NULL, as at the source.
      r.push_back(row.contains(c.name) ? RenderValue(row[c.name], c.render) : SqlValue());
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<nlohmann::json> ReadEvents(const std::filesystem::path& dir, const std::string& schema,
                                       const std::string& table, const std::string& op) {
  std::vector<nlohmann::json> events;
  std::ifstream in(FileOf(dir, schema, table));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || in.eof()) continue;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_discarded()) throw HarnessError("malformed line in " + FileOf(dir, schema, table).string());
    if (op.empty() || e.value("op", "") == op) events.push_back(std::move(e));
  }
  return events;
}

size_t CountEvents(const std::filesystem::path& dir, const std::string& schema,
                   const std::string& table, const std::string& op) {
  std::ifstream in(FileOf(dir, schema, table));
  std::string line;
  size_t n = 0;
  std::string needle = "\"op\":\"" + op + "\"";
  while (std::getline(in, line)) {
    if (!line.empty() && (op.empty() || line.find(needle) != std::string::npos)) ++n;
  }
  return n;
}

}  // namespace sluice::itest
