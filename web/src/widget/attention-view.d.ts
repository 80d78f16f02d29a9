// Types of the <attention-view> custom element (web/src/widget/attention-view.js).

export type View = 'heatmap' | 'head' | 'model' | 'neuron' | 'steps';
export type Mode = 'model' | 'whatif' | 'causal' | 'encdec' | 'seeded';
export type Score = 'dot' | 'scaled_dot' | 'general' | 'additive';

/** One layer of attention weights: [heads][nq][nk]. */
export interface LayerWeights {
  name: string;
  heads: number;
  nq: number;
  nk: number;
  queryPieces: string[];
  keyPieces: string[];
  weights: Float32Array;
}

/** One head, step by step (all matrices row-major). */
export interface Steps {
  layer: number;
  head: number;
  nq: number;
  nk: number;
  /** model dims */
  d: number;
  /** dims per head (d_k = d_v) */
  dh: number;
  score: Score;
  mask: 'none' | 'causal';
  /** 1/sqrt(dh) for scaled_dot, else 1 */
  scale: number;
  /** where X and the projections come from */
  label: string;
  /** [nq][d], positional encoding already added when PE is set */
  X: Float32Array;
  /** [nk][d] source sentence (encoder-decoder), else null */
  C: Float32Array | null;
  /** [nq][d] or null */
  PE: Float32Array | null;
  Q: Float32Array; K: Float32Array; V: Float32Array;
  /** [nq][nk] raw scores, scaled scores, masked scores (-Infinity where masked) */
  scores: Float32Array; scaled: Float32Array; masked: Float32Array;
  /** [nq][nk] softmax weights and [nq][dh] output, from engine.attention */
  weights: Float32Array;
  Z: Float32Array;
}

/** The matrix the current view draws. */
export interface Shown {
  view: View;
  layer: number;
  head: number;
  aggregate: 'head' | 'mean' | 'rollout';
  merged: boolean;
  rows: number;
  cols: number;
  queryLabels: string[];
  keyLabels: string[];
  /** [rows][cols] */
  matrix: Float32Array;
  visibleHeads: number[];
  /** what-if mode: the model's own weights drawn beside */
  reference?: Omit<Shown, 'view' | 'visibleHeads'>;
}

export interface AttentionResult {
  mode: Mode;
  score: Score;
  pe: boolean;
  text: string;
  source: string | null;
  weightsFrom: 'model' | 'seeded';
  /** The model file the weights come from (`model-src`, the page's setting or the widget's own copy), else null. */
  modelUrl: string | null;
  backend: 'wasm' | 'webgpu';
  simd: boolean;
  layers: LayerWeights[];
  steps: Steps | null;
  /** what-if mode: the model's attention for the same text */
  reference: LayerWeights[] | null;
  peImage?: { n: number; d: number; values: Float32Array; used: boolean };
  truncated: boolean;
  clipped: boolean;
  notes: string[];
  timings: { totalMs: number; workerMs: number; engineReadyMs: number; roundTripMs: number; modelRunMs?: number };
  shown: Shown;
}

export class AttentionView extends HTMLElement {
  static observedAttributes: string[];
  /** Resolves with `result` once the current computation is drawn; rejects if it failed. */
  readonly ready: Promise<AttentionResult>;
  /** The numbers on screen, or null before the first computation. */
  readonly result: AttentionResult | null;
  readonly error: Error | null;
  /** Sets attributes from a partial state (null or false removes one) and fires attention-view-change. */
  setState(partial: Record<string, string | number | boolean | null>): void;
  exportSVG(): string;
  exportPNG(scale?: number): Promise<Blob>;
  exportJSON(): string;
}

export const VIEWS: View[];
export const MODES: Mode[];
export const SCORES: Score[];
export const DEFAULT_TEXT: string;
export function displayPiece(piece: string): string;

declare global {
  interface HTMLElementTagNameMap {
    'attention-view': AttentionView;
  }
  interface HTMLElementEventMap {
    'attention-computed': CustomEvent<{ result: AttentionResult }>;
    'attention-error': CustomEvent<{ error: Error }>;
    'attention-view-change': CustomEvent<Record<string, unknown>>;
  }
}
