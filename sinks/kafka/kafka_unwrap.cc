// RecordEncoder's ExtractNewRecordState values (see kafka_envelope.h): the flat row, the
// add.fields taken from the envelope the encoder would otherwise write, and their schemas.
#include <charconv>

#include "core/value_text.h"
#include "sinks/kafka/kafka_envelope.h"

namespace sluice::sinks::kafka_sink {

namespace {

using Deletes = core::NewRecordStateOptions::Deletes;

// End of the JSON value starting at `pos` in `text` (text sluice wrote: well formed).
size_t ValueEnd(std::string_view text, size_t pos) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = pos; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return i + 1;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      if (--depth == 0) return i + 1;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return text.size();
}

// Calls fn(name, value) for each member of the object, or fn("", element) for each element of
// the array, that `text` starts with.
template <typename Fn>
void ForEachMember(std::string_view text, Fn fn) {
  bool object = !text.empty() && text[0] == '{';
  size_t i = 1;
  while (i < text.size() && text[i] != '}' && text[i] != ']') {
    std::string_view name;
    if (object) {
      size_t end = ValueEnd(text, i);
      name = text.substr(i + 1, end - i - 2);
      i = end + 1;  // past ':'
    }
    size_t end = ValueEnd(text, i);
    fn(name, text.substr(i, end - i));
    i = end < text.size() && text[end] == ',' ? end + 1 : end;
  }
}

std::string_view Member(std::string_view object, std::string_view name) {
  std::string_view found;
  ForEachMember(object, [&](std::string_view n, std::string_view v) {
    if (found.empty() && n == name) found = v;
  });
  return found;
}

// The field schema named `name` in the "fields" array of struct schema `schema`.
std::string_view FieldSchema(std::string_view schema, std::string_view name) {
  std::string_view found;
  ForEachMember(Member(schema, "fields"), [&](std::string_view, std::string_view field) {
    if (found.empty() && Member(field, "field").substr(1) == std::string(name) + '"') found = field;
  });
  return found;
}

bool IsEnvelopeField(std::string_view field) {
  return field == "op" || field == "ts_ms" || field == "ts_us" || field == "ts_ns";
}

using core::AppendInt;

}  // namespace

bool RecordEncoder::DropsValue(const core::ChangeEvent& event) const {
  if (!unwrap_) return false;
  // Debezium drops truncates (no before, no after) and, under drop, deletes.
  return event.op == core::Op::kTruncate ||
         (event.op == core::Op::kDelete && unwrap_->deletes == Deletes::kDrop);
}

void RecordEncoder::AppendFlatSchemas(SchemaBlocks& b, const core::TableSchema& schema,
                                      std::string_view record) {
  auto row_struct = [&](std::string& out, bool optional, auto&& extra) {
    out += "{\"type\":\"struct\",\"fields\":[";
    for (size_t i = 0; i < schema.columns.size(); ++i) {
      if (i) out += ',';
      core::AppendFieldSchemaJson(out, schema.columns[i], options_.modes,
                                  options_.source_types.TypeParameterFor(schema, schema.columns[i]));
    }
    extra(out, !schema.columns.empty());
    out += optional ? "],\"optional\":true,\"name\":" : "],\"optional\":false,\"name\":";
    core::AppendJsonString(out, std::string(record) + ".Value");
    out += '}';
  };
  row_struct(b.flat_null, true, [](std::string&, bool) {});
  // Kafka Connect rebuilds the struct (not optional) when a field is added.
  bool adds = !unwrap_->add_fields.empty() || unwrap_->deletes == Deletes::kRewrite;
  std::string_view envelope = b.value;
  std::string_view source = FieldSchema(envelope, "source");
  row_struct(b.flat, !adds, [&](std::string& out, bool comma) {
    for (size_t i = 0; i < unwrap_->add_fields.size(); ++i) {
      std::string_view field = unwrap_->add_fields[i];
      if (field.starts_with("source.")) field.remove_prefix(7);
      std::string_view from = IsEnvelopeField(unwrap_->add_fields[i]) ? envelope : source;
      std::string_view text = FieldSchema(from, field);
      std::string_view old_name = Member(text, "field");
      size_t at = static_cast<size_t>(old_name.data() - text.data());
      if (comma) out += ',';
      comma = true;
      out.append(text.substr(0, at));
      core::AppendJsonString(out, unwrap_->add_field_names[i]);
      out.append(text.substr(at + old_name.size()));
    }
    if (unwrap_->deletes == Deletes::kRewrite) {
      if (comma) out += ',';
      out += "{\"type\":\"string\",\"optional\":true,\"field\":\"__deleted\"}";
    }
  });
}

bool RecordEncoder::AppendFlat(const core::EventBatch& batch, const core::ChangeEvent& event,
                               const SchemaBlocks& blocks, int64_t now_ns) {
  bool deleted = event.op == core::Op::kDelete;
  uint32_t row = deleted ? event.before : event.after;
  if ((deleted && unwrap_->deletes == Deletes::kNone) || row == core::kNoRow) {
    value_ += "null";  // JsonConverter's form of a null value under an optional schema
    return true;
  }
  bool exact = AppendRow(*event.table, blocks, batch.row(row), deleted);
  value_.pop_back();  // the row's '}': the added fields follow
  bool comma = !event.table->columns.empty();
  std::string_view source;
  for (size_t i = 0; i < unwrap_->add_fields.size(); ++i) {
    std::string_view field = unwrap_->add_fields[i];
    if (comma) value_ += ',';
    comma = true;
    core::AppendJsonString(value_, unwrap_->add_field_names[i]);
    value_ += ':';
    if (field == "op") {
      value_ += '"';
      value_ += static_cast<char>(event.op);
      value_ += '"';
    } else if (field == "ts_ms") {
      AppendInt(value_, now_ns / 1000000);
    } else if (field == "ts_us") {
      AppendInt(value_, now_ns / 1000);
    } else if (field == "ts_ns") {
      AppendInt(value_, now_ns);
    } else {
      if (source.empty()) {
        std::string_view text = SourceJson(batch, event);
        source = text.substr(text.find('{'));
      }
      if (field.starts_with("source.")) field.remove_prefix(7);
      std::string_view v = Member(source, field);
      value_.append(v.empty() ? std::string_view("null") : v);
    }
  }
  if (unwrap_->deletes == Deletes::kRewrite) {
    if (comma) value_ += ',';
    value_ += deleted ? "\"__deleted\":\"true\"" : "\"__deleted\":\"false\"";
  }
  value_ += '}';
  return exact;
}

}  // namespace sluice::sinks::kafka_sink
