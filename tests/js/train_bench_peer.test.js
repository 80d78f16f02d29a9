// The training bench's TF.js peer (web/bench/train.js: the encoder-decoder written as a TF.js user would, padded
// [B][len] tensors with padding and causal masks, batched matMuls, AdamW in TF.js ops) computes what the engine
// computes: from the engine's initial weights, on the trainer's own batches (replayed from the seed), its losses
// over the first steps (so its AdamW is checked too) equal the trainer's within 1e-4, for every score function.
// TF.js here: tfjs-core + tfjs-backend-cpu (the bench runs tfjs-backend-wasm). No time is measured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { createEngine, SCORE_NAMES } from '../../web/src/lib/index.js';
import { createTfSeq2Seq, batchStream, learningRate } from '../../web/bench/train.js';

let engine;
beforeAll(async () => {
  await tf.setBackend('cpu');
  engine = await createEngine({ backend: 'wasm', threads: 1 });
});
afterAll(() => engine?.dispose());

describe('the training bench peer', () => {
  it('follows the engine learning-rate schedule', async () => {
    const trainer = await engine.createTrainer({ seed: 1 });
    const next = batchStream(trainer);
    for (let s = 1; s <= 3; s++) {
      next();
      const r = await trainer.step();
      expect(learningRate(trainer.options, r.step)).toBeCloseTo(r.lr, 9);
    }
    const o = trainer.options;
    expect(learningRate(o, o.warmupSteps)).toBeCloseTo(o.lr, 12);
    expect(learningRate(o, o.decaySteps)).toBeCloseTo(o.lr * o.minLrRatio, 12);
    trainer.dispose();
  });

  it.each(SCORE_NAMES)('%s: the losses of 3 steps equal the trainer\'s (1e-4)', async (score) => {
    const trainer = await engine.createTrainer({ score, seed: 2, batchSize: 6 });
    const vocab = trainer.corpus.targetVocab;
    const info = { ...trainer.info, bos: vocab.indexOf('<bos>'), eos: vocab.indexOf('<eos>'), pad: trainer.corpus.sourceVocab.indexOf('<pad>') };
    const model = createTfSeq2Seq(tf, info, trainer.parameters(), trainer.options);
    const next = batchStream(trainer);
    const tensorsBefore = tf.memory().numTensors;
    let before = 0;
    for (let s = 1; s <= 3; s++) {
      const ours = await trainer.step();
      const theirs = model.step(next());
      expect(theirs.tokens, `step ${s}`).toBe(ours.tokens - before);  // the same batch: its target tokens + <eos>
      before = ours.tokens;
      expect(Math.abs(theirs.loss - ours.loss), `step ${s}`).toBeLessThanOrEqual(1e-4);
    }
    expect(tf.memory().numTensors).toBe(tensorsBefore);  // a step leaves no tensor behind
    model.dispose();
    trainer.dispose();
  });
});
