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
#include <chrono>
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

  // The most tasks one run takes (they are counted in 20 bits of the job word).
  static constexpr int kMaxTasks = (1 << 20) - 1;

  int set_count(int n) {
    n = std::max(1, n);
    std::lock_guard<std::mutex> call(call_mu_);
    if (stopped_.load(std::memory_order_acquire)) return count_;  // after park_all: one thread for good
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
      workers_.push_back(id);
    }
    count_ = std::min(n, int(workers_.size()) + 1);
    return count_;
  }

  int count() const { return count_; }

  // Before the embedder ends the worker threads from outside (Emscripten: PThread.terminateAllThreads, which
  // frees each thread's stack and data and then terminates its Web Worker, asynchronously): from now on every
  // loop runs on the calling thread, and this returns once every worker created sleeps in its wait, where it
  // touches no memory until woken, and nothing wakes it again. Otherwise a worker still finishing its part of
  // the last loop, or one created but not yet started (its Web Worker has not run it yet), would run on freed
  // memory. Waits at most `timeout_ms` (a worker the system does not schedule); returns the workers not yet
  // asleep (0 = all).
  int park_all(double timeout_ms) {
    std::lock_guard<std::mutex> call(call_mu_);  // no loop is running, no worker is being created
    stopped_.store(true, std::memory_order_release);
    count_ = 1;
    const auto started = std::chrono::steady_clock::now();
    for (;;) {
      const int awake = int(workers_.size()) - parked_.load(std::memory_order_acquire);
      if (awake <= 0) return 0;
      if (std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count() > timeout_ms)
        return awake;
      sched_yield();
    }
  }

  // pass 1: publish the job (body, context, then the job word: generation | tasks | next task = 0) and wake
  //         the workers;
  // pass 2: take tasks on this thread too: a task is claimed by a compare-and-swap of the job word, so a worker
  //         that wakes after the job is over (its generation is gone, or no task is left) claims nothing and
  //         touches nothing — nobody waits for a worker that the system has not scheduled yet;
  // pass 3: wait until every task has finished (so `body` may go out of scope after). That wait spins
  //         (yielding) rather than sleeps: the browser's main thread may not sleep, and the tasks still running
  //         are short.
  void run(int tasks, void (*body)(void*, int), void* context) {
    std::lock_guard<std::mutex> call(call_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++generation_;
      body_ = body;
      context_ = context;
      active_ = count_ - 1;
      finished_.store(0, std::memory_order_relaxed);
      job_.store(pack(generation_, tasks, 0), std::memory_order_release);
    }
    wake_.notify_all();
    take_tasks(generation_);
    while (finished_.load(std::memory_order_acquire) != tasks) sched_yield();
  }

 private:
  struct WorkerArg {
    Pool* pool;
    int index;
    std::uint64_t generation;
  };

  // The job word: generation (24 bits, wrapping) | tasks (20 bits) | next task (20 bits).
  static std::uint64_t pack(std::uint64_t generation, int tasks, int next) {
    return ((generation & 0xFFFFFF) << 40) | (std::uint64_t(tasks) << 20) | std::uint64_t(next);
  }

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
        // Counted as asleep from here: under mu_, which the wait releases only once it sleeps.
        parked_.fetch_add(1, std::memory_order_acq_rel);
        wake_.wait(lock, [&] { return generation_ != seen && !stopped_.load(std::memory_order_acquire); });
        parked_.fetch_sub(1, std::memory_order_acq_rel);
        seen = generation_;
        take = index < active_;  // workers beyond the count in effect sit this job out
      }
      if (take) take_tasks(seen);
    }
  }

  // Claims and runs tasks of job `generation` until none is left (or that job is over).
  void take_tasks(std::uint64_t generation) {
    tl_in_task = true;
    std::uint64_t word = job_.load(std::memory_order_acquire);
    for (;;) {
      const int tasks = int((word >> 20) & 0xFFFFF), next = int(word & 0xFFFFF);
      if ((word >> 40) != (generation & 0xFFFFFF) || next >= tasks) break;
      if (!job_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;  // `word` now holds the current job word: look again
      body_(context_, next);
      finished_.fetch_add(1, std::memory_order_release);
      word = job_.load(std::memory_order_acquire);
    }
    tl_in_task = false;
  }

  std::mutex call_mu_;  // one set_count or run at a time
  std::mutex mu_;       // guards generation_, active_ (the workers read them when woken)
  std::condition_variable wake_;
  std::vector<pthread_t> workers_;
  std::atomic<std::uint64_t> job_{0};
  std::atomic<int> finished_{0};  // tasks of the current job that have finished
  std::atomic<int> count_{1};
  std::atomic<int> parked_{0};   // workers inside their wait (mu_ held or released by the wait)
  std::atomic<bool> stopped_{false};  // park_all was called: no worker runs again
  void (*body_)(void*, int) = nullptr;  // valid while a task of the current job is unfinished
  void* context_ = nullptr;
  int active_ = 0;
  std::uint64_t generation_ = 0;
};

}  // namespace

int set_thread_count(int n) { return Pool::instance().set_count(n); }

int thread_count() { return Pool::instance().count(); }

int park_threads(double timeout_ms) { return Pool::instance().park_all(timeout_ms); }

void parallel_for_impl(int tasks, void (*body)(void*, int), void* context) {
  Pool& pool = Pool::instance();
  if (tasks <= 1 || tasks > Pool::kMaxTasks || tl_in_task || pool.count() <= 1) {
    for (int t = 0; t < tasks; ++t) body(context, t);
    return;
  }
  pool.run(tasks, body, context);
}

#else  // one thread

int set_thread_count(int) { return 1; }

int thread_count() { return 1; }

int park_threads(double) { return 0; }

void parallel_for_impl(int tasks, void (*body)(void*, int), void* context) {
  for (int t = 0; t < tasks; ++t) body(context, t);
}

#endif

}  // namespace attn
