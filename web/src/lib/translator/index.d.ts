// Types of the toy English -> German encoder-decoder and its trainer (index.js, docs/TRANSLATOR.md).

import type { Score } from '../index.js';

/** A score function's name: the spec's names (web/src/lib/spec.js), typed once in ../index.d.ts. */
export type ScoreName = Score;

export interface TrainerOptions {
  score?: ScoreName;
  /** the initial weights, the training set's order and every batch; default 1 */
  seed?: number;
  dModel?: number;
  heads?: number;
  dFF?: number;
  encoderLayers?: number;
  decoderLayers?: number;
  /** additive score's hidden width (0: dModel / heads) */
  da?: number;
  /** sentences per step (default 32) */
  batchSize?: number;
  /** AdamW: peak learning rate, moments, weight decay (matrices only), global gradient-norm clip */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  clipNorm?: number;
  /** linear warm-up over warmupSteps, then a cosine to minLrRatio * lr at decaySteps */
  warmupSteps?: number;
  decaySteps?: number;
  minLrRatio?: number;
  kernel?: 'optimized' | 'reference';
}

export interface TranslatorInfo {
  encoderLayers: number;
  decoderLayers: number;
  heads: number;
  dModel: number;
  dFF: number;
  score: ScoreName;
  da: number;
  /** the longest source sentence (words) and decoder sequence */
  maxLen: number;
  /** rows of the embedding tables, the three specials <pad>, <bos>, <eos> included */
  sourceVocabSize: number;
  targetVocabSize: number;
  /** the words (no specials) */
  sourceVocab: string[];
  targetVocab: string[];
  parameters: number;
  /** training steps the weights have taken */
  steps: number;
  metadata: Record<string, string>;
}

export interface Translation {
  /** the German sentence, e.g. "Das Tier überquerte die Straße nicht, weil es zu müde war." */
  output: string;
  /** the English words as the model reads them (lower case, no punctuation), n of them */
  sourceTokens: string[];
  /** the generated tokens, m of them, ending with '<eos>' when the model stopped by itself */
  targetTokens: string[];
  /** the decoder's inputs, the keys of its self-attention: '<bos>' then targetTokens but the last */
  decoderInputTokens: string[];
  /** per layer; null when translate(text, { attention: false }) */
  attention: {
    /** [heads][n][n] */
    encoder: Float32Array[];
    /** [heads][m][m], causal: zero above the diagonal; row i produced targetTokens[i] */
    decoder: Float32Array[];
    /** [heads][m][n]: each generated token over the source words; rows sum to 1 */
    cross: Float32Array[];
  } | null;
  /** only with translate(text, { steps: true }): every attention block's own numbers, per layer */
  steps?: {
    encoder: BlockSteps[];
    /** the masked self-attention (mask 'causal') */
    decoder: BlockSteps[];
    cross: BlockSteps[];
  };
}

/**
 * One attention block in the final decoding pass (the one whose weights `attention` holds). For head h, with
 * Q_h, K_h, V_h its columns h*dh .. h*dh+dh-1: engine.attention({ query: Q_h, key: K_h, value: V_h, heads: 1, nq,
 * nk, dk: dh, dv: dh, score, mask, ...scoreParams }) gives attention[kind][l]'s head h.
 */
export interface BlockSteps {
  /** the block's input after its layer norm, [nq][dModel] */
  x: Float32Array;
  /** the keys' and values' input, [nk][dModel]: the encoder's output for cross-attention, else x */
  context: Float32Array;
  /** x W_Q + b_Q [nq][dModel]; context W_K + b_K, context W_V + b_V [nk][dModel] */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  nq: number;
  nk: number;
  dModel: number;
  heads: number;
  dh: number;
  score: ScoreName;
  mask: 'none' | 'causal';
  /** the block's own score weights, shared by its heads: {} (dot, scaled_dot), { W } (general), { Wq, Wk, v } (additive) */
  scoreParams: Record<string, Float32Array>;
}

export interface Evaluation {
  /** fraction of held-out test sentences translated exactly right */
  exact: number;
  /** fraction of held-out sentences with "it" whose German pronoun is right */
  pronoun: number;
  /** fraction of the two classic sentences right */
  classic: number;
  sentences: number;
  pronounSentences: number;
}

export interface Translator {
  info: TranslatorInfo;
  /** unknown words reject with a RangeError naming them (error.unknownWords) */
  translate(text: string, options?: { attention?: boolean; steps?: boolean }): Promise<Translation>;
  evaluate(options?: { limit?: number }): Promise<Evaluation>;
  dispose(): void;
}

export interface TrainingProgress {
  step: number;
  loss: number;
  gradNorm: number;
  lr: number;
  /** target tokens trained on so far (the <eos> of each sentence included) */
  tokens: number;
  evaluation?: Evaluation;
}

export interface Trainer extends Omit<Translator, 'info'> {
  readonly info: TranslatorInfo;
  readonly options: Required<TrainerOptions>;
  /** one training step: one WASM call (forward, backward, AdamW) on the next seeded batch */
  step(): Promise<TrainingProgress>;
  /** many steps, yielding every `chunk` steps; stops when `signal` aborts (call again to resume) */
  train(options: {
    steps: number;
    chunk?: number;
    onProgress?: (progress: TrainingProgress) => void;
    evaluateEvery?: number;
    evaluateLimit?: number;
    signal?: AbortSignal;
  }): Promise<TrainingProgress | null>;
  /** the mean loss of held-out sentences, no update */
  testLoss(count?: number): Promise<number>;
  /** the weights, configuration and vocabularies as a safetensors file */
  exportWeights(): Uint8Array;
  parameters(): Record<string, Float32Array>;
}

export const DEFAULT_TRANSLATOR_URL: URL;
