// One whole training step of the encoder-decoder against an independent oracle: TF.js (tfjs-core +
// tfjs-backend-cpu, float32) builds the same model from the same weights (tests/js/translator_tf.js) and takes
// the loss and every parameter's gradient with tf.variableGrads. Bound (issue 16): per tensor, the max abs
// error <= 1e-4 of the largest |gradient| in it; the worst measured is printed. All four score functions, the
// shipped architecture, a batch of 6 sentences from four templates, after 3 steps (so that layer-norm scales
// and biases are no longer 1 and 0).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createEngine, SCORE_NAMES } from '../../web/src/lib/index.js';
import { seq2seqLoss } from './translator_tf.js';

const BOUND = 1e-4;
let engine;
beforeAll(async () => {
  await tf.setBackend('cpu');
  engine = await createEngine({ backend: 'wasm', threads: 1 });
});
afterAll(() => engine?.dispose());

describe('one training step against TF.js', () => {
  it.each(SCORE_NAMES)('%s: the loss and every parameter gradient', async (score) => {
    const trainer = await engine.createTrainer({ score, seed: 5, batchSize: 8 });
    for (let i = 0; i < 3; i++) await trainer.step();
    const sentences = ['classic', 'adjectives', 'saw-clause', 'not-too'].flatMap((id) =>
      trainer.corpus.train.filter((s) => s.template === id).slice(0, id === 'classic' ? 3 : 1));
    const batch = trainer.packBatch(sentences);
    const ours = trainer.gradients(batch);
    const params = trainer.parameters();
    const info = { ...trainer.info, bos: trainer.corpus.targetVocab.indexOf('<bos>'), eos: trainer.corpus.targetVocab.indexOf('<eos>') };
    const variables = {};
    tf.tidy(() => {
      for (const [name, values] of Object.entries(params)) {
        const shape = tensorShape(name, values.length, info);
        variables[name] = tf.variable(tf.tensor(values, shape), true, `${score}/${name}`);
      }
      const { value, grads } = tf.variableGrads(seq2seqLoss(tf, info, variables, batch), Object.values(variables));
      expect(Math.abs(value.dataSync()[0] - ours.loss)).toBeLessThanOrEqual(1e-5 * Math.max(1, ours.loss));
      let worst = 0, where = '';
      for (const [name, v] of Object.entries(variables)) {
        const want = grads[v.name].dataSync();
        const got = ours.gradients[name];
        let err = 0, big = 0;
        for (let i = 0; i < want.length; i++) {
          err = Math.max(err, Math.abs(got[i] - want[i]));
          big = Math.max(big, Math.abs(want[i]));
        }
        // The scale is floored at 1e-3: the key biases' true gradient is 0 (softmax ignores a constant added to a
        // row), so both sides hold rounding noise there (~1e-8), which no relative bound can compare.
        const ratio = err / Math.max(big, 1e-3);
        if (ratio > worst) [worst, where] = [ratio, name];
        expect(ratio, `${score} ${name}: max abs error ${err} vs largest |grad| ${big}`).toBeLessThanOrEqual(BOUND);
      }
      console.log(`translator oracle ${score}: loss ${ours.loss.toFixed(6)} vs ${value.dataSync()[0].toFixed(6)}, ` +
        `worst gradient error ${worst.toExponential(2)} of the tensor's largest |grad| (${where})`);
      for (const v of Object.values(variables)) v.dispose();
    });
    trainer.dispose();
  });
});

/** The shape of a named parameter (seq2seq.h's table): 2-D weights [in][out] or [V][M], else 1-D. */
function tensorShape(name, count, info) {
  const M = info.dModel;
  if (name === 'src_embed' || name === 'tgt_embed') return [count / M, M];
  if (name.endsWith('.score.W')) return [M / info.heads, M / info.heads];
  if (name.endsWith('.score.Wq') || name.endsWith('.score.Wk')) return [count / (M / info.heads), M / info.heads];
  if (name.endsWith('.W')) {
    if (name.includes('ffn1') || name === 'out.W') return [M, count / M];
    return [count / M, M];
  }
  return [count];
}
