// Types of the attention engine's public API. Layouts are row-major float32.
// Size letters: H heads, Tq queries (nq), Tk keys (nk), D query/key dims (dk), Dv value dims (dv),
// A additive dims (da = v.length), M model dims (dModel).
import type { Trainer, TrainerOptions, Translator } from './translator/index.js';
export type {
  Evaluation, ScoreName, Trainer, TrainerOptions, TrainingProgress, Translation, Translator, TranslatorInfo,
} from './translator/index.js';

/** The spec's score function names (spec.js SCORE_NAMES; tests/js/scores.test.js checks this list against it). */
export type Score = 'dot' | 'scaled_dot' | 'general' | 'additive';
/** 'none', 'causal' (query i may attend key j iff j <= i + (nk - nq)) or an explicit Uint8Array [Tq][Tk], 1 = may attend. */
export type Mask = 'none' | 'causal' | Uint8Array;
export type BackendName = 'wasm' | 'webgpu';

/**
 * A block of float32 values in the engine's WASM heap (engine.heapArray): taken wherever a Float32Array input or
 * result buffer is, read and written there by the WASM kernels with no copy in or out (other backends get copies).
 */
export declare class HeapArray {
  private constructor();
  /** the number of float32 values */
  readonly length: number;
  /** true after dispose() */
  readonly disposed: boolean;
  /** a Float32Array over the block, valid until the heap next grows (take a new view after each engine call) */
  view(): Float32Array;
  /** copies values into the block from index offset (as TypedArray.set) */
  set(source: ArrayLike<number>, offset?: number): void;
  /** a copy of the values, owned by the caller */
  toArray(): Float32Array;
  /** the index of the first NaN or +-Infinity, -1 when every value is finite */
  firstNonFinite(): number;
  /** frees the block; later uses throw */
  dispose(): void;
}

/** A float input or result buffer: a Float32Array, or a HeapArray of the same engine. */
export type Floats = Float32Array | HeapArray;

export interface ScoreParams {
  /** general: [D][D], score = q^T W k */
  W?: Floats;
  /** additive: [A][D] */
  Wq?: Floats;
  /** additive: [A][D] */
  Wk?: Floats;
  /** additive: [A], score = v^T tanh(Wq q + Wk k) */
  v?: Floats;
}

export interface AttentionOptions extends ScoreParams {
  /**
   * Also return result.scores [H][Tq][Tk]: the score function's value before the softmax (scaled_dot already
   * divided by sqrt(dk)), -Infinity where the mask forbids the key. Not with the fused WebGPU kernel.
   */
  returnScores?: boolean;
  /** [H][Tq][D] */ query: Floats;
  /** [H][Tk][D] */ key: Floats;
  /** [H][Tk][Dv] */ value: Floats;
  heads?: number;
  nq: number;
  nk: number;
  dk: number;
  dv: number;
  score?: Score;
  mask?: Mask;
  returnWeights?: boolean;
  /**
   * Write the output into this buffer (its length: attention heads*nq*dv, multiHeadAttention nq*dModel) instead
   * of a new array; result.output is this buffer (a HeapArray: a view of it, which the kernels wrote in place).
   * Reusing buffers spares a fresh allocation per call.
   */
  out?: Floats;
  /** With returnWeights: write the weights [H][Tq][Tk] into this buffer; result.weights is this buffer (or a view of it). */
  weightsOut?: Floats;
  /** 'optimized' (default) or 'reference' (the double-accumulating scalar reference; for checks and benchmarks). */
  kernel?: 'optimized' | 'reference';
}

export interface MultiHeadOptions {
  /** [Tq][M] */ x: Floats;
  /** [Tk][M]; defaults to x (self-attention) */ context?: Floats;
  nq: number;
  /** required with context; equals nq for self-attention */ nk?: number;
  dModel: number;
  heads: number;
  /** [M][M] kernel layout [in][out]: y = x . W + b */ Wq: Floats;
  Wk: Floats;
  Wv: Floats;
  Wo: Floats;
  /** [M] */ bq?: Floats;
  bk?: Floats;
  bv?: Floats;
  bo?: Floats;
  score?: Score;
  /** score parameters for head size D = M / heads, shared by all heads */
  scoreParams?: ScoreParams;
  mask?: Mask;
  returnWeights?: boolean;
  /**
   * Write the output into this buffer (its length: attention heads*nq*dv, multiHeadAttention nq*dModel) instead
   * of a new array; result.output is this buffer (a HeapArray: a view of it, which the kernels wrote in place).
   * Reusing buffers spares a fresh allocation per call.
   */
  out?: Floats;
  /** With returnWeights: write the weights [H][Tq][Tk] into this buffer; result.weights is this buffer (or a view of it). */
  weightsOut?: Floats;
  kernel?: 'optimized' | 'reference';
}

export interface AttentionResult {
  /** attention: [H][Tq][Dv]; multiHeadAttention: [Tq][M] */
  output: Float32Array;
  /** [H][Tq][Tk] when returnWeights, else null */
  weights: Float32Array | null;
  /** attention with returnScores: [H][Tq][Tk] scores before the softmax, -Infinity where masked */
  scores?: Float32Array;
  /** the backend that computed this result */
  backend: BackendName;
  /** present when 'auto' fell back to WASM */
  fallback?: { from: BackendName; reason: string };
}

/** attentionBackward: attention's arguments (without the result options) and the gradient of the loss. */
export interface AttentionBackwardOptions
  extends Omit<AttentionOptions, 'returnWeights' | 'returnScores' | 'out' | 'weightsOut'> {
  /** [H][Tq][Dv]: d loss / d output */
  dOutput: Floats;
}

/** Gradients of the loss; score parameters the score function does not have are null. */
export interface AttentionGradients {
  /** [H][Tq][D] */ dQuery: Float32Array;
  /** [H][Tk][D] */ dKey: Float32Array;
  /** [H][Tk][Dv] */ dValue: Float32Array;
  /** general: [D][D] */ dW: Float32Array | null;
  /** additive: [A][D] */ dWq: Float32Array | null;
  /** additive: [A][D] */ dWk: Float32Array | null;
  /** additive: [A] */ dv: Float32Array | null;
}

export interface MultiHeadBackwardOptions
  extends Omit<MultiHeadOptions, 'returnWeights' | 'out' | 'weightsOut'> {
  /** [Tq][M]: d loss / d output */
  dOutput: Floats;
}

export interface MultiHeadGradients {
  /** [Tq][M]; for self-attention it holds x's gradient as query and as context */
  dx: Float32Array;
  /** [Tk][M]; null for self-attention */
  dContext: Float32Array | null;
  /** [M][M] each */
  dWq: Float32Array;
  dWk: Float32Array;
  dWv: Float32Array;
  dWo: Float32Array;
  /** [M], null when that bias was not given */
  dbq: Float32Array | null;
  dbk: Float32Array | null;
  dbv: Float32Array | null;
  dbo: Float32Array | null;
  /** the score parameters' (head size D = M / heads), null when unused */
  scoreParams: { dW: Float32Array | null; dWq: Float32Array | null; dWk: Float32Array | null; dv: Float32Array | null };
}

export interface ModelInfo {
  layers: number;
  heads: number[];
  dims: number[];
  vocabSize: number;
  maxTokens: number;
  dtype: string;
}

export interface ModelResult {
  pieces: string[];
  ids: Int32Array;
  /** L2-normalised sentence embedding */
  embedding: Float32Array;
  /** per layer, [heads][n][n] */
  attention: Float32Array[];
  /** per layer, [n][dims[layer]] */
  hidden: Float32Array[];
  /** token embeddings plus the timing signal, [n][dims[0]] */
  inputEmbeddings: Float32Array;
  /** per layer, [n][width of its input]: LN(x), what the layer's W_Q, W_K, W_V multiply */
  layerInputs: Float32Array[];
  /** per layer, [n][3 heads headDims]: Q | K | V of the layer (Q before attentionScales[layer]) */
  qkv: Float32Array[];
  /** true when the text was clipped at maxTokens */
  truncated: boolean;
}

export interface Model {
  info: ModelInfo;
  tokenize(text: string): { ids: Int32Array; pieces: string[] };
  run(text: string): Promise<ModelResult>;
  dispose(): void;
}

export interface Engine {
  readonly backend: BackendName;
  readonly simd: boolean;
  /** true when the WASM engine runs the build whose micro-kernels use relaxed SIMD's multiply-add */
  readonly relaxedSimd: boolean;
  /** how many threads the WASM engine runs on: more than 1 only in the threaded build (cross-origin isolated pages) */
  readonly threads: number;
  /** why more than one thread was asked for (or the default) and one runs, else null */
  readonly threadsFallback: string | null;
  readonly fallback: { from: BackendName; reason: string } | null;
  readonly adapterInfo: unknown;
  attention(options: AttentionOptions): Promise<AttentionResult>;
  multiHeadAttention(options: MultiHeadOptions): Promise<AttentionResult>;
  /** Gradients of attention (forward recomputed, then the backward); always computed on WASM. */
  attentionBackward(options: AttentionBackwardOptions): Promise<AttentionGradients>;
  /** Gradients of the multi-head layer; always computed on WASM. */
  multiHeadAttentionBackward(options: MultiHeadBackwardOptions): Promise<MultiHeadGradients>;
  /**
   * a URL, a fetch Response, a ReadableStream of Uint8Array chunks, the bytes of a safetensors file, or nothing
   * for the default compact model from the page's origin; URLs, responses and streams are read into the WASM
   * heap chunk by chunk as they download (a Response's Content-Length sizes the block)
   */
  loadModel(source?: string | URL | Response | ReadableStream<Uint8Array> | ArrayBuffer | Uint8Array): Promise<Model>;
  /** a trainer of the toy English -> German encoder-decoder from seeded weights (docs/TRANSLATOR.md) */
  createTrainer(options?: TrainerOptions): Promise<Trainer>;
  /** the translator of a weights file: the shipped one by default, or a URL, Response or bytes */
  loadTranslator(source?: string | URL | Response | ArrayBuffer | Uint8Array): Promise<Translator>;
  /** a HeapArray of `length` float32 zeros in this engine's WASM heap (length: a positive integer) */
  heapArray(length: number): HeapArray;
  memory(): { heapBytes: number; bytesInUse: number };
  /** Frees the GPU device and the WASM threads; every later call throws or rejects: '<fn>: the engine was disposed; ...' */
  dispose(): void;
}

export interface EngineOptions {
  backend?: 'auto' | BackendName;
  /** false forces the scalar WASM build */
  simd?: boolean;
  /**
   * false keeps the plain SIMD build where the browser has relaxed SIMD; by default the engine (one-thread or
   * threaded) then runs the build with f32x4.relaxed_madd (fused where the CPU has FMA: results may differ in the last bit)
   */
  relaxedSimd?: boolean;
  /** a GPU object: navigator.gpu in browsers, the npm 'webgpu' package's create([]) in Node */
  gpu?: unknown;
  /**
   * threads for the WASM engine, an integer from 1 to 16 (else a RangeError); default
   * navigator.hardwareConcurrency, at most 4. More than 1 loads the threaded build where the page is
   * cross-origin isolated; elsewhere (and in Node) one thread runs, see Engine.threads and threadsFallback.
   */
  threads?: number;
}

export function createEngine(options?: EngineOptions): Promise<Engine>;
/** [n][d]: PE[p][2i] = sin(p / 10000^(2i/d)), PE[p][2i+1] = cos(p / 10000^(2i/d)) */
export function positionalEncoding(n: number, d: number): Float32Array;
export function wasmSimdSupported(): boolean;
/** true where the WebAssembly engine accepts relaxed SIMD (Chromium 114 and later, Firefox; Node 20 only behind a flag) */
export function relaxedSimdSupported(): boolean;

// The op spec (web/src/lib/spec.js): one entry per score function, mask kind, kernel and model output.
export interface ScoreSpec {
  /** attn::Score in C++ */
  code: number;
  /** parameter name -> shape in size letters ('dk', 'da'), in validation order */
  params: Readonly<Record<string, readonly string[]>>;
  /** divided by sqrt(dk) after `formula` */
  scaled: boolean;
  label: string;
  formula: string;
}
export interface MaskSpec { code: number; label: string; formula: string }
export const SCORES: Readonly<Record<Score, ScoreSpec>>;
export const SCORE_NAMES: readonly Score[];
export const DEFAULT_SCORE: Score;
export const SCORE_PARAM_NAMES: readonly string[];
/** 1/sqrt(dk) for a scaled score function, else 1 */
export function scoreScale(score: Score, dk: number): number;
export const MASKS: Readonly<Record<'none' | 'causal' | 'explicit', MaskSpec>>;
export const MASK_NAMES: readonly ('none' | 'causal')[];
/** may query i attend key j under the normalized mask { kind, allowed } */
export function maskAllows(mask: { kind: 'none' | 'causal' | 'explicit'; allowed: Uint8Array | null }, i: number, j: number, nq: number, nk: number): boolean;
export const KERNELS: Readonly<Record<'optimized' | 'reference', { code: number; label: string }>>;
export const KERNEL_NAMES: readonly ('optimized' | 'reference')[];
export const DEFAULT_KERNEL: 'optimized';
export const MODEL_OUTPUTS: Readonly<{ embedding: 1; attention: 2; hidden: 4; inputEmbeddings: 8; layerInputs: 16; qkv: 32 }>;
export const ALL_MODEL_OUTPUTS: number;
