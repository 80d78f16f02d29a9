// Validation of every public call, done once here; backends receive the normalized objects described in
// docs/CONTRACTS.md and only assert. Messages name the argument and the numbers.
// Size letters: H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive dims, M model dims.

export const SCORES = Object.freeze(['dot', 'scaled_dot', 'general', 'additive']);
export const MASKS = Object.freeze(['none', 'causal']);

// The WASM heap is limited to 2 GiB; a call whose buffers (inputs, outputs, scratch) cannot fit is refused
// before anything is allocated.
export const MAX_HEAP_BYTES = 2 ** 31;
// Largest size accepted for any one dimension; products are checked against the heap separately.
const MAX_DIM = 2 ** 24;

export const ATTENTION_KEYS = new Set([
  'query', 'key', 'value', 'heads', 'nq', 'nk', 'dk', 'dv', 'score', 'W', 'Wq', 'Wk', 'v', 'mask',
  'returnWeights', 'kernel', 'out', 'weightsOut',
]);
export const MHA_KEYS = new Set([
  'x', 'context', 'nq', 'nk', 'dModel', 'heads', 'Wq', 'Wk', 'Wv', 'Wo', 'bq', 'bk', 'bv', 'bo', 'score',
  'scoreParams', 'mask', 'returnWeights', 'kernel', 'out', 'weightsOut',
]);
const SCORE_PARAM_KEYS = new Set(['W', 'Wq', 'Wk', 'v']);
export const KERNELS = Object.freeze(['optimized', 'reference']);

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.length}`;
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

/** A Float32Array of exactly `expected` values (any values), not detached. */
function checkFloatArray(value, name, expected, formula, fn) {
  if (!(value instanceof Float32Array)) {
    throw new TypeError(`${fn}: ${name} must be a Float32Array, got ${describe(value)}`);
  }
  if (value.length !== expected) {
    if (value.length === 0 && value.buffer.byteLength === 0) {
      throw new TypeError(`${fn}: ${name} is empty or its buffer was detached (transferred); ` +
        `expected ${formula} = ${expected} values`);
    }
    throw new RangeError(`${fn}: ${name} has ${value.length} values but ${formula} = ${expected}`);
  }
  return value;
}

/**
 * A Float32Array of exactly `expected` finite values. `formula` names the product, e.g. 'heads*nq*dk'.
 */
export function checkFloats(value, name, expected, formula, fn) {
  checkFloatArray(value, name, expected, formula, fn);
  if (!allFinite(value)) {
    for (let i = 0; i < value.length; i++) {
      const x = value[i];
      // x - x is NaN exactly when x is NaN or +-Infinity.
      if (x - x !== 0) {
        throw new RangeError(`${fn}: ${name}[${i}] is ${x}; inputs must be finite`);
      }
    }
  }
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

function checkOptionalFloats(value, name, expected, formula, fn) {
  return isGiven(value) ? checkFloats(value, name, expected, formula, fn) : null;
}

/**
 * The caller's result buffers (options out and weightsOut): a Float32Array of exactly the result's length, or
 * null when not given. Their contents are overwritten, so only the length is checked (no finite check).
 */
function checkOutputs(options, outCount, outFormula, weightCount, returnWeights, fn) {
  const given = (name) => isGiven(options[name]);
  const check = (name, expected, formula) => checkFloatArray(options[name], name, expected, formula, fn);
  const out = given('out') ? check('out', outCount, outFormula) : null;
  let weightsOut = null;
  if (given('weightsOut')) {
    if (!returnWeights) throw new TypeError(`${fn}: weightsOut is given but returnWeights is not true`);
    weightsOut = check('weightsOut', weightCount, 'heads*nq*nk');
    if (out && weightsOut.buffer === out.buffer && weightsOut.byteOffset < out.byteOffset + out.byteLength &&
        out.byteOffset < weightsOut.byteOffset + weightsOut.byteLength) {
      throw new RangeError(`${fn}: out and weightsOut overlap`);
    }
  }
  return { out, weightsOut };
}

function checkScore(score, fn) {
  if (score === undefined) return 'scaled_dot';
  if (typeof score !== 'string') {
    throw new TypeError(`${fn}: score must be one of ${SCORES.join(', ')}, got ${describe(score)}`);
  }
  if (!SCORES.includes(score)) {
    throw new RangeError(`${fn}: unknown score '${score}' (one of ${SCORES.join(', ')})`);
  }
  return score;
}

function checkKernel(kernel, fn) {
  if (kernel === undefined) return 'optimized';
  if (!KERNELS.includes(kernel)) {
    throw new RangeError(`${fn}: kernel must be one of ${KERNELS.join(', ')}, got ${describe(kernel)}`);
  }
  return kernel;
}

function checkBoolean(value, name, fn) {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/**
 * Score parameters for query/key size D, shared by all heads. `prefix` is how the caller spells the
 * container ('' for attention, 'scoreParams.' for multiHeadAttention).
 */
function checkScoreParams(score, params, dk, prefix, fn) {
  const given = (name) => isGiven(params[name]);
  const needs = { dot: [], scaled_dot: [], general: ['W'], additive: ['Wq', 'Wk', 'v'] }[score];
  for (const name of SCORE_PARAM_KEYS) {
    if (given(name) && !needs.includes(name)) {
      throw new TypeError(`${fn}: ${prefix}${name} is a parameter of score ` +
        `'${name === 'W' ? 'general' : 'additive'}', not of '${score}'`);
    }
  }
  for (const name of needs) {
    if (!given(name)) throw new TypeError(`${fn}: score '${score}' needs ${prefix}${name}`);
  }
  const out = { W: null, Wq: null, Wk: null, v: null, da: 0 };
  if (score === 'general') out.W = checkFloats(params.W, `${prefix}W`, dk * dk, 'dk*dk', fn);
  if (score === 'additive') {
    if (!(params.v instanceof Float32Array)) {
      throw new TypeError(`${fn}: ${prefix}v must be a Float32Array, got ${describe(params.v)}`);
    }
    const da = checkSize(params.v.length, `${prefix}v.length (da)`, fn);
    out.v = checkFloats(params.v, `${prefix}v`, da, 'da', fn);
    out.Wq = checkFloats(params.Wq, `${prefix}Wq`, da * dk, `da*dk (da = ${prefix}v.length)`, fn);
    out.Wk = checkFloats(params.Wk, `${prefix}Wk`, da * dk, `da*dk (da = ${prefix}v.length)`, fn);
    out.da = da;
  }
  return out;
}

function checkMask(mask, nq, nk, fn) {
  if (mask === undefined || mask === 'none') return { kind: 'none', allowed: null };
  if (mask === 'causal') return { kind: 'causal', allowed: null };
  if (typeof mask === 'string') {
    throw new RangeError(`${fn}: unknown mask '${mask}' (one of none, causal, or a Uint8Array [nq][nk])`);
  }
  if (!(mask instanceof Uint8Array)) {
    throw new TypeError(`${fn}: mask must be 'none', 'causal' or a Uint8Array [nq][nk], got ${describe(mask)}`);
  }
  if (mask.length !== nq * nk) {
    throw new RangeError(`${fn}: mask has ${mask.length} values but nq*nk = ${nq * nk}`);
  }
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] > 1) throw new RangeError(`${fn}: mask[${i}] is ${mask[i]}; a mask holds 0 (blocked) or 1 (may attend)`);
  }
  return { kind: 'explicit', allowed: mask };
}

export function checkHeap(bytes, what, fn) {
  if (bytes > MAX_HEAP_BYTES) {
    throw new RangeError(`${fn}: ${what} need ${(bytes / 2 ** 20).toFixed(0)} MiB but the WASM heap ` +
      `holds at most ${MAX_HEAP_BYTES / 2 ** 20} MiB`);
  }
}

/**
 * Validates attention() options; returns the normalized object of docs/CONTRACTS.md. fn and keys: the caller's
 * name and its known options (attentionBackward, validate_backward.js, takes the same arguments).
 */
export function normalizeAttention(options, fn = 'attention', keys = ATTENTION_KEYS) {
  checkOptions(options, keys, fn);
  const heads = options.heads === undefined ? 1 : checkSize(options.heads, 'heads', fn);
  const nq = checkSize(options.nq, 'nq', fn);
  const nk = checkSize(options.nk, 'nk', fn);
  const dk = checkSize(options.dk, 'dk', fn);
  const dv = checkSize(options.dv, 'dv', fn);
  const score = checkScore(options.score, fn);
  const returnWeights = checkBoolean(options.returnWeights, 'returnWeights', fn);
  const kernel = checkKernel(options.kernel, fn);
  // Sizes are checked against the heap before any buffer is touched, so a huge size fails fast.
  const floats = heads * (nq * dk + nk * dk + nk * dv + nq * dv + (returnWeights ? nq * nk : 0));
  checkHeap(4 * floats + nq * nk, `heads=${heads}, nq=${nq}, nk=${nk}, dk=${dk}, dv=${dv}`, fn);
  const query = checkFloats(options.query, 'query', heads * nq * dk, 'heads*nq*dk', fn);
  const key = checkFloats(options.key, 'key', heads * nk * dk, 'heads*nk*dk', fn);
  const value = checkFloats(options.value, 'value', heads * nk * dv, 'heads*nk*dv', fn);
  const params = checkScoreParams(score, options, dk, '', fn);
  const mask = checkMask(options.mask, nq, nk, fn);
  const outputs = checkOutputs(options, heads * nq * dv, 'heads*nq*dv', heads * nq * nk, returnWeights, fn);
  return { query, key, value, heads, nq, nk, dk, dv, score, ...params, mask, returnWeights, kernel, ...outputs };
}

/** Validates multiHeadAttention() options (fn, keys: as for normalizeAttention). */
export function normalizeMultiHead(options, fn = 'multiHeadAttention', keys = MHA_KEYS) {
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
  const x = checkFloats(options.x, 'x', nq * dModel, 'nq*dModel', fn);
  const context = self ? x : checkFloats(options.context, 'context', nk * dModel, 'nk*dModel', fn);
  const mm = dModel * dModel;
  const Wq = checkFloats(options.Wq, 'Wq', mm, 'dModel*dModel', fn);
  const Wk = checkFloats(options.Wk, 'Wk', mm, 'dModel*dModel', fn);
  const Wv = checkFloats(options.Wv, 'Wv', mm, 'dModel*dModel', fn);
  const Wo = checkFloats(options.Wo, 'Wo', mm, 'dModel*dModel', fn);
  const bq = checkOptionalFloats(options.bq, 'bq', dModel, 'dModel', fn);
  const bk = checkOptionalFloats(options.bk, 'bk', dModel, 'dModel', fn);
  const bv = checkOptionalFloats(options.bv, 'bv', dModel, 'dModel', fn);
  const bo = checkOptionalFloats(options.bo, 'bo', dModel, 'dModel', fn);
  const rawParams = options.scoreParams ?? {};
  checkOptions(rawParams, SCORE_PARAM_KEYS, `${fn}: scoreParams`);
  const scoreParams = checkScoreParams(score, rawParams, dHead, 'scoreParams.', fn);
  const mask = checkMask(options.mask, nq, nk, fn);
  const outputs = checkOutputs(options, nq * dModel, 'nq*dModel', heads * nq * nk, returnWeights, fn);
  return {
    x, context, self, nq, nk, dModel, heads, dHead, Wq, Wk, Wv, Wo, bq, bk, bv, bo, score, scoreParams, mask,
    returnWeights, kernel, ...outputs,
  };
}

/** Validates positionalEncoding(n, d). */
export function checkPositionalEncoding(n, d) {
  const fn = 'positionalEncoding';
  checkSize(n, 'n', fn);
  checkSize(d, 'd', fn);
  checkHeap(4 * n * d, `n=${n}, d=${d}`, fn);
}
