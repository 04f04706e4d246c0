#include "sinks/kafka/kafka_arena.h"

namespace sluice::sinks::kafka_sink {

RecordArena* ArenaPool::Take() {
  std::lock_guard lock(mu_);
  RecordArena* arena;
  if (!free_.empty()) {
    arena = free_.back();
    free_.pop_back();
  } else {
    all_.push_back(std::make_unique<RecordArena>());
    arena = all_.back().get();
    arena->pool = this;
    // A stage's worth (up to 2,048 records of a few hundred bytes) without regrowing; pages
    // are only touched as records are written.
    arena->bytes.reserve(kInitialBytes);
  }
  arena->bytes.clear();
  arena->refs.store(1, std::memory_order_relaxed);
  return arena;
}

void ArenaPool::Release(RecordArena* arena, size_t n) {
  if (n == 0) return;
  // acq_rel: the last releaser sees every write to the bytes before the arena is reused.
  if (arena->refs.fetch_sub(n, std::memory_order_acq_rel) != n) return;
  ArenaPool* pool = arena->pool;
  std::lock_guard lock(pool->mu_);
  pool->free_.push_back(arena);
}

void ArenaPool::ReclaimAll() {
  std::lock_guard lock(mu_);
  free_.clear();
  for (auto& arena : all_) {
    arena->refs.store(0, std::memory_order_relaxed);
    free_.push_back(arena.get());
  }
}

size_t ArenaPool::size() const {
  std::lock_guard lock(mu_);
  return all_.size();
}

size_t ArenaPool::free_count() const {
  std::lock_guard lock(mu_);
  return free_.size();
}

}  // namespace sluice::sinks::kafka_sink
