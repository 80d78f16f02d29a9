// Heap arrays (engine.heapArray(length)): float32 blocks that live in an engine's WASM heap, so that a caller
// computing again and again neither copies its inputs in nor its results out. Passed as a float input (query,
// key, value, W, x, dOutput, ...) the WASM kernels read the block where it is and its finite check scans it in
// place; passed as out or weightsOut the kernels write into it. Other backends (WebGPU) get copies.
//
// A view of WASM memory goes stale when the heap grows (any engine call or allocation may grow it), so a heap
// array hands out fresh views (view()) and never keeps one.
import { heapF32 } from './heap.js';

const CREATE = Symbol('HeapArray');
let pointerOf;  // (HeapArray) -> its byte offset in the heap; for the WASM backend only (heapArrayPointer)

export class HeapArray {
  #module;
  #ptr;
  #length;

  /** Made by engine.heapArray(length); not constructed directly. */
  constructor(token, module, ptr, length) {
    if (token !== CREATE) throw new TypeError('HeapArray: create one with engine.heapArray(length)');
    this.#module = module;
    this.#ptr = ptr;
    this.#length = length;
  }

  static {
    pointerOf = (array) => array.#ptr;
  }

  /** The number of float32 values. */
  get length() {
    return this.#length;
  }

  /** True after dispose(). */
  get disposed() {
    return this.#ptr === 0;
  }

  /**
   * A Float32Array over the block, made now: valid until the heap next grows (any later engine call may grow
   * it; take a new view after each call).
   */
  view() {
    this.#live('view');
    return this.#view();
  }

  /**
   * Copies `source` (an array, a typed array or another heap array) into the block from index `offset`, as
   * TypedArray.set (a RangeError when it does not fit).
   */
  set(source, offset = 0) {
    this.#live('set');
    this.#view().set(source instanceof HeapArray ? source.view() : source, offset);
  }

  /** A new Float32Array holding a copy of the values (owned by the caller, not the heap). */
  toArray() {
    this.#live('toArray');
    const copy = new Float32Array(this.#length);
    copy.set(this.#view());
    return copy;
  }

  /** Frees the block; later uses throw. A second dispose() does nothing. */
  dispose() {
    if (this.#ptr === 0) return;
    this.#module._free(this.#ptr);
    this.#ptr = 0;
  }

  /** The index of the first NaN or +-Infinity, -1 when every value is finite (one f32x4 pass over the block). */
  firstNonFinite() {
    this.#live('firstNonFinite');
    const i = this.#module.firstNonFinite(this.#ptr, this.#length);
    return i === this.#length ? -1 : i;
  }

  /** True when this block lives in `module`'s heap (the engine's WASM module). */
  belongsTo(module) {
    return this.#module === module;
  }

  #view() {
    return new Float32Array(heapF32(this.#module).buffer, this.#ptr, this.#length);
  }

  #live(what) {
    if (this.#ptr === 0) throw new TypeError(`HeapArray.${what}: the heap array was disposed`);
  }
}

export const isHeapArray = (value) => value instanceof HeapArray;

/**
 * The byte offset of a heap array's block (the WASM backend hands it to the kernels). Validation saw it live; a
 * TypeError naming `what` when it was disposed since (a call that ran on WASM after awaiting another backend).
 */
export function heapArrayPointer(array, what) {
  const ptr = pointerOf(array);
  if (ptr === 0) throw new TypeError(`${what}: a heap array of the call was disposed before the call ended`);
  return ptr;
}

/**
 * A heap array of `length` float32 zeros in `module`'s heap. `length` was validated (a positive integer whose
 * bytes fit the heap); a RangeError when the heap has no room.
 */
export function createHeapArray(module, length) {
  const ptr = module._malloc(4 * length);
  if (!ptr) {
    throw new RangeError(`heapArray: could not allocate ${length} floats (${(4 * length / 2 ** 20).toFixed(1)} MiB) ` +
      'in the WASM heap (at most 2048 MiB)');
  }
  const array = new HeapArray(CREATE, module, ptr, length);
  array.view().fill(0);
  return array;
}
