#include "core/column_policy.h"

#include <algorithm>

#include "core/column_hash.h"
#include "core/parse_number.h"

namespace sluice::core {
namespace {

constexpr std::string_view kMaskPrefix = "column.mask.";
constexpr std::string_view kHashPrefix = "column.mask.hash.";
constexpr std::string_view kMaskWithPrefix = "column.mask.with.";
constexpr std::string_view kTruncatePrefix = "column.truncate.to.";
constexpr std::string_view kSaltSeparator = ".with.salt.";
constexpr uint32_t kMaxChars = 1u << 20;

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// "<n>.chars" after a prefix: n in [1, kMaxChars].
Result<uint32_t> ParseChars(const std::string& key, std::string_view rest) {
  if (!rest.ends_with(".chars")) {
    return InvalidArgumentError(key + ": expected <n>.chars after the prefix (e.g. " +
                                std::string(key.substr(0, key.size() - rest.size())) +
                                "8.chars)");
  }
  std::string_view digits = rest.substr(0, rest.size() - 6);
  auto n = ParseNumber<uint32_t>(digits, key);
  if (!n.ok() || *n == 0 || *n > kMaxChars) {
    return InvalidArgumentError(key + ": the length must be a whole number from 1 to " +
                                std::to_string(kMaxChars) + ", got '" + std::string(digits) + "'");
  }
  return *n;
}

Result<ColumnRule> ParseRule(const std::string& key, const std::string& value) {
  ColumnRule rule;
  rule.key = key;
  std::string_view k = key;
  if (k.starts_with(kMaskWithPrefix)) {
    rule.kind = ColumnRuleKind::kMask;
    SLUICE_ASSIGN_OR_RETURN(rule.chars, ParseChars(key, k.substr(kMaskWithPrefix.size())));
    rule.mask.assign(rule.chars, '*');
  } else if (k.starts_with(kHashPrefix)) {
    rule.kind = ColumnRuleKind::kHash;
    std::string_view rest = k.substr(kHashPrefix.size());
    if (rest.starts_with("v2.")) {
      rule.v2 = true;
      rest.remove_prefix(3);
    } else if (rest.starts_with("v1.")) {
      rest.remove_prefix(3);
    }
    size_t sep = rest.find(kSaltSeparator);
    if (sep == std::string_view::npos || sep == 0) {
      return InvalidArgumentError(
          key + ": expected column.mask.hash[.v2].<algorithm>.with.salt.<salt> (e.g. "
                "column.mask.hash.SHA-256.with.salt.CzQMA0cB5K)");
    }
    std::string_view algorithm = rest.substr(0, sep);
    auto digest = DigestNameForJava(algorithm);
    if (!digest) {
      return InvalidArgumentError(key + ": hash algorithm '" + std::string(algorithm) +
                                  "' is not supported; use one of " +
                                  std::string(kSupportedJavaDigests));
    }
    rule.digest = *digest;
    rule.salt = std::string(rest.substr(sep + kSaltSeparator.size()));
  } else if (k.starts_with(kTruncatePrefix)) {
    rule.kind = ColumnRuleKind::kTruncate;
    SLUICE_ASSIGN_OR_RETURN(rule.chars, ParseChars(key, k.substr(kTruncatePrefix.size())));
  } else {
    return InvalidArgumentError(key + ": unknown column mask; use column.mask.with.<n>.chars or "
                                      "column.mask.hash[.v2].<algorithm>.with.salt.<salt>");
  }
  SLUICE_ASSIGN_OR_RETURN(rule.columns, CompileRegexList(key, value));
  if (rule.columns.empty()) {
    return InvalidArgumentError(key + ": list the columns (regexes on schema.table.column)");
  }
  return rule;
}

Result<std::vector<KeyRule>> ParseKeyRules(std::string_view value) {
  std::vector<KeyRule> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(';', start);
    if (end == std::string_view::npos) end = value.size();
    std::string entry = Trim(value.substr(start, end - start));
    start = end + 1;
    if (entry.empty()) continue;
    size_t colon = entry.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgumentError("message.key.columns: entry '" + entry +
                                  "' is not <table regex>:<column>,<column>");
    }
    KeyRule rule;
    SLUICE_ASSIGN_OR_RETURN(rule.table,
                            UserRegex::Compile("message.key.columns", Trim(entry.substr(0, colon))));
    rule.columns = SplitConfigList(std::string_view(entry).substr(colon + 1));
    if (rule.columns.empty()) {
      return InvalidArgumentError("message.key.columns: entry '" + entry + "' names no column");
    }
    out.push_back(std::move(rule));
  }
  if (out.empty()) {
    return InvalidArgumentError("message.key.columns is empty; remove it or list "
                                "<table regex>:<column>,<column>;…");
  }
  return out;
}

bool IsDatabaseSink(const ConnectorConfig& config) {
  std::string sink = config.Get("sink.type");
  return sink == "postgres" || sink == "mysql";
}

bool IsRuleKey(std::string_view key) {
  return key.starts_with(kMaskPrefix) || key.starts_with(kTruncatePrefix);
}

}  // namespace

std::vector<ConfigKey> ColumnPolicyConfigKeys() {
  std::vector<ConfigKey> keys;
  keys.push_back(MakeConfigKey("message.key.columns", ConfigType::kString, "",
                               "<table regex>:<column>,<column>;… — message keys from these "
                               "columns instead of the primary key (Kafka and file sinks)"));
  keys.push_back(MakePrefixConfigKey(std::string(kMaskPrefix),
                                     "column.mask.with.<n>.chars, column.mask.hash[.v2].<algorithm>"
                                     ".with.salt.<salt>: regexes on schema.table.column"));
  keys.push_back(MakePrefixConfigKey(std::string(kTruncatePrefix),
                                     "column.truncate.to.<n>.chars: regexes on schema.table.column"));
  return keys;
}

std::vector<ConfigIssue> ColumnPolicyIssues(const ConnectorConfig& config) {
  std::vector<ConfigIssue> out;
  for (const auto& [key, value] : config.values()) {
    if (!IsRuleKey(key)) continue;
    if (auto rule = ParseRule(key, value); !rule.ok()) {
      out.push_back({key, rule.status().message()});
    }
  }
  if (config.Has("message.key.columns")) {
    if (auto keys = ParseKeyRules(config.Get("message.key.columns")); !keys.ok()) {
      out.push_back({"message.key.columns", keys.status().message()});
    } else if (IsDatabaseSink(config)) {
      out.push_back({"message.key.columns",
                     "message.key.columns sets the Kafka message key; a database sink "
                     "(sink.type=" + config.Get("sink.type") +
                         ") keys its rows by the primary key and would merge rows that share "
                         "the chosen columns: remove it, or use sink.type=kafka"});
    }
  }
  return out;
}

Result<ColumnPolicy> ColumnPolicy::FromConfig(const ConnectorConfig& config) {
  ColumnPolicy policy;
  policy.database_sink_ = IsDatabaseSink(config);
  for (const auto& [key, value] : config.values()) {
    if (!IsRuleKey(key)) continue;
    SLUICE_ASSIGN_OR_RETURN(ColumnRule rule, ParseRule(key, value));
    policy.rules_.push_back(std::move(rule));
  }
  if (config.Has("message.key.columns")) {
    SLUICE_ASSIGN_OR_RETURN(policy.keys_, ParseKeyRules(config.Get("message.key.columns")));
  }
  return policy;
}

Result<ColumnPlan> PlanColumns(const ColumnPolicy& policy, const TableSchemaPtr& schema) {
  ColumnPlan plan;
  plan.schema = schema;
  plan.rule_of.assign(schema->columns.size(), -1);
  const std::string table = schema->id.ToString();
  for (size_t c = 0; c < schema->columns.size(); ++c) {
    const Column& column = schema->columns[c];
    const std::string name = table + "." + column.name;
    for (size_t r = 0; r < policy.rules().size(); ++r) {
      const ColumnRule& rule = policy.rules()[r];
      if (!AnyFullMatch(rule.columns, name)) continue;
      if (plan.rule_of[c] >= 0) {
        return InvalidArgumentError("column " + name + " is matched by both " +
                                    policy.rules()[plan.rule_of[c]].key + " and " + rule.key +
                                    "; a column takes one mask or truncation: narrow one list");
      }
      if (column.type != LogicalType::kString) {
        return InvalidArgumentError(
            rule.key + " matches column " + name + " of type " +
            std::string(LogicalTypeName(column.type)) + " (" + column.source_type +
            "); masks and truncation apply to character columns only: narrow the list");
      }
      plan.rule_of[c] = static_cast<int>(r);
      plan.rewrites_values = true;
    }
  }
  std::vector<uint32_t> key = schema->key;
  for (const KeyRule& rule : policy.key_rules()) {
    if (!rule.table.FullMatch(table)) continue;
    key.clear();
    for (size_t c = 0; c < schema->columns.size(); ++c) {
      const auto& cols = rule.columns;
      if (std::find(cols.begin(), cols.end(), schema->columns[c].name) != cols.end()) {
        key.push_back(static_cast<uint32_t>(c));
      }
    }
    for (const std::string& wanted : rule.columns) {
      if (schema->FindColumn(wanted) < 0) {
        return InvalidArgumentError("message.key.columns names column '" + wanted +
                                    "' for table " + table + ", which has no such column (or "
                                    "the column filters leave it out)");
      }
    }
    break;
  }
  if (policy.database_sink()) {
    for (uint32_t k : key) {
      if (plan.rule_of[k] >= 0) {
        return InvalidArgumentError(
            policy.rules()[plan.rule_of[k]].key + " changes key column " + table + "." +
            schema->columns[k].name + ", by which the database sink upserts: rows would merge "
            "or move; leave the key column out of the list");
      }
    }
  }
  // Debezium's mappers mark the field schema: masked=true (column.mask.*), and truncateLength
  // where a value could be longer than the limit (column.truncate.to.*).
  std::vector<std::vector<std::pair<std::string, std::string>>> parameters(schema->columns.size());
  bool marked = false;
  for (size_t c = 0; c < schema->columns.size(); ++c) {
    if (plan.rule_of[c] < 0) continue;
    const ColumnRule& rule = policy.rules()[plan.rule_of[c]];
    const int32_t length = schema->columns[c].length;
    if (rule.kind != ColumnRuleKind::kTruncate) {
      parameters[c].emplace_back("masked", "true");
    } else if (length <= 0 || static_cast<uint32_t>(length) > rule.chars) {
      parameters[c].emplace_back("truncateLength", std::to_string(rule.chars));
    }
    marked = marked || !parameters[c].empty();
  }
  if (key != schema->key || marked) {
    plan.custom_key = key != schema->key;
    auto derived = std::make_shared<TableSchema>(*schema);
    derived->key = std::move(key);
    for (size_t c = 0; c < derived->columns.size(); ++c) {
      auto& own = derived->columns[c].schema_parameters;
      own.insert(own.end(), parameters[c].begin(), parameters[c].end());
    }
    plan.schema = std::move(derived);
  }
  return plan;
}

struct ColumnRewriter::Hasher {
  ColumnHasher hasher;
};

ColumnRewriter::ColumnRewriter(ColumnPolicy policy)
    : policy_(std::move(policy)), hasher_(std::make_unique<Hasher>()) {}

ColumnRewriter::~ColumnRewriter() = default;

Result<const ColumnPlan*> ColumnRewriter::PlanFor(const TableSchemaPtr& schema) {
  auto it = plans_.find(schema.get());
  if (it != plans_.end()) return &it->second.plan;
  SLUICE_ASSIGN_OR_RETURN(ColumnPlan plan, PlanColumns(policy_, schema));
  auto [pos, inserted] = plans_.emplace(schema.get(), Entry{schema, std::move(plan)});
  return &pos->second.plan;
}

Status ColumnRewriter::CopyRow(const RowView& row, const ColumnPlan& plan,
                               const TableSchema& schema, bool old_image) {
  out_.BeginRow();
  const std::vector<uint32_t>& key = plan.schema->key;
  for (uint32_t i = 0; i < row.size(); ++i) {
    const int r = i < plan.rule_of.size() ? plan.rule_of[i] : -1;
    if (old_image && plan.custom_key && row.is_unchanged(i) &&
        std::find(key.begin(), key.end(), i) != key.end() &&
        (r < 0 || policy_.rules()[r].kind != ColumnRuleKind::kMask)) {
      out_.AppendNull();
      continue;
    }
    if (r < 0) {
      switch (row.state(i)) {
        case CellState::kNull: out_.AppendNull(); break;
        case CellState::kUnchanged: out_.AppendUnchanged(); break;
        case CellState::kPresent: out_.AppendValue(row.text(i)); break;
      }
      continue;
    }
    const ColumnRule& rule = policy_.rules()[r];
    if (rule.kind == ColumnRuleKind::kMask) {
      out_.AppendValue(rule.mask);
      continue;
    }
    if (!row.is_present(i)) {
      if (row.is_null(i)) out_.AppendNull(); else out_.AppendUnchanged();
      continue;
    }
    const Column& column = schema.columns[i];
    if (rule.kind == ColumnRuleKind::kTruncate) {
      auto cut = Utf16Prefix(row.text(i), rule.chars);
      if (!cut) {
        out_.AbandonRow();
        return InvalidArgumentError(rule.key + ": cutting the value of " + schema.id.ToString() +
                                    "." + column.name + " at " + std::to_string(rule.chars) +
                                    " UTF-16 units would split a character outside the Basic "
                                    "Multilingual Plane (Debezium would emit half of it): "
                                    "choose another length");
      }
      out_.AppendValue(*cut);
      continue;
    }
    auto status = hasher_->hasher.Hash(rule.digest, rule.salt, rule.v2, row.text(i));
    if (!status.ok()) {
      out_.AbandonRow();
      return status.status().WithContext(rule.key + " on " + schema.id.ToString() + "." +
                                         column.name);
    }
    std::string_view hex = *status;
    if (column.length > 0 && hex.size() > static_cast<size_t>(column.length)) {
      hex = hex.substr(0, static_cast<size_t>(column.length));
    }
    out_.AppendValue(hex);
  }
  out_.EndRow();
  return Status::Ok();
}

Result<const EventBatch*> ColumnRewriter::Apply(const EventBatch& in) {
  bool touched = false;
  for (const auto& table : in.announced_tables()) {
    SLUICE_ASSIGN_OR_RETURN(const ColumnPlan* plan, PlanFor(table));
    touched = touched || plan->schema != table;
  }
  for (const auto& event : in.events()) {
    if (!event.table) continue;
    SLUICE_ASSIGN_OR_RETURN(const ColumnPlan* plan, PlanFor(event.table));
    touched = touched || plan->rewrites_values || plan->schema != event.table;
  }
  if (!touched) return &in;
  out_.Clear();
  for (const auto& txn : in.txns()) out_.AddTxn(txn);
  // Events keep their order and count, so the BEGIN / COMMIT boundaries keep their indexes
  // (provide.transaction.metadata would otherwise lose them for a rewritten batch).
  for (const auto& boundary : in.boundaries()) out_.AddBoundary(boundary);
  for (const auto& change : in.schema_changes()) out_.AddSchemaChange(change);  // same indexes
  for (const LogicalMessage& m : in.logical_messages()) {  // same indexes; their bytes are copied
    out_.AddLogicalMessage(m, in.message_prefix(m), in.message_content(m));
  }
  for (uint32_t q = 0; q < in.query_count(); ++q) out_.AddQuery(in.query(q));  // same indexes
  for (const auto& table : in.announced_tables()) out_.AnnounceTable(plans_.at(table.get()).plan.schema);
  for (const auto& event : in.events()) {
    ChangeEvent copy = event;
    if (event.table) {
      const ColumnPlan& plan = plans_.at(event.table.get()).plan;
      copy.table = plan.schema;
      for (uint32_t* row : {&copy.before, &copy.after}) {
        if (*row == kNoRow) continue;
        const uint32_t index = out_.row_count();
        SLUICE_RETURN_IF_ERROR(CopyRow(in.row(*row), plan, *event.table, row == &copy.before));
        *row = index;
      }
    }
    out_.AddEvent(std::move(copy));
  }
  out_.set_checkpoint(in.checkpoint());
  return &out_;
}

namespace {

// Passes every batch through a ColumnRewriter on its way to the wrapped sink.
class ColumnPolicySink final : public Sink {
 public:
  ColumnPolicySink(ColumnPolicy policy, std::unique_ptr<Sink> inner)
      : rewriter_(std::move(policy)), inner_(std::move(inner)) {}

  Status Open() override { return inner_->Open(); }
  Result<std::optional<SourcePosition>> LoadCommittedPosition() override {
    return inner_->LoadCommittedPosition();
  }
  Status Write(const EventBatch& batch) override {
    SLUICE_ASSIGN_OR_RETURN(const EventBatch* out, rewriter_.Apply(batch));
    return inner_->Write(*out);
  }
  Result<std::optional<SourcePosition>> Flush() override { return inner_->Flush(); }
  Status Reset() override { return inner_->Reset(); }
  Status Check() override { return inner_->Check(); }
  void Close() override { inner_->Close(); }

 private:
  ColumnRewriter rewriter_;
  std::unique_ptr<Sink> inner_;
};

}  // namespace

std::unique_ptr<Sink> WithColumnPolicy(ColumnPolicy policy, std::unique_ptr<Sink> sink) {
  if (policy.empty()) return sink;
  return std::make_unique<ColumnPolicySink>(std::move(policy), std::move(sink));
}

}  // namespace sluice::core
