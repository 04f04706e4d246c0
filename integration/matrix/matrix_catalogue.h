// The type matrix's catalogue: for each source dialect, families of types (one source table per
// family, one column per type and sample group, one row per sample), as SQL literals.
#pragma once

#include <string>
#include <vector>

namespace sluice::itest::matrix {

// One column of a family table: a type and the samples it holds (SQL literals; one row each).
// Samples that a target may refuse (NaN, infinity, far dates) sit in a column of their own, so a
// refusal takes only them out of the comparison.
struct TypeCase {
  std::string label;                // column name suffix and README sample group, e.g. "int2"
  std::string type;                 // the source column type, e.g. "smallint"
  std::vector<std::string> values;  // SQL literals
};

struct Family {
  std::string name;   // table "t_<name>"
  std::string setup;  // SQL run before the table is created (types, domains)
  std::vector<TypeCase> cases;
};

const std::vector<Family>& PgFamilies();
const std::vector<Family>& MariadbFamilies();

}  // namespace sluice::itest::matrix
