// Validation of every public call, done once here; backends receive the normalized objects described in
// docs/CONTRACTS.md and only assert. Messages name the argument and the numbers.
// Size letters: H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive dims, M model dims.

import {
  SCORES, SCORE_NAMES, DEFAULT_SCORE, SCORE_PARAM_NAMES, MASK_NAMES, KERNEL_NAMES, DEFAULT_KERNEL,
} from './spec.js';
import { isHeapArray } from './heap_array.js';

// The WASM heap is limited to 2 GiB; a call whose buffers (inputs, outputs, scratch) cannot fit is refused
// before anything is allocated.
export const MAX_HEAP_BYTES = 2 ** 31;
// Largest size accepted for any one dimension; products are checked against the heap separately.
const MAX_DIM = 2 ** 24;

export const ATTENTION_KEYS = new Set([
  'query', 'key', 'value', 'heads', 'nq', 'nk', 'dk', 'dv', 'score', 'W', 'Wq', 'Wk', 'v', 'mask',
  'returnWeights', 'returnScores', 'kernel', 'out', 'weightsOut',
]);
export const MHA_KEYS = new Set([
  'x', 'context', 'nq', 'nk', 'dModel', 'heads', 'Wq', 'Wk', 'Wv', 'Wo', 'bq', 'bk', 'bv', 'bo', 'score',
  'scoreParams', 'mask', 'returnWeights', 'kernel', 'out', 'weightsOut',
]);
const SCORE_PARAM_KEYS = new Set(SCORE_PARAM_NAMES);

// Typed arrays are read through the %TypedArray% prototype's own getters, once each: a subclass (or an object
// of another realm) may override length/byteLength/buffer, but not these internal slots. The validated array
// is then handed on as a plain view of this realm over the same memory, so every later size is the true one.
const TypedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const intrinsic = (name) => Object.getOwnPropertyDescriptor(TypedArrayPrototype, name).get;
const typedTag = intrinsic(Symbol.toStringTag);  // 'Float32Array', ... or undefined for anything else
const typedLength = intrinsic('length');
const typedByteOffset = intrinsic('byteOffset');
const typedBuffer = intrinsic('buffer');
const dataViewIntrinsic = (name) => Object.getOwnPropertyDescriptor(DataView.prototype, name).get;
const dataViewBuffer = dataViewIntrinsic('buffer');
const dataViewByteOffset = dataViewIntrinsic('byteOffset');
const dataViewByteLength = dataViewIntrinsic('byteLength');

/** The typed array's type ('Float32Array', ...) from its internal slot, or undefined for anything else. */
export function typedArrayType(value) {
  return typedTag.call(value);
}

/** The true element count of a typed array (0 when detached). */
export function lengthOf(value) {
  return typedLength.call(value);
}

const isFloat32Array = (value) => typedArrayType(value) === 'Float32Array';

/**
 * A plain typed array of this realm over the same memory as `value` (a typed array of any type, realm or
 * subclass), sized from its internal slots: no getter of the caller's object is called.
 */
export function plainView(value) {
  const View = globalThis[typedArrayType(value)];
  return new View(typedBuffer.call(value), typedByteOffset.call(value), typedLength.call(value));
}

/** The bytes of a typed array or DataView (any realm or subclass) as a plain Uint8Array, from internal slots. */
export function bytesOf(view) {
  if (typedArrayType(view)) {
    const plain = plainView(view);
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  }
  return new Uint8Array(dataViewBuffer.call(view), dataViewByteOffset.call(view), dataViewByteLength.call(view));
}

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  const type = typedArrayType(value);
  if (type) return `a ${type} of length ${lengthOf(value)}`;
  if (isHeapArray(value)) return value.disposed ? 'a disposed heap array' : `a heap array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
  if (typeof value === 'string') return `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
  return `${typeof value} ${String(value)}`;
}

function checkOptions(options, allowed, fn) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${fn}: expected an options object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!allowed.has(name)) {
      throw new TypeError(`${fn}: unknown option '${name}' (known: ${[...allowed].join(', ')})`);
    }
  }
}

/** A size: a positive integer no larger than MAX_DIM. */
export function checkSize(value, name, fn) {
  if (value === undefined) throw new TypeError(`${fn}: ${name} is missing; it must be a positive integer`);
  if (typeof value !== 'number') {
    throw new TypeError(`${fn}: ${name} must be a positive integer, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, got ${value}`);
  }
  if (value > MAX_DIM) {
    throw new RangeError(`${fn}: ${name} = ${value} is larger than the largest supported size ${MAX_DIM}`);
  }
  return value;
}

/**
 * A Float32Array (of any realm or subclass) of exactly `expected` values (any values), not detached; returns
 * its plain view (plainView).
 */
function checkFloatArray(value, name, expected, formula, fn) {
  if (!isFloat32Array(value)) {
    throw new TypeError(`${fn}: ${name} must be a Float32Array, got ${describe(value)}`);
  }
  const length = lengthOf(value);
  if (length !== expected) {
    if (length === 0) {
      throw new TypeError(`${fn}: ${name} is empty or its buffer was detached (transferred); ` +
        `expected ${formula} = ${expected} values`);
    }
    throw new RangeError(`${fn}: ${name} has ${length} values but ${formula} = ${expected}`);
  }
  return plainView(value);
}

// From this many values on, a finder the engine passes (its WASM backend's firstNonFinite: a copy into the heap
// and one f32x4 pass) checks an input instead of allFinite's JS loop (about 1 ns per value in V8).
const FINDER_MIN_VALUES = 4096;

/**
 * A heap array (heap_array.js) of the engine's, not disposed, of exactly `expected` values; with `finite`, every
 * value finite (scanned where it lies). heap: the engine's (see checkFloats), or null where no heap array is taken.
 */
function checkHeapArray(input, name, expected, formula, fn, heap, finite) {
  if (!heap?.owns(input)) {
    throw new TypeError(`${fn}: ${name} is a heap array of ${heap ? 'another engine' : 'an engine, which this call does not take'}; ` +
      'pass a Float32Array or a heap array of this engine (engine.heapArray)');
  }
  if (input.disposed) throw new TypeError(`${fn}: ${name} is a heap array that was disposed`);
  if (input.length !== expected) {
    throw new RangeError(`${fn}: ${name} has ${input.length} values but ${formula} = ${expected}`);
  }
  const i = finite ? input.firstNonFinite() : -1;
  if (i >= 0) throw new RangeError(`${fn}: ${name}[${i}] is ${input.view()[i]}; inputs must be finite`);
  return input;
}

/**
 * A Float32Array of exactly `expected` finite values, or a heap array of the engine's (checkHeapArray), returned
 * as it is. `formula` names the product, e.g. 'heads*nq*dk'. heap (optional): the engine's { firstNonFinite, owns }
 * (a WASM staging area, backends/wasm.js): firstNonFinite(array) -> the index of the array's first NaN or
 * +-Infinity, -1 when none, or null when it cannot tell (then the JS check runs); owns(heapArray) -> true for
 * the engine's own heap arrays.
 */
export function checkFloats(input, name, expected, formula, fn, heap = null) {
  if (isHeapArray(input)) return checkHeapArray(input, name, expected, formula, fn, heap, true);
  const value = checkFloatArray(input, name, expected, formula, fn);
  let i = heap && value.length >= FINDER_MIN_VALUES ? heap.firstNonFinite(value) : null;
  if (i === null && !allFinite(value)) {
    // x - x is NaN exactly when x is NaN or +-Infinity.
    i = value.findIndex((x) => x - x !== 0);
  }
  if (i !== null && i >= 0) throw new RangeError(`${fn}: ${name}[${i}] is ${value[i]}; inputs must be finite`);
  return value;
}

/**
 * True when every value is finite. x * 0 is +-0 for a finite x and NaN for NaN or +-Infinity, so the sums
 * stay 0 exactly when all values are finite; four independent sums and no branch in the loop (about twice
 * as fast as testing each value). The caller finds the first bad index only when this fails.
 */
function allFinite(a) {
  const n = a.length;
  const n4 = n - (n % 4);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < n4; i += 4) {
    s0 += a[i] * 0;
    s1 += a[i + 1] * 0;
    s2 += a[i + 2] * 0;
    s3 += a[i + 3] * 0;
  }
  for (let i = n4; i < n; i++) s0 += a[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** An optional argument counts as given unless it is undefined or null. */
const isGiven = (value) => value !== undefined && value !== null;

function checkOptionalFloats(value, name, expected, formula, fn, heap) {
  return isGiven(value) ? checkFloats(value, name, expected, formula, fn, heap) : null;
}

/**
 * The caller's result buffers (options out and weightsOut): a Float32Array or a heap array of the engine's
 * (heap: as for checkFloats) of exactly the result's length, or null when not given. Their contents are
 * overwritten, so only the length is checked (no finite check). inputs: the call's float inputs by name; a heap
 * array that is one of them cannot also take a result (the kernels would write over what they read).
 */
function checkOutputs(options, outCount, outFormula, weightCount, returnWeights, fn, heap, inputs) {
  const given = (name) => isGiven(options[name]);
  const check = (name, expected, formula) => {
    const value = options[name];
    if (!isHeapArray(value)) return checkFloatArray(value, name, expected, formula, fn);
    const input = Object.keys(inputs).find((k) => inputs[k] === value);
    if (input) throw new RangeError(`${fn}: ${name} is the heap array passed as ${input}; a result needs a block of its own`);
    return checkHeapArray(value, name, expected, formula, fn, heap, false);
  };
  const out = given('out') ? check('out', outCount, outFormula) : null;
  let weightsOut = null;
  if (given('weightsOut')) {
    if (!returnWeights) throw new TypeError(`${fn}: weightsOut is given but returnWeights is not true`);
    if (options.weightsOut === options.out) throw new RangeError(`${fn}: out and weightsOut overlap`);
    weightsOut = check('weightsOut', weightCount, 'heads*nq*nk');
    if (out && !isHeapArray(out) && !isHeapArray(weightsOut) && weightsOut.buffer === out.buffer &&
        weightsOut.byteOffset < out.byteOffset + out.byteLength &&
        out.byteOffset < weightsOut.byteOffset + weightsOut.byteLength) {
      throw new RangeError(`${fn}: out and weightsOut overlap`);
    }
  }
  // out and weightsOut are plain views or heap arrays the backends write through; the caller's own objects are
  // returned.
  return { out, weightsOut, callerOut: out && options.out, callerWeightsOut: weightsOut && options.weightsOut };
}

function checkScore(score, fn) {
  if (score === undefined) return DEFAULT_SCORE;
  if (typeof score !== 'string') {
    throw new TypeError(`${fn}: score must be one of ${SCORE_NAMES.join(', ')}, got ${describe(score)}`);
  }
  if (!Object.hasOwn(SCORES, score)) {
    throw new RangeError(`${fn}: unknown score '${score}' (one of ${SCORE_NAMES.join(', ')})`);
  }
  return score;
}

function checkKernel(kernel, fn) {
  if (kernel === undefined) return DEFAULT_KERNEL;
  if (!KERNEL_NAMES.includes(kernel)) {
    throw new RangeError(`${fn}: kernel must be one of ${KERNEL_NAMES.join(', ')}, got ${describe(kernel)}`);
  }
  return kernel;
}

function checkBoolean(value, name, fn) {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * Score parameters for query/key size D, shared by all heads, as the spec's entry lists them (spec.js
 * SCORES[score].params). `prefix` is how the caller spells the container ('' for attention, 'scoreParams.'
 * for multiHeadAttention). Returns every parameter name (null when unused) and da (0 when unused).
 */
function checkScoreParams(score, params, dk, prefix, fn, heap) {
  const given = (name) => isGiven(params[name]);
  const needs = SCORES[score].params;
  for (const name of SCORE_PARAM_KEYS) {
    if (given(name) && !Object.hasOwn(needs, name)) {
      const owners = SCORE_NAMES.filter((s) => Object.hasOwn(SCORES[s].params, name)).map((s) => `'${s}'`);
      throw new TypeError(`${fn}: ${prefix}${name} is a parameter of score ${owners.join(' or ')}, not of '${score}'`);
    }
  }
  for (const name of Object.keys(needs)) {
    if (!given(name)) throw new TypeError(`${fn}: score '${score}' needs ${prefix}${name}`);
  }
  const out = Object.fromEntries([...SCORE_PARAM_KEYS].map((name) => [name, null]));
  const sizes = { dk };
  const defined = {};  // letter -> the parameter whose length fixed it
  for (const [name, shape] of Object.entries(needs)) {
    for (const letter of shape) {
      if (sizes[letter] !== undefined) continue;
      // A letter no earlier entry fixed: the length of this 1-D parameter (spec.js).
      const value = params[name];
      if (isHeapArray(value) && value.disposed) throw new TypeError(`${fn}: ${prefix}${name} is a heap array that was disposed`);
      const live = isHeapArray(value);
      if (shape.length !== 1 || (!live && (!ArrayBuffer.isView(value) || !isFloat32Array(value)))) {
        throw new TypeError(`${fn}: ${prefix}${name} must be a Float32Array, got ${describe(value)}`);
      }
      sizes[letter] = checkSize(live ? value.length : lengthOf(value), `${prefix}${name}.length (${letter})`, fn);
      defined[letter] = `${prefix}${name}.length`;
    }
    const count = shape.reduce((a, letter) => a * sizes[letter], 1);
    const notes = shape.filter((l) => defined[l] && !(shape.length === 1)).map((l) => `${l} = ${defined[l]}`);
    const formula = `${shape.join('*')}${notes.length ? ` (${[...new Set(notes)].join(', ')})` : ''}`;
    out[name] = checkFloats(params[name], `${prefix}${name}`, count, formula, fn, heap);
  }
  out.da = sizes.da ?? 0;
  return out;
}

function checkMask(mask, nq, nk, fn) {
  if (mask === undefined || mask === 'none') return { kind: 'none', allowed: null };
  if (mask === 'causal') return { kind: 'causal', allowed: null };
  if (typeof mask === 'string') {
    throw new RangeError(`${fn}: unknown mask '${mask}' (one of none, causal, or a Uint8Array [nq][nk])`);
  }
  if (typedArrayType(mask) !== 'Uint8Array') {
    throw new TypeError(`${fn}: mask must be 'none', 'causal' or a Uint8Array [nq][nk], got ${describe(mask)}`);
  }
  if (lengthOf(mask) !== nq * nk) {
    throw new RangeError(`${fn}: mask has ${lengthOf(mask)} values but nq*nk = ${nq * nk}`);
  }
  mask = plainView(mask);
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] > 1) throw new RangeError(`${fn}: mask[${i}] is ${mask[i]}; a mask holds 0 (blocked) or 1 (may attend)`);
  }
  return { kind: 'explicit', allowed: mask };
}

/** engine.heapArray(length): a positive integer (any size whose float32 values fit the heap). */
export function checkHeapArrayLength(length) {
  const fn = 'heapArray';
  if (typeof length !== 'number') throw new TypeError(`${fn}: length must be a positive integer, got ${describe(length)}`);
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`${fn}: length must be a positive integer, got ${length}`);
  checkHeap(4 * length, `length=${length} floats`, fn);
}

export function checkHeap(bytes, what, fn) {
  if (bytes > MAX_HEAP_BYTES) {
    throw new RangeError(`${fn}: ${what} need ${(bytes / 2 ** 20).toFixed(0)} MiB but the WASM heap ` +
      `holds at most ${MAX_HEAP_BYTES / 2 ** 20} MiB`);
  }
}

/**
 * Validates attention() options; returns the normalized object of docs/CONTRACTS.md. fn and keys: the caller's
 * name and its known options (attentionBackward, validate_backward.js, passes its own); heap: the engine's
 * finder for large float inputs and owner of its heap arrays (checkFloats).
 */
export function normalizeAttention(options, { fn = 'attention', keys = ATTENTION_KEYS, heap = null } = {}) {
  checkOptions(options, keys, fn);
  const heads = options.heads === undefined ? 1 : checkSize(options.heads, 'heads', fn);
  const nq = checkSize(options.nq, 'nq', fn);
  const nk = checkSize(options.nk, 'nk', fn);
  const dk = checkSize(options.dk, 'dk', fn);
  const dv = checkSize(options.dv, 'dv', fn);
  const score = checkScore(options.score, fn);
  const returnWeights = checkBoolean(options.returnWeights, 'returnWeights', fn);
  const returnScores = checkBoolean(options.returnScores, 'returnScores', fn);
  const kernel = checkKernel(options.kernel, fn);
  // Sizes are checked against the heap before any buffer is touched, so a huge size fails fast.
  const floats = heads * (nq * dk + nk * dk + nk * dv + nq * dv + (returnWeights ? nq * nk : 0) +
    (returnScores ? nq * nk : 0));
  checkHeap(4 * floats + nq * nk, `heads=${heads}, nq=${nq}, nk=${nk}, dk=${dk}, dv=${dv}`, fn);
  const query = checkFloats(options.query, 'query', heads * nq * dk, 'heads*nq*dk', fn, heap);
  const key = checkFloats(options.key, 'key', heads * nk * dk, 'heads*nk*dk', fn, heap);
  const value = checkFloats(options.value, 'value', heads * nk * dv, 'heads*nk*dv', fn, heap);
  const params = checkScoreParams(score, options, dk, '', fn, heap);
  const mask = checkMask(options.mask, nq, nk, fn);
  const outputs = checkOutputs(options, heads * nq * dv, 'heads*nq*dv', heads * nq * nk, returnWeights, fn, heap,
    { query, key, value, ...params });
  return {
    query, key, value, heads, nq, nk, dk, dv, score, ...params, mask, returnWeights, returnScores, kernel, ...outputs,
  };
}

/** Validates multiHeadAttention() options (fn, keys, heap: as for normalizeAttention). */
export function normalizeMultiHead(options, { fn = 'multiHeadAttention', keys = MHA_KEYS, heap = null } = {}) {
  checkOptions(options, keys, fn);
  const self = options.context === undefined || options.context === null || options.context === options.x;
  const nq = checkSize(options.nq, 'nq', fn);
  let nk;
  if (self) {
    nk = options.nk === undefined ? nq : checkSize(options.nk, 'nk', fn);
    if (nk !== nq) throw new RangeError(`${fn}: self-attention (no context) needs nk = nq, got nk=${nk}, nq=${nq}`);
  } else {
    nk = checkSize(options.nk, 'nk', fn);
  }
  const dModel = checkSize(options.dModel, 'dModel', fn);
  const heads = checkSize(options.heads, 'heads', fn);
  if (dModel % heads !== 0) {
    throw new RangeError(`${fn}: dModel = ${dModel} is not divisible by heads = ${heads}`);
  }
  const dHead = dModel / heads;
  const score = checkScore(options.score, fn);
  const returnWeights = checkBoolean(options.returnWeights, 'returnWeights', fn);
  const kernel = checkKernel(options.kernel, fn);
  const floats = 4 * dModel * dModel + 4 * dModel + 3 * (nq + nk) * dModel + nq * dModel +
    (returnWeights ? heads * nq * nk : 0);
  checkHeap(4 * floats + nq * nk, `nq=${nq}, nk=${nk}, dModel=${dModel}, heads=${heads}`, fn);
  const x = checkFloats(options.x, 'x', nq * dModel, 'nq*dModel', fn, heap);
  const context = self ? x : checkFloats(options.context, 'context', nk * dModel, 'nk*dModel', fn, heap);
  const mm = dModel * dModel;
  const Wq = checkFloats(options.Wq, 'Wq', mm, 'dModel*dModel', fn, heap);
  const Wk = checkFloats(options.Wk, 'Wk', mm, 'dModel*dModel', fn, heap);
  const Wv = checkFloats(options.Wv, 'Wv', mm, 'dModel*dModel', fn, heap);
  const Wo = checkFloats(options.Wo, 'Wo', mm, 'dModel*dModel', fn, heap);
  const bq = checkOptionalFloats(options.bq, 'bq', dModel, 'dModel', fn, heap);
  const bk = checkOptionalFloats(options.bk, 'bk', dModel, 'dModel', fn, heap);
  const bv = checkOptionalFloats(options.bv, 'bv', dModel, 'dModel', fn, heap);
  const bo = checkOptionalFloats(options.bo, 'bo', dModel, 'dModel', fn, heap);
  const rawParams = options.scoreParams ?? {};
  checkOptions(rawParams, SCORE_PARAM_KEYS, `${fn}: scoreParams`);
  const scoreParams = checkScoreParams(score, rawParams, dHead, 'scoreParams.', fn, heap);
  const mask = checkMask(options.mask, nq, nk, fn);
  const prefixed = Object.fromEntries(Object.entries(scoreParams).map(([k, v]) => [`scoreParams.${k}`, v]));
  const outputs = checkOutputs(options, nq * dModel, 'nq*dModel', heads * nq * nk, returnWeights, fn, heap,
    { x, context, Wq, Wk, Wv, Wo, bq, bk, bv, bo, ...prefixed });
  return {
    x, context, self, nq, nk, dModel, heads, dHead, Wq, Wk, Wv, Wo, bq, bk, bv, bo, score, scoreParams, mask,
    returnWeights, returnScores: false, kernel, ...outputs,
  };
}

/** Validates positionalEncoding(n, d). */
export function checkPositionalEncoding(n, d) {
  const fn = 'positionalEncoding';
  checkSize(n, 'n', fn);
  checkSize(d, 'd', fn);
  checkHeap(4 * n * d, `n=${n}, d=${d}`, fn);
}
