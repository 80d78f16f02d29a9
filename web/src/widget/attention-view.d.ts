// Types of the <attention-view> custom element (web/src/widget/attention-view.js). Views, modes and score
// functions are registries (views/index.js, modes.js, lib/spec.js): their ids are strings here, so adding one
// does not touch this file. docs/WIDGET.md documents every attribute, property, event, part and custom property.
import type { Score } from '../lib/index.js';
export type { Score };

/** The id of a registered view (views/index.js): heatmap, head, model, neuron, steps, translation, ... */
export type View = string;
/** The id of a mode (modes.js): model, whatif, translate, causal, encdec, seeded, ... */
export type Mode = string;
export type Loading = 'lazy' | 'eager' | 'interaction';

/** The props a view's render() receives; it returns a Node (optionally with exportSvg(): SVGSVGElement). */
export interface ViewProps {
  result: AttentionResult;
  shown: Shown;
  state: Record<string, unknown>;
  palette: Palette;
  width: number;
  hiddenHeads: ReadonlySet<number>;
  announce(text: string): void;
  setState(partial: Record<string, string | number | boolean | null>): void;
  toggleHead(head: number): void;
}

/** One entry of the view registry (web/src/widget/views/index.js). */
export interface ViewEntry {
  id: View;
  label: string;
  /** what the worker computes besides the weights: 'steps' = one head step by step */
  needs: Array<'steps'>;
  /** toolbar controls the view reads; the others are disabled */
  controls: Array<'layer' | 'head' | 'aggregate' | 'merge'>;
  /** extra fields of `shown`, derived from the result (pure) */
  select?(result: AttentionResult, state: Record<string, unknown>, shown: Shown): Partial<Shown>;
  /** the most height (px) the view takes at a width, kept free before the first drawing */
  reserve?(width: number, state: Record<string, unknown>): number;
  render(props: ViewProps): Node;
  /** the modes whose toolbar shows the view (default: all) */
  modes?: Mode[];
}

/** Colours a view draws with, from the element's custom properties. */
export interface Palette {
  theme: 'light' | 'dark';
  fg: string; bg: string; muted: string; masked: string;
  maskedRgb: [number, number, number];
  /** sequential and diverging ramps, [r, g, b] stops */
  seq: Array<[number, number, number]>;
  div: Array<[number, number, number]>;
  /** one colour per head */
  heads: string[];
}

/** Why a text was clipped: the widget's character limit or a token limit (owner: whose limit). */
export interface Clip {
  input: 'text' | 'source';
  unit: 'characters' | 'tokens';
  max: number;
  owner: 'widget' | 'model' | 'encdec' | 'seeded';
}

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
  /** 1/sqrt(dh) for a scaled score function (lib/spec.js), else 1 */
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
  /** [nq][nk] the engine's scores before the softmax (scaled where the score function is), before and after the mask (-Infinity) */
  scores: Float32Array; masked: Float32Array;
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
  weightsFrom: 'model' | 'seeded' | 'translator';
  /** translator modes: the trained encoder-decoder's output for the English text */
  translation?: {
    output: string;
    sourceTokens: string[];
    /** the generated tokens (each decoder and cross row produced one) */
    targetTokens: string[];
    /** '<bos>' then targetTokens but the last: the keys of the decoder's self-attention */
    inputTokens: string[];
    rows: string[];
    info: Record<string, unknown>;
    /** set when the weights were trained in the page: { score, seed, steps } */
    trainedIn: { score: Score; seed: number; steps: number } | null;
  };
  /** The model file the weights come from (`model-src`, the page's setting or the widget's own copy), else null. */
  modelUrl: string | null;
  backend: 'wasm' | 'webgpu';
  simd: boolean;
  layers: LayerWeights[];
  steps: Steps | null;
  /** what-if mode: the model's attention for the same text */
  reference: LayerWeights[] | null;
  peImage?: { n: number; d: number; values: Float32Array; used: boolean };
  /** true when any token limit clipped the text or the source (see clips) */
  truncated: boolean;
  clips: Clip[];
  /** a poster: a result exported earlier, shown until the live one is drawn */
  precomputed?: boolean;
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
  /** How many times the view has been drawn (at most once per animation frame). */
  readonly renderCount: number;
}

export const VIEWS: View[];
export const MODES: Mode[];
export const SCORES: Score[];
export const LOADING: Loading[];
export const DEFAULT_TEXT: string;
export const DEFAULT_SOURCE: string;
export const MAX_CHARS: number;
export const NEAR_PX: number;
export function clipMessage(clip: Clip): string;
export function displayPiece(piece: string): string;

declare global {
  interface HTMLElementTagNameMap {
    'attention-view': AttentionView;
  }
  interface HTMLElementEventMap {
    'attention-computed': CustomEvent<{ result: AttentionResult }>;
    'attention-error': CustomEvent<{ error: Error }>;
    'attention-view-change': CustomEvent<Record<string, unknown>>;
    'attention-rendered': CustomEvent<{ result: AttentionResult }>;
  }
}
