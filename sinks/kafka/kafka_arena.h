// RecordArena / ArenaPool: the memory the Kafka sink's records are rendered into, kept alive
// until librdkafka has delivered (or given up on) every record that points into it.
//
// Why: with RD_KAFKA_MSG_F_COPY librdkafka allocates and copies every value (~330 bytes for a
// snapshot row) on the producing thread, only to copy it again into the produce request. The
// records are produced without the flag instead: each message points into its arena and
// carries the arena as its msg_opaque; the delivery report (KafkaSink::OnDelivery, success or
// failure, purges included) releases it. An arena returns to the pool's free list when the
// stage that filled it is done with it and the last of its records was reported.
//
// Lifetime: the pool owns every arena and must outlive the librdkafka handle whose messages
// point into them (KafkaSink declares it before the handle). Messages that librdkafka drops
// without a report (rd_kafka_destroy) never release theirs: ReclaimAll() after the handle is
// destroyed makes every arena free again.
// Thread-safety: Take/Release/ReclaimAll from any thread (the sink thread, the stage producer's
// thread, librdkafka's delivery reports on either); an arena's bytes belong to the one stage
// that took it until that stage releases it.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::sinks::kafka_sink {

class ArenaPool;

struct RecordArena {
  std::string bytes;
  // One for the stage that fills it, plus one per record librdkafka holds.
  std::atomic<size_t> refs{0};
  ArenaPool* pool = nullptr;
};

class ArenaPool {
 public:
  static constexpr size_t kInitialBytes = 1 << 20;  // capacity of a new arena

  ArenaPool() = default;
  ArenaPool(const ArenaPool&) = delete;
  ArenaPool& operator=(const ArenaPool&) = delete;

  // An empty arena with one reference (the caller's).
  RecordArena* Take();
  // Drops `n` references; the last one returns the arena to its pool.
  static void Release(RecordArena* arena, size_t n = 1);
  // Every arena free again. Only when nothing refers to them any more: no stage holds one and
  // the librdkafka handle that had records in them is destroyed.
  void ReclaimAll();
  // Arenas owned (free or not), for tests.
  size_t size() const;
  size_t free_count() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<RecordArena>> all_;  // guarded by mu_
  std::vector<RecordArena*> free_;                 // guarded by mu_
};

}  // namespace sluice::sinks::kafka_sink
