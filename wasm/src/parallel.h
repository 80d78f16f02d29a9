// T tasks, P threads (attn::thread_count()).
//
// parallel_for: the engine's one parallel loop. body(t) runs once for every t in [0, T), on the pool's worker
// threads and the calling thread, which returns when every task has finished. Tasks are handed out in order,
// one at a time (dynamic scheduling), so tasks of unequal cost still balance. Without threads (see
// attn/threads.h), on one thread, inside another parallel_for, or with T = 1, it is `for (t = 0; t < T; ++t)`.
#pragma once

#include <type_traits>

#include "attn/threads.h"

namespace attn {

// Below about 4.2M multiply-adds a kernel call stays on one thread: waking the pool costs more than it gives
// (attention.cpp has the measurement).
constexpr double kParallelMinMacs = 1 << 22;

// The type-erased loop behind parallel_for (parallel.cpp).
void parallel_for_impl(int tasks, void (*body)(void* context, int task), void* context);

template <typename Body>
void parallel_for(int tasks, Body&& body) {
  using B = std::remove_reference_t<Body>;
  parallel_for_impl(tasks, [](void* context, int task) { (*static_cast<B*>(context))(task); },
                    const_cast<void*>(static_cast<const void*>(&body)));
}

// The b-th of `parts` nearly equal ranges of [0, n), with inner bounds rounded down to a multiple of `align`:
// range b is [split_point(n, parts, b, align), split_point(n, parts, b + 1, align)), possibly empty.
inline int split_point(int n, int parts, int b, int align) {
  if (b >= parts) return n;
  const long p = long(n) * b / parts;
  return int(p - p % align);
}

}  // namespace attn
