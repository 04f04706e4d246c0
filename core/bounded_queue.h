// BoundedQueue: the queue between the source thread and the sink thread, bounded in items and in
// bytes, so a slow sink slows the source and memory stays flat. One oversized item is always
// admitted into an empty queue (so a huge transaction cannot deadlock).
//
// Thread-safety: thread-safe; one producer and one consumer are the intended use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>

namespace sluice::core {

template <typename T>
class BoundedQueue {
 public:
  BoundedQueue(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Blocks while full; returns false (dropping nothing, item untouched) once `stop` is requested
  // or Close() was called.
  bool Push(T& item, size_t items, size_t bytes, std::stop_token stop) {
    return PushFor(item, items, bytes, stop, std::chrono::milliseconds::max()) == PushResult::kPushed;
  }

  enum class PushResult { kPushed, kTimedOut, kStopped };
  // As Push, but gives up after `timeout` while still full (kTimedOut, item untouched).
  PushResult PushFor(T& item, size_t items, size_t bytes, std::stop_token stop,
                     std::chrono::milliseconds timeout) {
    // The callback is registered before taking the lock: it runs at once if stop was already
    // requested, and it takes the lock itself.
    std::stop_callback wake(stop, [this] { NotifyAll(); });
    std::unique_lock lock(mu_);
    auto room = [&] {
      return closed_ || stop.stop_requested() || queue_.empty() ||
             (items_ + items <= max_items_ && bytes_ + bytes <= max_bytes_);
    };
    if (timeout == std::chrono::milliseconds::max()) {
      not_full_.wait(lock, room);
    } else if (!not_full_.wait_for(lock, timeout, room)) {
      return PushResult::kTimedOut;
    }
    if (closed_ || stop.stop_requested()) return PushResult::kStopped;
    queue_.push_back(Entry{std::move(item), items, bytes});
    items_ += items;
    bytes_ += bytes;
    not_empty_.notify_one();
    return PushResult::kPushed;
  }

  // Waits up to `timeout` for an item; nullopt on timeout, stop, or closed and empty.
  std::optional<T> Pop(std::chrono::milliseconds timeout, std::stop_token stop) {
    // The callback is registered before taking the lock: it runs at once if stop was already
    // requested, and it takes the lock itself.
    std::stop_callback wake(stop, [this] { NotifyAll(); });
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, timeout,
                        [&] { return !queue_.empty() || closed_ || stop.stop_requested(); });
    if (queue_.empty() || stop.stop_requested()) return std::nullopt;
    Entry e = std::move(queue_.front());
    queue_.pop_front();
    items_ -= e.items;
    bytes_ -= e.bytes;
    not_full_.notify_one();
    return std::move(e.value);
  }

  // No more pushes; Pop drains what is left.
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t items() const { std::lock_guard lock(mu_); return items_; }
  size_t bytes() const { std::lock_guard lock(mu_); return bytes_; }
  bool closed_and_empty() const { std::lock_guard lock(mu_); return closed_ && queue_.empty(); }

 private:
  struct Entry {
    T value;
    size_t items;
    size_t bytes;
  };
  void NotifyAll() {
    // Take the lock so a waiter cannot miss the wake-up between its check and its wait.
    std::lock_guard lock(mu_);
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Entry> queue_;
  size_t items_ = 0;
  size_t bytes_ = 0;
  size_t max_items_;
  size_t max_bytes_;
  bool closed_ = false;
};

}  // namespace sluice::core
