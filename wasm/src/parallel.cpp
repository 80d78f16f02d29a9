// T tasks, P threads.
//
// The thread pool behind parallel_for (parallel.h): P - 1 worker threads (pthreads: Web Workers in the
// Emscripten build) that sleep on a condition variable between loops, plus the calling thread.
#include "parallel.h"

#include <algorithm>

#if defined(ATTN_THREADS) && ATTN_THREADS
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>
#endif

namespace attn {

#if defined(ATTN_THREADS) && ATTN_THREADS
namespace {

// Set while a thread runs tasks: a parallel_for inside a task runs sequentially (no nested pools).
thread_local bool tl_in_task = false;

class Pool {
 public:
  // Never destroyed: its workers sleep until the program (the module) ends.
  static Pool& instance() {
    static Pool* pool = new Pool();
    return *pool;
  }

  int set_count(int n) {
    n = std::max(1, n);
    std::lock_guard<std::mutex> call(call_mu_);
    while (int(workers_.size()) < n - 1) {
      pthread_t id;
      // A worker knows its index and the last job published before it (it may start running only after a
      // later job was published, and that one it must not miss).
      std::uint64_t generation;
      {
        std::lock_guard<std::mutex> lock(mu_);
        generation = generation_;
      }
      auto* arg = new WorkerArg{this, int(workers_.size()), generation};
      if (pthread_create(&id, nullptr, &Pool::worker_main, arg) != 0) {
        delete arg;
        break;  // no more threads to be had (in WASM: the Web Worker pool is exhausted)
      }
      pthread_detach(id);
      std::lock_guard<std::mutex> lock(mu_);
      workers_.push_back(id);
    }
    count_ = std::min(n, int(workers_.size()) + 1);
    return count_;
  }

  int count() const { return count_; }

  // pass 1: publish the job and wake every worker; pass 2: take tasks on this thread too;
  // pass 3: wait until every worker has checked out of this job (so `body` may go out of scope after). That wait
  // spins (yielding) rather than sleeps: the browser's main thread may not sleep (Emscripten would spin anyway,
  // with a warning), and the remaining tasks are short.
  void run(int tasks, void (*body)(void*, int), void* context) {
    std::lock_guard<std::mutex> call(call_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = body;
      context_ = context;
      tasks_ = tasks;
      active_ = count_ - 1;
      next_.store(0, std::memory_order_relaxed);
      busy_.store(int(workers_.size()), std::memory_order_relaxed);
      ++generation_;
    }
    wake_.notify_all();
    take_tasks();
    while (busy_.load(std::memory_order_acquire) != 0) sched_yield();
  }

 private:
  struct WorkerArg {
    Pool* pool;
    int index;
    std::uint64_t generation;
  };

  static void* worker_main(void* p) {
    const WorkerArg arg = *static_cast<WorkerArg*>(p);
    delete static_cast<WorkerArg*>(p);
    arg.pool->worker_loop(arg.index, arg.generation);
    return nullptr;
  }

  void worker_loop(int index, std::uint64_t seen) {
    for (;;) {
      bool take = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        take = index < active_;  // workers beyond the count in effect sit this job out
      }
      if (take) take_tasks();
      busy_.fetch_sub(1, std::memory_order_release);
    }
  }

  void take_tasks() {
    tl_in_task = true;
    for (;;) {
      const int t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks_) break;
      body_(context_, t);
    }
    tl_in_task = false;
  }

  std::mutex call_mu_;  // one set_count or run at a time
  std::mutex mu_;       // guards the job fields below and the worker list
  std::condition_variable wake_;
  std::vector<pthread_t> workers_;
  std::atomic<int> next_{0};
  std::atomic<int> count_{1};
  void (*body_)(void*, int) = nullptr;
  void* context_ = nullptr;
  std::atomic<int> busy_{0};  // workers that have not checked out of the current job
  int tasks_ = 0, active_ = 0;
  std::uint64_t generation_ = 0;
};

}  // namespace

int set_thread_count(int n) { return Pool::instance().set_count(n); }

int thread_count() { return Pool::instance().count(); }

void parallel_for_impl(int tasks, void (*body)(void*, int), void* context) {
  Pool& pool = Pool::instance();
  if (tasks <= 1 || tl_in_task || pool.count() <= 1) {
    for (int t = 0; t < tasks; ++t) body(context, t);
    return;
  }
  pool.run(tasks, body, context);
}

#else  // one thread

int set_thread_count(int) { return 1; }

int thread_count() { return 1; }

void parallel_for_impl(int tasks, void (*body)(void*, int), void* context) {
  for (int t = 0; t < tasks; ++t) body(context, t);
}

#endif

}  // namespace attn
