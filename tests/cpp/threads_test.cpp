// T tasks.
//
// The thread pool (wasm/src/parallel.cpp) before its workers are ended from outside: park_threads returns
// once every started worker sleeps, after which every loop runs on the calling thread and the count stays 1.
// The pool is one per process, so the test parks it in a child process (a death test that exits 0), not in
// the process the other tests share.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "attn/threads.h"
#include "parallel.h"

namespace attn::test {
namespace {

#if defined(ATTN_THREADS) && ATTN_THREADS && GTEST_HAS_DEATH_TEST
// Exit code of the child: 0 when every check holds, else the number of the first check that failed.
int park_then_run_alone() {
  if (set_thread_count(3) != 3) return 1;
  const std::thread::id self = std::this_thread::get_id();
  constexpr int kTasks = 4096;
  std::vector<std::thread::id> ran(kTasks);
  std::atomic<int> busy{0};
  parallel_for(kTasks, [&](int t) {
    ran[t] = std::this_thread::get_id();
    for (int i = 0; i < 2000; ++i) busy.fetch_add(1, std::memory_order_relaxed);  // long enough to spread
  });
  int others = 0;
  for (const auto& id : ran) others += id != self;
  if (others == 0) return 2;  // the workers took part before parking
  if (park_threads(10'000) != 0) return 3;
  if (thread_count() != 1) return 4;
  if (set_thread_count(3) != 1) return 5;  // no worker runs again
  parallel_for(kTasks, [&](int t) { ran[t] = std::this_thread::get_id(); });
  for (const auto& id : ran)
    if (id != self) return 6;
  if (park_threads(0) != 0) return 7;  // a second call finds them asleep still
  return 0;
}

TEST(ThreadsDeathTest, ParkedWorkersSleepAndLoopsRunOnTheCallingThread) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";  // the child re-runs this test alone: no pool yet
  EXPECT_EXIT(std::exit(park_then_run_alone()), ::testing::ExitedWithCode(0), "");
}
#endif

}  // namespace
}  // namespace attn::test
