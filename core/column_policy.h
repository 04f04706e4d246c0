// ColumnPolicy: Debezium's per-column value rules and custom message keys, applied to events
// between the source and the sink, so that snapshot and stream, and every sink, see the same
// result:
//
//   message.key.columns = <table regex>:<column>,<column>;<table regex>:<column>;…
//       the key of a matching table ("schema.table", first matching entry) is these columns (in
//       table order) instead of the primary key; a keyless table gets one. Kafka and file sinks
//       only: a database sink keys its rows by the primary key (ColumnPolicyIssues refuses it).
//   column.mask.with.<n>.chars = <column regexes>
//       the value becomes n asterisks (a null too, as Debezium's mask is unconditional).
//   column.mask.hash.<algorithm>.with.salt.<salt> = <column regexes>
//   column.mask.hash.v2.<algorithm>.with.salt.<salt> = <column regexes>
//       the value becomes the lowercase hex digest of salt + the value's bytes (v1: the bytes of
//       Java's serialization of the string, as Debezium's default strategy; v2: its UTF-8
//       bytes), cut to the column's declared length when it has one. Nulls stay null.
//       Algorithms: Java's MessageDigest names (MD5, SHA-1, SHA-224/256/384/512,
//       SHA-512/224, SHA-512/256, SHA3-224/256/384/512).
//   column.truncate.to.<n>.chars = <column regexes>
//       a longer value is cut to n characters, counted as Java does (UTF-16 code units); a cut
//       that would split a surrogate pair is refused rather than emit half a character.
//
// Column regexes match the whole "schema.table.column" (MySQL: "database.table.column"). These
// rules apply to character columns (LogicalType::kString); one matching any other column, or a
// column matched by two rules, stops the table with kInvalidArgument naming the column. A rule
// that changes the values of a key column is refused with a database sink (it would merge rows).
// An unchanged (TOASTed) value stays unchanged, except under a mask, which replaces it, and in
// a custom key column of an old image, where it becomes null.
//
// Plans are built once per table schema (the first event of that schema) and cached; applying
// one copies the batch's rows with the rules applied: no per-value allocation or virtual call.
//
// Thread-safety: ColumnPolicy is immutable after FromConfig. ColumnPolicySink is used by one
// thread at a time, as every Sink.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/event.h"
#include "core/sink.h"
#include "core/status.h"
#include "core/user_regex.h"

namespace sluice::core {

// The ConfigDef keys: message.key.columns and the column.mask. / column.truncate.to. prefixes.
std::vector<ConfigKey> ColumnPolicyConfigKeys();

// Every problem of those keys (names, values, and message.key.columns with a database sink).
std::vector<ConfigIssue> ColumnPolicyIssues(const ConnectorConfig& config);

enum class ColumnRuleKind : uint8_t { kMask, kHash, kTruncate };

struct ColumnRule {
  std::string key;  // the config key, for messages
  ColumnRuleKind kind = ColumnRuleKind::kMask;
  uint32_t chars = 0;          // kMask: asterisks; kTruncate: the longest value
  std::string mask;            // kMask: the replacement text
  std::string digest;          // kHash: OpenSSL's name of the algorithm
  std::string salt;            // kHash
  bool v2 = false;             // kHash: hash the UTF-8 bytes instead of Java's serialization
  std::vector<UserRegex> columns;
};

struct KeyRule {
  UserRegex table;
  std::vector<std::string> columns;
};

class ColumnPolicy {
 public:
  // kInvalidArgument naming the key for a malformed key or value.
  static Result<ColumnPolicy> FromConfig(const ConnectorConfig& config);

  bool empty() const { return rules_.empty() && keys_.empty(); }
  const std::vector<ColumnRule>& rules() const { return rules_; }
  const std::vector<KeyRule>& key_rules() const { return keys_; }
  // A database sink (keys rows by the primary key): value rules may not touch key columns.
  bool database_sink() const { return database_sink_; }

 private:
  std::vector<ColumnRule> rules_;
  std::vector<KeyRule> keys_;
  bool database_sink_ = false;
};

// What a policy does to one table: its output schema and, per column, the rule that rewrites
// its values (-1: copied as is).
struct ColumnPlan {
  TableSchemaPtr schema;          // the output schema (the input's own when only values change)
  std::vector<int> rule_of;       // per column
  bool rewrites_values = false;
  // message.key.columns chose the key: in an old image (a delete's, with PostgreSQL's default
  // replica identity) a key column the source did not send becomes null, as in Debezium's
  // before image, instead of the unavailable-value placeholder.
  bool custom_key = false;
};

// The plan for `schema`; kInvalidArgument naming the table and column when a rule cannot apply.
Result<ColumnPlan> PlanColumns(const ColumnPolicy& policy, const TableSchemaPtr& schema);

// Applies plans to batches; keeps one plan per input schema and reuses its output batch.
class ColumnRewriter {
 public:
  explicit ColumnRewriter(ColumnPolicy policy);
  ~ColumnRewriter();
  ColumnRewriter(const ColumnRewriter&) = delete;
  ColumnRewriter& operator=(const ColumnRewriter&) = delete;

  // `in` itself when no event or announcement of it is touched, else the rewritten copy (valid
  // until the next call). kInvalidArgument naming the column for a value a rule refuses.
  Result<const EventBatch*> Apply(const EventBatch& in);

 private:
  struct Entry {
    TableSchemaPtr input;  // keeps the key pointer alive
    ColumnPlan plan;
  };
  Result<const ColumnPlan*> PlanFor(const TableSchemaPtr& schema);
  Status CopyRow(const RowView& row, const ColumnPlan& plan, const TableSchema& schema,
                 bool old_image);

  ColumnPolicy policy_;
  std::map<const TableSchema*, Entry> plans_;
  EventBatch out_;
  struct Hasher;
  std::unique_ptr<Hasher> hasher_;
};

// Wraps `sink` so that every batch passes through the policy first; `sink` itself when the
// policy is empty.
std::unique_ptr<Sink> WithColumnPolicy(ColumnPolicy policy, std::unique_ptr<Sink> sink);

}  // namespace sluice::core
