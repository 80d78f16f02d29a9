/** The model file on the page's own origin that loadModel reads by default. */
export const DEFAULT_MODEL_PATH: string;

export interface ModelInfo {
  name: string;
  layers: number;
  /** Heads per layer. */
  heads: readonly number[];
  /** Width of each layer's output (hidden states). */
  dims: readonly number[];
  /** Width of one head's queries, keys and values, per layer. */
  headDims: readonly number[];
  /** Per layer: the factor q is multiplied by before q.k (the layer's score is dot on scaled queries). */
  attentionScales: readonly number[];
  /** Width of the input embeddings (token embedding + timing signal). */
  inputDims: number;
  embeddingDims: number;
  /** Rows of the embedding table (token ids are in [0, vocabSize)). */
  vocabSize: number;
  /** Tokens kept by run(); later ones are dropped, as the original graph does. */
  maxTokens: number;
  /** Storage type of the weight matrices in the file: 'float32' or 'float16'. */
  dtype: string;
}

export interface ModelResult {
  pieces: string[];
  ids: Int32Array;
  n: number;
  truncated: boolean;
  tokensBeforeClip: number;
  /** L2-normalised sentence embedding [embeddingDims]; null when not in options.outputs. */
  embedding: Float32Array | null;
  /** Per layer: [heads][n][n], row = query, column = key; null when not in options.outputs. */
  attention: Float32Array[] | null;
  /** Per layer: [n][dims[layer]]; null when not in options.outputs. */
  hidden: Float32Array[] | null;
  /** [n][inputDims]: 2 * token embedding + timing signal, what layer 0 receives; null when not in options.outputs. */
  inputEmbeddings: Float32Array | null;
  /** Per layer [n][width of the layer's input]: LN(x), what the layer's W_Q, W_K, W_V multiply. */
  layerInputs: Float32Array[] | null;
  /** Per layer [n][3 heads headDims]: Q | K | V = LN(x) Wqkv + b (Q before attentionScales[layer]). */
  qkv: Float32Array[] | null;
}

export type ModelOutput = 'embedding' | 'attention' | 'hidden' | 'inputEmbeddings' | 'layerInputs' | 'qkv';

export interface RunOptions {
  kernel?: 'optimized' | 'reference';
  /** The results to return (default all); the others are null. Without 'attention' the layers run the
   * no-weights attention kernel. */
  outputs?: ModelOutput[];
}

export interface Model {
  info: ModelInfo;
  tokenize(text: string): { ids: Int32Array; pieces: string[] };
  run(text: string, options?: RunOptions): Promise<ModelResult>;
  runIds(ids: ArrayLike<number>, options?: RunOptions): Promise<ModelResult>;
  dispose(): void;
}

export function loadModel(
  module: unknown,
  source?: string | URL | ArrayBuffer | ArrayBufferView,
  options?: { defaultSource?: string | URL },
): Promise<Model>;
