// The StateStore contract (tests/core/state_store_conformance.h) run against SqliteStateStore.
#include <filesystem>
#include <memory>

#include "core/sqlite_state_store.h"
#include "tests/core/state_store_conformance.h"

namespace sluice::core {
namespace {

struct SqliteImplementation {
  static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& dir) {
    auto store = SqliteStateStore::Open((dir / "state.db").string());
    if (!store.ok()) return store.status();
    return std::unique_ptr<StateStore>(std::move(*store));
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StateStoreConformance, SqliteImplementation);

}  // namespace
}  // namespace sluice::core
