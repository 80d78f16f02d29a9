// The op spec: every name and numeric code of the engine's choices, listed once. Validation (validate.js),
// the WASM backend (codes for wasm/bindings/bindings.cpp), the WebGPU backend, the model code and the widget
// read these entries; no other file lists a score function, a mask kind, a kernel choice or a model output.
// Size letters: D query/key dims (dk), A additive dims (da).
//
// Adding a score function: an entry here (code = the next integer, the same value as attn::Score in
// wasm/include/attn/attention.h, whose count bindings.cpp checks with a static_assert), its C++ reference
// and kernels, its WGSL path in webgpu/attention.js, and its tests (tests/js/reference.js first).

/**
 * Score functions s(q, k) for a query q [D] and a key k [D].
 *   code:    the value of attn::Score (C++), passed through the binding
 *   params:  the parameters, in validation order, each with its shape in size letters; a letter no earlier
 *            entry fixed (A) is the length of the first 1-D parameter that has it (v)
 *   scaled:  true when the score is divided by sqrt(D) (scaled_dot); `formula` is before that division
 *   label, formula: for the views (plain text; q, k, W, v as in the formula)
 */
export const SCORES = Object.freeze({
  dot: Object.freeze({
    code: 0, params: Object.freeze({}), scaled: false, label: 'dot product', formula: 'q · k',
  }),
  scaled_dot: Object.freeze({
    code: 1, params: Object.freeze({}), scaled: true, label: 'scaled dot product', formula: 'q · k',
  }),
  general: Object.freeze({
    code: 2, params: Object.freeze({ W: Object.freeze(['dk', 'dk']) }), scaled: false,
    label: 'general (bilinear)', formula: 'qᵀ W k',
  }),
  additive: Object.freeze({
    code: 3,
    params: Object.freeze({ v: Object.freeze(['da']), Wq: Object.freeze(['da', 'dk']), Wk: Object.freeze(['da', 'dk']) }),
    scaled: false, label: 'additive (Bahdanau)', formula: 'vᵀ tanh(W_q q + W_k k)',
  }),
});
export const SCORE_NAMES = Object.freeze(Object.keys(SCORES));
export const DEFAULT_SCORE = 'scaled_dot';
/** Every score parameter name of any score function, e.g. W, v, Wq, Wk. */
export const SCORE_PARAM_NAMES = Object.freeze([...new Set(SCORE_NAMES.flatMap((s) => Object.keys(SCORES[s].params)))]);

/** The factor a score function's value is multiplied by after `formula`: 1/sqrt(D) when scaled, else 1. */
export function scoreScale(score, dk) {
  return SCORES[score].scaled ? 1 / Math.sqrt(dk) : 1;
}

/**
 * Mask kinds. `name`d ones are given as strings; 'explicit' is a Uint8Array [Tq][Tk] (1 = may attend).
 * code: the value of attn::MaskKind (C++) and of the WGSL programs' mask_kind (webgpu/mask.wgsl).
 */
export const MASKS = Object.freeze({
  none: Object.freeze({ code: 0, label: 'no mask', formula: 'every query may attend every key' }),
  causal: Object.freeze({ code: 1, label: 'causal', formula: 'query i may attend key j iff j ≤ i + (nk − nq)' }),
  explicit: Object.freeze({ code: 2, label: 'explicit', formula: 'query i may attend key j iff mask[i][j] = 1' }),
});
/** The masks given by name (the rest is a Uint8Array). */
export const MASK_NAMES = Object.freeze(['none', 'causal']);

/** May query i attend key j? mask: the normalized { kind, allowed } of validate.js. */
export function maskAllows(mask, i, j, nq, nk) {
  if (mask.kind === 'causal') return j <= i + (nk - nq);
  if (mask.kind === 'explicit') return mask.allowed[i * nk + j] !== 0;
  return true;
}

/** Kernel choices; code: the value of attn::Variant (C++). */
export const KERNELS = Object.freeze({
  optimized: Object.freeze({ code: 1, label: 'the best optimized kernel of the backend' }),
  reference: Object.freeze({ code: 0, label: 'the double-accumulating scalar reference (WASM)' }),
});
export const KERNEL_NAMES = Object.freeze(Object.keys(KERNELS));
export const DEFAULT_KERNEL = 'optimized';

/**
 * A model run's results (run()'s `outputs` option), as bits shared with wasm/bindings/model_bindings.cpp
 * (kOutput*) and the WebGPU encoder.
 */
export const MODEL_OUTPUTS = Object.freeze({
  embedding: 1, attention: 2, hidden: 4, inputEmbeddings: 8,
  // per layer: the attention's input LN(x) [n][inputWidth], and its projections [n][3 Da] = Q | K | V (Q before
  // the layer's attentionScale), i.e. the numbers the layer's own W_Q, W_K, W_V make (the step-by-step view)
  layerInputs: 16, qkv: 32,
});
export const ALL_MODEL_OUTPUTS = Object.values(MODEL_OUTPUTS).reduce((a, b) => a | b, 0);
