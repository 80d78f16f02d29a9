// How many threads the engine's optimized ops use.
//
// Threads exist only in builds compiled with ATTN_THREADS=1 (CMake option ATTN_THREADS: the native build and
// the WASM module attn_simd_mt, Emscripten pthreads). Elsewhere there is one thread and every parallel loop is
// a plain sequential loop. The reference variant always runs on the calling thread.
#pragma once

namespace attn {

// True when this build can run more than one thread.
constexpr bool kThreadsBuild =
#if defined(ATTN_THREADS) && ATTN_THREADS
    true;
#else
    false;
#endif

// Asks for n threads in all (the calling thread included); n < 1 counts as 1. Worker threads are started on
// the first call that needs them and live as long as the program (the module); a later smaller n leaves the
// extra workers idle. Returns the count in effect, which is smaller than n when a thread could not be started
// (in WASM: no free Web Worker in the pool the JS side created) and always 1 without ATTN_THREADS.
// Call it from the thread that calls the ops, never while an op runs.
int set_thread_count(int n);

// The count in effect (1 until set_thread_count asks for more).
int thread_count();

// Before the worker threads are ended from outside the program (the WASM module's embedder terminating its
// Web Workers): every later op runs on the calling thread, and this returns when each started worker sleeps
// in its wait for good, or after timeout_ms; returns how many were not yet asleep (0 = all). Call it from the
// thread that calls the ops, never while an op runs. Without ATTN_THREADS: 0.
int park_threads(double timeout_ms);

}  // namespace attn
