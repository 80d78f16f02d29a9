// Views of an Emscripten module's WASM memory, made afresh at each use. In the threaded build the memory is
// shared and may grow in a worker thread, which leaves the glue's HEAP views short (a SharedArrayBuffer is never
// detached): read wasmMemory.buffer, the current one, instead.

export function heapU8(module) {
  return module.wasmMemory ? new Uint8Array(module.wasmMemory.buffer) : module.HEAPU8;
}

export function heapF32(module) {
  return module.wasmMemory ? new Float32Array(module.wasmMemory.buffer) : module.HEAPF32;
}
