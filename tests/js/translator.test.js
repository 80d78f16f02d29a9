// The trained encoder-decoder (web/src/lib/translator/): the shipped weights translate the classic pair and
// held-out sentences, return causal decoder weights and normalised cross-attention, name unknown words; the
// trainer is validated, deterministic, and reproduces the committed run's first losses.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../web/src/lib/index.js';
import { CLASSIC_PAIR } from '../../web/src/lib/translator/language.js';

const RUN = JSON.parse(readFileSync(new URL('../../web/src/lib/translator/translator.run.json', import.meta.url), 'utf8'));

// Both one-thread builds: the SIMD one (where this Node validates WASM SIMD) and the scalar one.
describe.each([['WASM SIMD', true], ['WASM scalar', false]])('%s', (_, simd) => {
  let engine;
  let t;
  beforeAll(async () => {
    engine = await createEngine({ backend: 'wasm', threads: 1, simd });
    expect(engine.simd).toBe(simd);
    t = await engine.loadTranslator();
  });
  afterAll(() => engine?.dispose());

  describe('loadTranslator (the shipped weights)', () => {
    it('describes the model', () => {
      expect(t.info).toMatchObject({
        encoderLayers: RUN.options.encoderLayers, decoderLayers: RUN.options.decoderLayers, heads: RUN.options.heads,
        dModel: RUN.options.dModel, score: RUN.options.score, steps: RUN.steps,
      });
      expect(t.info.sourceVocab).toContain('animal');
      expect(t.info.targetVocab).toContain('Straße');
      expect(t.info.sourceVocabSize).toBe(t.info.sourceVocab.length + 3);
    });

    it('translates the classic pair: es for the tired animal, sie for the wide street', async () => {
      const r = await t.translate("The animal didn't cross the street because it was too tired");
      expect(r.output).toBe('Das Tier überquerte die Straße nicht, weil es zu müde war.');
      expect((await t.translate("The animal didn't cross the street because it was too wide")).output)
        .toBe('Das Tier überquerte die Straße nicht, weil sie zu breit war.');
      for (const c of CLASSIC_PAIR) expect((await t.translate(c.source)).output).toBe(c.target);
      expect(r.sourceTokens).toEqual(['the', 'animal', "didn't", 'cross', 'the', 'street', 'because', 'it', 'was', 'too', 'tired']);
      expect(r.targetTokens).toEqual(['Das', 'Tier', 'überquerte', 'die', 'Straße', 'nicht', ',', 'weil', 'es', 'zu', 'müde', 'war', '.', '<eos>']);
    });

    it('translates held-out sentences (horse and bridge never met in training)', async () => {
      expect((await t.translate("The horse didn't cross the bridge because it was too wide")).output)
        .toBe('Das Pferd überquerte die Brücke nicht, weil sie zu breit war.');
      expect((await t.translate("The horse didn't cross the bridge because it was too tired")).output)
        .toBe('Das Pferd überquerte die Brücke nicht, weil es zu müde war.');
      expect((await t.translate('The scared horse reached the steep bridge.')).output)
        .toBe('Das ängstliche Pferd erreichte die steile Brücke.');
    });

    it('returns every layer\'s attention: causal decoder weights, cross rows that sum to 1', async () => {
      const r = await t.translate("The animal didn't cross the street because it was too tired");
      const { heads, encoderLayers, decoderLayers } = t.info;
      const n = r.sourceTokens.length, m = r.targetTokens.length;
      expect(r.decoderInputTokens).toEqual(['<bos>', ...r.targetTokens.slice(0, -1)]);
      expect(r.attention.encoder).toHaveLength(encoderLayers);
      expect(r.attention.decoder).toHaveLength(decoderLayers);
      expect(r.attention.cross).toHaveLength(decoderLayers);
      for (const w of r.attention.encoder) expect(w).toHaveLength(heads * n * n);
      for (const w of r.attention.decoder) {
        expect(w).toHaveLength(heads * m * m);
        for (let h = 0; h < heads; h++) {
          for (let i = 0; i < m; i++) {
            let sum = 0;
            for (let j = 0; j < m; j++) {
              const x = w[(h * m + i) * m + j];
              if (j > i) expect(x).toBe(0);
              sum += x;
            }
            expect(sum).toBeCloseTo(1, 5);
          }
        }
      }
      for (const w of r.attention.cross) {
        expect(w).toHaveLength(heads * m * n);
        for (let row = 0; row < heads * m; row++) {
          let sum = 0;
          for (let j = 0; j < n; j++) sum += w[row * n + j];
          expect(sum).toBeCloseTo(1, 5);
        }
      }
      expect((await t.translate('the dog crossed the river', { attention: false })).attention).toBeNull();
    });

    it('names unknown words and stays usable', async () => {
      await expect(t.translate('The zebra crossed the motorway')).rejects.toThrow(/unknown words 'zebra', 'motorway'/);
      const error = await t.translate('the unicorn crossed the street').catch((e) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(error.unknownWords).toEqual(['unicorn']);
      await expect(t.translate('')).rejects.toThrow(RangeError);
      await expect(t.translate(42)).rejects.toThrow(TypeError);
      await expect(t.translate('the dog crossed the river', { weights: true })).rejects.toThrow(/unknown option 'weights'/);
      expect((await t.translate('the dog crossed the river')).output).toBe('Der Hund überquerte den Fluss.');
    });

    it('refuses files that are not a translator', async () => {
      await expect(engine.loadTranslator(new Uint8Array([1, 2, 3]))).rejects.toThrow(/safetensors/);
      await expect(engine.loadTranslator(42)).rejects.toThrow(TypeError);
    });
  });

  describe('createTrainer', () => {
    it('validates its options', async () => {
      await expect(engine.createTrainer({ score: 'cosine' })).rejects.toThrow(/score must be one of dot, scaled_dot, general, additive, got 'cosine'/);
      await expect(engine.createTrainer({ heads: 5 })).rejects.toThrow(/heads \(5\) must divide dModel \(32\)/);
      await expect(engine.createTrainer({ lr: -1 })).rejects.toThrow(RangeError);
      await expect(engine.createTrainer({ batch: 3 })).rejects.toThrow(/unknown option 'batch'/);
    });

    it('reproduces the committed run\'s first losses, deterministically from the seed', async () => {
      const { score, seed, decaySteps } = RUN.options;
      const a = await engine.createTrainer({ score, seed, decaySteps });
      const b = await engine.createTrainer({ score, seed, decaySteps });
      const la = [], lb = [];
      for (let i = 0; i < 5; i++) {
        la.push((await a.step()).loss);
        lb.push((await b.step()).loss);
      }
      expect(la).toEqual(lb);  // one build: the same bits
      // The committed run may come from another build (SIMD or scalar): within 1e-5.
      la.forEach((loss, i) => expect(Math.abs(loss - RUN.losses[i])).toBeLessThanOrEqual(1e-5));
      // Its weights export and load back as a translator that decodes the same.
      const again = await engine.loadTranslator(a.exportWeights());
      const sentence = "the cat didn't cross the river because it was too long";
      expect((await again.translate(sentence)).targetTokens).toEqual((await a.translate(sentence)).targetTokens);
      expect(again.info.steps).toBe(5);
      for (const x of [a, b, again]) x.dispose();
      await expect(a.step()).rejects.toThrow(/after dispose/);
    });

    it('trains in chunks with progress and stops when aborted', async () => {
      const trainer = await engine.createTrainer({ seed: 3, batchSize: 4 });
      const seen = [];
      const controller = new AbortController();
      const last = await trainer.train({
        steps: 50, chunk: 2, onProgress: (p) => { seen.push(p.step); if (p.step >= 6) controller.abort(); },
        signal: controller.signal,
      });
      expect(seen).toEqual([2, 4, 6]);
      expect(last.step).toBe(6);
      expect((await trainer.step()).step).toBe(7);  // resumes where it stopped
      await expect(trainer.train({ steps: 0 })).rejects.toThrow(RangeError);
      trainer.dispose();
    });
  });
});
