// The small-object pool behind detail::SmallAllocator (tensor headers, graph nodes).
//
// Every op allocates a TensorImpl and a Node and frees them a step later; on the per-row SGD of
// the tutorial that is ~20 malloc/free pairs per step at ~160 instructions each. Here a freed
// block goes onto this thread's free list for its 64-byte size class and the next request of that
// class pops it (a few instructions). A block freed by another thread simply joins that thread's
// list: blocks come from operator new, so any thread may hand them back to it. Each list keeps at
// most kMaxCached blocks; the rest go back to operator delete, as does everything when the thread
// ends.
#include <cstddef>
#include <new>

#include "ag/tensor.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define TAPEGRAD_POOL_OFF 1  // ASan must see every free, or it cannot report a use after free
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPEGRAD_POOL_OFF 1
#endif
#endif

namespace ag::detail {
namespace {

constexpr std::size_t kGrain = 64;      // size classes: 64, 128, ..., 1024 bytes
constexpr std::size_t kClasses = 16;
constexpr unsigned kMaxCached = 256;    // per class and thread: at most 256 KiB kept in the largest

struct FreeBlock {
  FreeBlock* next;
};

// Trivially destructible, so it stays usable while other thread_local objects are destroyed.
struct FreeLists {
  FreeBlock* head[kClasses];
  unsigned count[kClasses];
  bool registered;  // `drain` below is constructed
  bool closed;      // the thread is ending: no more caching
};
thread_local FreeLists lists;

struct Drain {  // returns this thread's cached blocks when the thread ends
  ~Drain() {
    lists.closed = true;
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = lists.head[c]) {
        lists.head[c] = b->next;
        ::operator delete(b);
      }
      lists.count[c] = 0;
    }
  }
};
thread_local Drain drain;

// The class of a block of `bytes`, or kClasses when it is not pooled.
inline std::size_t class_of(std::size_t bytes) {
  return bytes == 0 || bytes > kGrain * kClasses ? kClasses : (bytes - 1) / kGrain;
}

}  // namespace

bool small_pool_enabled() noexcept {
#ifdef TAPEGRAD_POOL_OFF
  return false;
#else
  return true;
#endif
}

std::size_t small_pool_cached_blocks() noexcept {
  std::size_t n = 0;
  for (std::size_t c = 0; c < kClasses; ++c) n += lists.count[c];
  return n;
}

void* small_alloc(std::size_t bytes) {
#ifndef TAPEGRAD_POOL_OFF
  const std::size_t c = class_of(bytes);
  if (c < kClasses) {
    if (FreeBlock* b = lists.head[c]) {
      lists.head[c] = b->next;
      --lists.count[c];
      return b;
    }
    return ::operator new((c + 1) * kGrain);  // the class's full size: any block fits any request
  }
#endif
  return ::operator new(bytes);
}

void small_free(void* p, [[maybe_unused]] std::size_t bytes) noexcept {
#ifndef TAPEGRAD_POOL_OFF
  const std::size_t c = class_of(bytes);
  if (c < kClasses && !lists.closed && lists.count[c] < kMaxCached) {
    if (!lists.registered) {
      lists.registered = true;
      Drain* volatile use = &drain;  // constructs it on this thread: the thread's end drains the lists
      (void)use;
    }
    FreeBlock* b = static_cast<FreeBlock*>(p);
    b->next = lists.head[c];
    lists.head[c] = b;
    ++lists.count[c];
    return;
  }
#endif
  ::operator delete(p);
}

}  // namespace ag::detail
