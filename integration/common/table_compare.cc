#include "integration/common/table_compare.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace sluice::itest {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

void Mix(uint64_t& hash, const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= kFnvPrime;
  }
}

void MixLength(uint64_t& hash, uint64_t length) { Mix(hash, &length, sizeof(length)); }

SqlRows Sorted(const SqlRows& rows) {
  SqlRows sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

uint64_t ChecksumOfSorted(const SqlRows& sorted) {
  uint64_t hash = kFnvOffset;
  MixLength(hash, sorted.size());
  for (const auto& row : sorted) {
    MixLength(hash, row.size());
    for (const auto& value : row) {
      if (!value) {
        unsigned char null_tag = 0;
        Mix(hash, &null_tag, 1);
        continue;
      }
      unsigned char value_tag = 1;
      Mix(hash, &value_tag, 1);
      MixLength(hash, value->size());
      Mix(hash, value->data(), value->size());
    }
  }
  return hash;
}

std::string Hex(uint64_t value) {
  char text[20];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

std::string RowToString(const SqlRow& row) {
  std::string text = "(";
  for (size_t i = 0; i < row.size(); ++i) {
    if (i > 0) text += ", ";
    if (!row[i]) {
      text += "NULL";
      continue;
    }
    text += '\'';
    for (unsigned char c : *row[i]) {
      if (c == '\n') {
        text += "\\n";
      } else if (c == '\t') {
        text += "\\t";
      } else if (c == '\\' || c == '\'') {
        text += '\\';
        text += static_cast<char>(c);
      } else if (c < 0x20 || c == 0x7f) {
        char escaped[8];
        std::snprintf(escaped, sizeof(escaped), "\\x%02x", c);
        text += escaped;
      } else {
        text += static_cast<char>(c);
      }
      if (text.size() > 400) {
        text += "...";
        break;
      }
    }
    text += '\'';
  }
  return text + ")";
}

uint64_t RowsChecksum(const SqlRows& rows) { return ChecksumOfSorted(Sorted(rows)); }

::testing::AssertionResult TablesMatch(const SqlRows& source, const SqlRows& target,
                                       size_t max_rows_shown) {
  SqlRows sorted_source = Sorted(source);
  SqlRows sorted_target = Sorted(target);
  uint64_t source_sum = ChecksumOfSorted(sorted_source);
  uint64_t target_sum = ChecksumOfSorted(sorted_target);
  if (source.size() == target.size() && source_sum == target_sum) {
    return ::testing::AssertionSuccess();
  }

  // Multiset difference by a merge walk over the sorted rows.
  SqlRows only_source, only_target;
  size_t only_source_count = 0, only_target_count = 0;
  size_t i = 0, j = 0;
  while (i < sorted_source.size() || j < sorted_target.size()) {
    if (j == sorted_target.size() ||
        (i < sorted_source.size() && sorted_source[i] < sorted_target[j])) {
      if (only_source.size() < max_rows_shown) only_source.push_back(sorted_source[i]);
      ++only_source_count;
      ++i;
    } else if (i == sorted_source.size() || sorted_target[j] < sorted_source[i]) {
      if (only_target.size() < max_rows_shown) only_target.push_back(sorted_target[j]);
      ++only_target_count;
      ++j;
    } else {
      ++i;
      ++j;
    }
  }

  std::ostringstream message;
  long long difference = static_cast<long long>(target.size()) - static_cast<long long>(source.size());
  message << "tables differ: source has " << source.size() << " rows (checksum " << Hex(source_sum)
          << "), target has " << target.size() << " rows (checksum " << Hex(target_sum)
          << "), count difference " << (difference > 0 ? "+" : "") << difference << "; "
          << only_source_count << " source rows missing from the target, " << only_target_count
          << " target rows not in the source";
  if (!sorted_source.empty() && !sorted_target.empty() &&
      sorted_source.front().size() != sorted_target.front().size()) {
    message << "; column counts differ (" << sorted_source.front().size() << " vs "
            << sorted_target.front().size() << "): do both queries select the same columns?";
  }
  if (!only_source.empty()) {
    message << "\n  only in source (first " << only_source.size() << "):";
    for (const auto& row : only_source) message << "\n    " << RowToString(row);
  }
  if (!only_target.empty()) {
    message << "\n  only in target (first " << only_target.size() << "):";
    for (const auto& row : only_target) message << "\n    " << RowToString(row);
  }
  return ::testing::AssertionFailure() << message.str();
}

void ExpectTablesEqual(const SqlRows& source, const SqlRows& target, std::source_location where) {
  ::testing::AssertionResult result = TablesMatch(source, target);
  if (!result) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << result.message();
  }
}

}  // namespace sluice::itest
