// B sentences per batch, S padded source length, T padded decoder length (bos + target), M model dims,
// H heads, Dh = M/H, A additive dims, V vocabulary rows.
//
// The training rows of the bench (issues 16 and 17), in this page:
//   1. one training step of the toy English -> German encoder-decoder (docs/TRANSLATOR.md) at its batch size:
//      ours (engine.createTrainer().step(): forward, backward and AdamW in one WASM call) against TF.js on
//      tfjs-backend-wasm (one thread), the same architecture written the way a TF.js user would: padded
//      [B][S] / [B][T] id tensors, additive padding and causal masks, batched matMuls over [B][H][.][Dh],
//      tf.variableGrads, and AdamW (tfjs has none) with the same betas, decay on matrices, global-norm clip and
//      warm-up + cosine schedule. Both start from the same weights and train on the same batches (the
//      trainer's seeded sampling replayed); the first steps' losses must agree within 1e-4 before anything is
//      timed, so the row compares the same computation. Steps are interleaved, median ms and target tokens/s.
//   2. time to >= 95% held-out exact match: a fresh trainer (seed 1) steps until held-out exact match on a
//      fixed subset (every `every` steps) reaches 95%, on one thread and on the threaded engine; seconds of
//      step time alone and of wall time with the evaluations.
// Nothing here asserts a time.
import { loadTfjs } from './peers.js';
import { median } from './inputs.js';
import { positionalEncoding } from '../src/lib/index.js';
import { TEMPLATES, mulberry32, PAD } from '../src/lib/translator/language.js';

const CHECK_STEPS = 3;
const CHECK_TOLERANCE = 1e-4;

/** TF.js (the peers' UMD build on tfjs-backend-wasm, one thread) plus tfjs-core's gradients, which that build
 * leaves out: scripts/bench/run.mjs serves them bundled at /vendor-built/ and they register into the same
 * global gradient registry. */
export async function loadTfjsTraining() {
  const tf = await loadTfjs();
  const url = '/vendor-built/tfjs-gradients.js';  // a variable: Vite leaves the import alone
  if (!tf.getGradient?.('BatchMatMul')) await import(/* @vite-ignore */ url);
  if (!tf.getGradient?.('BatchMatMul')) throw new Error('tfjs-core gradients did not register');
  return tf;
}

/** The trainer's batch stream (index.js createTrainer: a template uniformly, then one of its sentences),
 * replayed from the same seed: batch k here is the batch of the trainer's step k. */
export function batchStream(trainer) {
  const { corpus, options } = trainer;
  const byTemplate = TEMPLATES.map((t) => corpus.train.filter((s) => s.template === t.id));
  const random = mulberry32((options.seed ^ 0x5eed) >>> 0);
  return () => {
    const sentences = [];
    for (let i = 0; i < options.batchSize; i++) {
      const list = byTemplate[Math.floor(random() * byTemplate.length)];
      sentences.push(list[Math.floor(random() * list.length)]);
    }
    return trainer.packBatch(sentences);
  };
}

/** The shape of each named weight (W as [in][out], the engine's layout). */
function shapeOf(name, count, M, dh) {
  if (name === 'src_embed' || name === 'tgt_embed') return [count / M, M];
  if (name.endsWith('.score.W')) return [dh, dh];
  if (name.endsWith('.score.Wq') || name.endsWith('.score.Wk')) return [count / dh, dh];
  if (name.endsWith('.W')) return name.includes('ffn1') || name === 'out.W' ? [M, count / M] : [count / M, M];
  return [count];
}

/** The engine's learning rate at step s (wasm/src/train/adamw.cpp). */
export function learningRate(o, step) {
  if (step <= o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  const span = o.decaySteps - o.warmupSteps;
  const t = span > 0 ? Math.min(1, (step - o.warmupSteps) / span) : 1;
  return o.lr * (o.minLrRatio + (1 - o.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/**
 * The encoder-decoder in TF.js, batched and padded, with its AdamW. params: { name: Float32Array } (the
 * trainer's weights); info: trainer.info plus bos/eos/pad ids; o: trainer.options.
 * step(packed) -> loss of that batch before the update (one dataSync per step, as ours returns its loss).
 */
export function createTfSeq2Seq(tf, info, params, o) {
  const M = info.dModel, H = info.heads, dh = M / H;
  const names = Object.keys(params);
  const w = Object.fromEntries(names.map((n) => [n, tf.variable(tf.tensor(params[n], shapeOf(n, params[n].length, M, dh)), true, `tb.${n}`)]));
  const moments = Object.fromEntries(names.map((n) => [n, { m: tf.variable(tf.zerosLike(w[n]), false), v: tf.variable(tf.zerosLike(w[n]), false) }]));
  const maxLen = 64;
  const pe = tf.keep(tf.tensor2d(positionalEncoding(maxLen, M), [maxLen, M]));  // the library's table
  const NEG = -1e9;

  // int32 one-hot rows cast to float (tfjs-backend-wasm 4.22's OneHot writes int32 data whatever dtype is asked).
  const oneHot = (ids, depth) => tf.cast(tf.oneHot(ids, depth), 'float32');
  const dense = (x, p) => tf.add(tf.matMul(x, w[`${p}.W`]), w[`${p}.b`]);
  const norm = (x, p) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), w[`${p}.scale`]), w[`${p}.bias`]);
  };
  const gelu = (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.square(x), x)))))));
  const ffn = (x, p) => dense(gelu(dense(x, `${p}.ffn1`)), `${p}.ffn2`);
  const splitHeads = (x, B, L) => tf.transpose(tf.reshape(x, [B, L, H, dh]), [0, 2, 1, 3]);  // [B][H][L][Dh]
  // x [B*Lq][M], ctx [B*Lk][M]; bias broadcast to [B][H][Lq][Lk] (0 or -1e9).
  const mha = (x, ctx, B, Lq, Lk, p, bias) => {
    const q = splitHeads(dense(x, `${p}.q`), B, Lq), k = splitHeads(dense(ctx, `${p}.k`), B, Lk);
    const v = splitHeads(dense(ctx, `${p}.v`), B, Lk);
    let s;
    if (info.score === 'dot') s = tf.matMul(q, k, false, true);
    else if (info.score === 'scaled_dot') s = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh));
    else if (info.score === 'general') {
      const qw = tf.reshape(tf.matMul(tf.reshape(q, [B * H * Lq, dh]), w[`${p}.score.W`]), [B, H, Lq, dh]);
      s = tf.matMul(qw, k, false, true);
    } else {  // additive: v . tanh(Wq q_i + Wk k_j)
      const A = w[`${p}.score.v`].shape[0];
      const a = tf.reshape(tf.matMul(tf.reshape(q, [B * H * Lq, dh]), w[`${p}.score.Wq`], false, true), [B, H, Lq, 1, A]);
      const b = tf.reshape(tf.matMul(tf.reshape(k, [B * H * Lk, dh]), w[`${p}.score.Wk`], false, true), [B, H, 1, Lk, A]);
      const t = tf.tanh(tf.add(a, b));
      s = tf.reshape(tf.matMul(tf.reshape(t, [B * H * Lq * Lk, A]), tf.reshape(w[`${p}.score.v`], [A, 1])), [B, H, Lq, Lk]);
    }
    const z = tf.matMul(tf.softmax(tf.add(s, bias)), v);  // [B][H][Lq][Dh]
    return dense(tf.reshape(tf.transpose(z, [0, 2, 1, 3]), [B * Lq, M]), `${p}.o`);
  };

  /** Padded tensors of a packed batch ({ src, srcLengths, tgt, tgtLengths }). */
  function pad(packed) {
    const B = packed.srcLengths.length;
    const S = Math.max(...packed.srcLengths), T = Math.max(...packed.tgtLengths) + 1;
    const src = new Int32Array(B * S).fill(info.pad), dec = new Int32Array(B * T).fill(info.pad);
    const target = new Int32Array(B * T), weight = new Float32Array(B * T);
    const keyBias = new Float32Array(B * S).fill(NEG);
    let s0 = 0, t0 = 0;
    for (let b = 0; b < B; b++) {
      const n = packed.srcLengths[b], k = packed.tgtLengths[b];
      for (let i = 0; i < n; i++) { src[b * S + i] = packed.src[s0 + i]; keyBias[b * S + i] = 0; }
      dec[b * T] = info.bos;
      for (let i = 0; i < k; i++) { dec[b * T + 1 + i] = packed.tgt[t0 + i]; target[b * T + i] = packed.tgt[t0 + i]; }
      target[b * T + k] = info.eos;
      for (let i = 0; i <= k; i++) weight[b * T + i] = 1;
      s0 += n;
      t0 += k;
    }
    const causal = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) causal[i * T + j] = NEG;
    return {
      B, S, T, rows: packed.tgt.length + B,
      src: tf.tensor1d(src, 'int32'), dec: tf.tensor1d(dec, 'int32'), target: tf.tensor1d(target, 'int32'),
      weight: tf.tensor1d(weight), keyBias: tf.tensor4d(keyBias, [B, 1, 1, S]), causal: tf.tensor4d(causal, [1, 1, T, T]),
    };
  }

  /** Mean cross-entropy over the real target rows (targets and <eos>), padded rows weighted 0. */
  function loss(x) {
    const { B, S, T } = x;
    // The lookup as one-hot rows times the table: tfjs-backend-wasm has no kernel for gather's gradient.
    const embed = (ids, table, L) => tf.add(tf.mul(tf.matMul(oneHot(ids, table.shape[0]), table), Math.sqrt(M)),
      tf.tile(tf.slice(pe, [0, 0], [L, M]), [B, 1]));
    let e = embed(x.src, w.src_embed, S);
    for (let l = 0; l < info.encoderLayers; l++) {
      const h = norm(e, `enc.${l}.ln1`);
      e = tf.add(e, mha(h, h, B, S, S, `enc.${l}.self`, x.keyBias));
      e = tf.add(e, ffn(norm(e, `enc.${l}.ln2`), `enc.${l}`));
    }
    const enc = norm(e, 'enc.ln');
    let y = embed(x.dec, w.tgt_embed, T);
    for (let l = 0; l < info.decoderLayers; l++) {
      const h = norm(y, `dec.${l}.ln1`);
      y = tf.add(y, mha(h, h, B, T, T, `dec.${l}.self`, x.causal));
      y = tf.add(y, mha(norm(y, `dec.${l}.ln2`), enc, B, T, S, `dec.${l}.cross`, x.keyBias));
      y = tf.add(y, ffn(norm(y, `dec.${l}.ln3`), `dec.${l}`));
    }
    const logits = dense(norm(y, 'dec.ln'), 'out');  // [B*T][V]
    const picked = tf.sum(tf.mul(oneHot(x.target, logits.shape[1]), tf.logSoftmax(logits)), -1);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, x.weight))), x.rows);
  }

  let step = 0;
  const vars = names.map((n) => w[n]);
  /** AdamW as wasm/src/train/adamw.cpp: clip by the global norm, bias-corrected moments, decay on matrices. */
  function adamw(grads) {
    step += 1;
    const lr = learningRate(o, step);
    const c1 = 1 - o.beta1 ** step, c2 = 1 - o.beta2 ** step;
    tf.tidy(() => {
      const gradNorm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[w[n].name])))));
      const clip = tf.minimum(1, tf.div(o.clipNorm, gradNorm));
      for (const n of names) {
        const p = w[n], { m, v } = moments[n];
        const g = tf.mul(grads[p.name], clip);
        m.assign(tf.add(tf.mul(m, o.beta1), tf.mul(g, 1 - o.beta1)));
        v.assign(tf.add(tf.mul(v, o.beta2), tf.mul(tf.square(g), 1 - o.beta2)));
        let update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), o.eps));
        if (p.shape.length === 2) update = tf.add(update, tf.mul(p, o.weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
  }

  return {
    step(packed) {
      const x = pad(packed);
      const { value, grads } = tf.variableGrads(() => loss(x), vars);
      adamw(grads);
      const result = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads), x.src, x.dec, x.target, x.weight, x.keyBias, x.causal]);
      return { loss: result, tokens: x.rows };
    },
    /** The loss of a batch under the current weights (no update). */
    loss(packed) {
      const x = pad(packed);
      const r = tf.tidy(() => loss(x).dataSync()[0]);
      tf.dispose([x.src, x.dec, x.target, x.weight, x.keyBias, x.causal]);
      return r;
    },
    dispose() {
      tf.dispose([...vars, ...Object.values(moments).flatMap((s) => [s.m, s.v]), pe]);
    },
  };
}

function tfInfo(trainer) {
  const vocab = trainer.corpus.targetVocab, srcVocab = trainer.corpus.sourceVocab;
  return { ...trainer.info, bos: vocab.indexOf('<bos>'), eos: vocab.indexOf('<eos>'), pad: srcVocab.indexOf(PAD) };
}

/**
 * results.training = { step: { check, rows }, translate: { rows }, accuracy: rows }. engines: [{ engine, label, threads }] (one
 * thread first). rounds: interleaved rounds of `oursSteps` / `tfSteps` steps each.
 */
export async function benchTraining({ engines, results, log, note, rounds = 5, oursSteps = 5, tfSteps = 2, accuracy = true,
  score = 'scaled_dot', every = 25, target = 0.95, evalLimit = 200, maxSteps = 800 }) {
  const out = results.training = { score, batchSize: null, step: { check: null, rows: [] }, accuracy: { every, target, evalLimit, rows: [] } };
  const first = engines[0]?.engine;
  if (!first || typeof first.createTrainer !== 'function') {
    note('engine.createTrainer does not exist: no training rows');
    return;
  }
  // ---- 1. one training step, ours vs TF.js
  let tf = null;
  try {
    tf = await loadTfjsTraining();
  } catch (e) {
    note(`TF.js training did not load (${e.message}): no TF.js training row`);
  }
  const entries = [];
  for (const { engine, label, threads } of engines) {
    const trainer = await engine.createTrainer({ score, seed: 1 });
    let before = 0;  // step() reports the trainer's running token count
    const run = async () => {
      const r = await trainer.step();
      const tokens = r.tokens - before;
      before = r.tokens;
      return { loss: r.loss, tokens };
    };
    entries.push({ label, threads, run, trainer, samples: [], tokens: 0, steps: 0 });
  }
  const o = entries[0].trainer.options;
  out.batchSize = o.batchSize;
  let tfModel = null;
  if (tf) {
    const reference = entries[0].trainer;
    const info = tfInfo(reference);
    tfModel = createTfSeq2Seq(tf, info, reference.parameters(), o);  // the weights before step 1
    const next = batchStream(reference);
    // The check: the first CHECK_STEPS steps of ours and of TF.js from the same weights on the same batches.
    const check = { steps: [], tolerance: CHECK_TOLERANCE, ok: true };
    for (let s = 0; s < CHECK_STEPS; s++) {
      const ours = await entries[0].run();
      const theirs = tfModel.step(next());
      const diff = Math.abs(ours.loss - theirs.loss);
      check.steps.push({ step: s + 1, ours: ours.loss, tfjs: theirs.loss, absDiff: diff });
      if (!(diff <= CHECK_TOLERANCE)) check.ok = false;
    }
    out.step.check = check;
    log(`training check (same weights, same batches): ${check.steps.map((c) => `step ${c.step} ours ${c.ours.toFixed(6)} tfjs ${c.tfjs.toFixed(6)}`).join('; ')}`);
    if (!check.ok) {
      note(`the TF.js model's losses differ from ours by more than ${CHECK_TOLERANCE}: no TF.js training row`);
      tfModel.dispose();
      tfModel = null;
    } else {
      entries.push({ label: `TF.js ${tf.version_core} tfjs-backend-wasm 1 thread`, threads: 1, tf: true, run: () => tfModel.step(next()), samples: [], tokens: 0, steps: 0 });
    }
    // The other engines catch up to the same step, so every row trains on the same batches.
    for (const e of entries.slice(1)) if (!e.tf) for (let s = 0; s < CHECK_STEPS; s++) await e.run();
  }
  for (let r = 0; r < rounds; r++) {
    for (const e of entries.map((_, i) => entries[(i + r) % entries.length])) {
      const n = e.tf ? tfSteps : oursSteps;
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const res = await e.run();
        const ms = performance.now() - t0;
        e.samples.push(ms);
        e.steps += 1;
        e.tokens += res.tokens;
      }
    }
  }
  for (const e of entries) {
    const ms = median(e.samples);
    const tokensPerStep = e.tokens / e.steps;
    e.row = { label: e.label, threads: e.threads, steps: e.steps, ms, min: Math.min(...e.samples), max: Math.max(...e.samples),
      tokensPerStep, tokensPerSecond: tokensPerStep / (ms / 1000) };
    out.step.rows.push(e.row);
    log(`training step ${e.label}: ${ms.toFixed(1)} ms median (${e.steps} steps), ${Math.round(e.row.tokensPerSecond)} target tokens/s`);
  }
  const tfRow = out.step.rows.find((r, i) => entries[i].tf);
  for (const row of out.step.rows) if (tfRow && row !== tfRow) row.vsTfjs = tfRow.ms / row.ms;
  for (const e of entries) if (!e.tf) e.trainer.dispose();
  tfModel?.dispose();

  // ---- 2. translate latency: the classic sentence on the shipped weights, every attention array returned
  out.translate = { text: CLASSIC, warmup: 5, runs: 50, rows: [] };
  for (const { engine, label, threads } of engines) {
    const t = await engine.loadTranslator();
    let output = '';
    for (let i = 0; i < out.translate.warmup; i++) output = (await t.translate(CLASSIC)).output;
    const samples = [];
    for (let i = 0; i < out.translate.runs; i++) {
      const t0 = performance.now();
      await t.translate(CLASSIC);
      samples.push(performance.now() - t0);
    }
    const row = { label, threads, ms: median(samples), min: Math.min(...samples), max: Math.max(...samples), output };
    out.translate.rows.push(row);
    log(`translate latency ${label}: ${row.ms.toFixed(2)} ms median of ${samples.length} ("${output}")`);
    t.dispose();
  }

  // ---- 3. time to >= target held-out exact match
  if (!accuracy) return;
  for (const { engine, label, threads } of engines) {
    const trainer = await engine.createTrainer({ score, seed: 1 });
    const row = { label, threads, reached: false, step: null, trainSeconds: null, wallSeconds: null, subset: null, full: null, evals: [] };
    let trainMs = 0;
    const t0 = performance.now();
    for (let s = 1; s <= maxSteps; s++) {
      const a = performance.now();
      await trainer.step();
      trainMs += performance.now() - a;
      if (s % every === 0) {
        const ev = await trainer.evaluate({ limit: evalLimit });
        row.evals.push({ step: s, exact: ev.exact, trainSeconds: trainMs / 1000, wallSeconds: (performance.now() - t0) / 1000 });
        if (ev.exact >= target) {
          Object.assign(row, { reached: true, step: s, trainSeconds: trainMs / 1000, wallSeconds: (performance.now() - t0) / 1000, subset: ev });
          break;
        }
      }
    }
    if (row.reached) {  // the whole test set at that step (not timed)
      row.full = await trainer.evaluate();
      log(`time to ${target * 100}% held-out exact, ${label}: step ${row.step}, ${row.trainSeconds.toFixed(1)} s of steps, ` +
        `${row.wallSeconds.toFixed(1)} s with evaluations; all ${row.full.sentences} test sentences: ${(100 * row.full.exact).toFixed(1)}%`);
    } else {
      note(`${label}: held-out exact match stayed under ${target * 100}% for ${maxSteps} steps`);
    }
    out.accuracy.rows.push(row);
    trainer.dispose();
  }
}

const CLASSIC = "The animal didn't cross the street because it was too tired";

/** The report lines of results.training (report.js prints them). */
export function formatTraining(results, { fmt, fms, table }) {
  const t = results.training;
  if (!t) return [];
  const out = ['', `training step: the toy English -> German encoder-decoder (2+2 layers, dModel 32, 4 heads, FFN 64, ${t.score}), ` +
    `batch ${t.batchSize} sentences, AdamW; same weights and same batches on every row; tokens = target tokens incl. <eos>`];
  const c = t.step.check;
  if (c) {
    out.push(`check: loss of the first ${c.steps.length} steps, ours vs TF.js: max abs diff ` +
      `${Math.max(...c.steps.map((s) => s.absDiff)).toExponential(2)} (tolerance ${c.tolerance}) ${c.ok ? 'ok' : 'FAILED'}`);
  }
  if (t.step.rows.length) {
    out.push(table(['engine', 'ms/step', 'spread', 'steps', 'tokens/s', 'vs TF.js'],
      t.step.rows.map((r) => [r.label, fms(r.ms), `${fms(r.min)}-${fms(r.max)}`, r.steps, fmt(r.tokensPerSecond, 0),
        r.vsTfjs ? `${fmt(r.vsTfjs, 2)}x` : '-']),
      ['l', 'r', 'r', 'r', 'r', 'r']));
  }
  const tr = t.translate;
  if (tr?.rows.length) {
    out.push(`translate latency: "${tr.text}" on the shipped weights, all attention returned; median of ${tr.runs} calls after ${tr.warmup} warm-up calls`);
    out.push(table(['engine', 'ms', 'spread', 'output'], tr.rows.map((r) => [r.label, fms(r.ms), `${fms(r.min)}-${fms(r.max)}`, r.output]),
      ['l', 'r', 'r', 'l']));
  }
  const a = t.accuracy;
  if (a?.rows.length) {
    out.push(`time to ${a.target * 100}% held-out exact match (fresh trainer, seed 1; evaluated every ${a.every} steps on ${a.evalLimit} ` +
      'evenly spread test sentences; "all" = the whole test set at that step, untimed)');
    out.push(table(['engine', 'step', 's of steps', 's with evals', 'subset exact', 'all exact', 'pronoun (all)'],
      a.rows.map((r) => [r.label, r.reached ? r.step : `> ${r.evals.at(-1)?.step ?? '-'}`, r.reached ? fmt(r.trainSeconds, 1) : '-',
        r.reached ? fmt(r.wallSeconds, 1) : '-', r.subset ? `${fmt(100 * r.subset.exact, 1)}%` : '-',
        r.full ? `${fmt(100 * r.full.exact, 1)}% of ${r.full.sentences}` : '-', r.full ? `${fmt(100 * r.full.pronoun, 1)}%` : '-']),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
  }
  return out;
}
