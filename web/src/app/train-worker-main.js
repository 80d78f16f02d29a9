// The explorer's training worker (train-worker.js, its entry, loads this and passes it every message): trains
// the English -> German encoder-decoder with the engine's trainer (engine.createTrainer: one whole step,
// forward + backward + AdamW, per call in WASM), so the page only draws.
// Steps run in chunks of about CHUNK_MS; between chunks the worker reads its messages, so Pause takes effect
// within one chunk and the page never waits on a step.
//
// Messages in:
//   { type: 'start', score, seed, sentence, evalEvery, evalLimit, maxSteps }  a new trainer (the previous one
//        is dropped); every evalEvery steps, held-out accuracy on the first evalLimit test sentences, and at
//        the end on all of them
//   { type: 'pause' } | { type: 'resume' } | { type: 'reset' }     reset: drop the trainer, back to step 0
//   { type: 'sentence', text }      the sentence whose cross-attention is sent at every evaluation
//   { type: 'export', id }          -> { type: 'weights', id, bytes, trainedIn }
//   { type: 'compare', seed, steps, evalEvery, evalLimit }  the four score functions, same seed and data,
//        round-robin
// Messages out:
//   { type: 'state', state: 'idle' | 'running' | 'paused' | 'done', step, score }
//   { type: 'progress', score, step, loss, lr, stepsPerSecond }       one per chunk (the chunk's last loss)
//   { type: 'eval', score, step, exact, pronoun, classic, sentences, pronounSentences }  trainer.evaluate()
//   { type: 'attention', step, text, output, sourceTokens, rows, layer, cross }  the chosen sentence's last
//        cross layer, mean over heads [m][n]
//   { type: 'compare-progress', score, step, loss } / { type: 'compare-eval', score, step, exact, pronoun }
//   { type: 'error', message }
import { createEngine } from '../lib/index.js';
import { SCORE_NAMES, DEFAULT_SCORE } from '../lib/spec.js';

const CHUNK_MS = 40;

let enginePromise = null;
function engine() {
  enginePromise ??= createEngine({ backend: 'wasm', threads: 1 });
  return enginePromise;
}

/** The run under way: { trainer, score, seed, evalEvery, maxSteps, sentence, state, step }, or null. */
let run = null;
let compare = null;
let generation = 0;  // bumps on every start/reset/compare: a loop of an older generation stops

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

function state(r) {
  post({ type: 'state', state: r?.state ?? 'idle', step: r?.step ?? 0, score: r?.score ?? null });
}

const yieldToMessages = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Steps for about CHUNK_MS (at least one), not past `limit`; the last step's result. */
async function chunk(r, limit) {
  const t0 = performance.now();
  let last = null;
  let n = 0;
  do {
    last = await r.trainer.step();
    r.step = last.step;
    n += 1;
  } while (performance.now() - t0 < CHUNK_MS && r.step < limit && (r.step % r.evalEvery) !== 0);
  const seconds = (performance.now() - t0) / 1000;
  return { ...last, steps: n, stepsPerSecond: seconds > 0 ? n / seconds : null };
}

/** The chosen sentence through the model as it is now (trainer.translate): its last cross layer, mean over heads. */
async function attentionOf(r) {
  const text = r.sentence?.trim();
  if (!text) return;
  try {
    const t = await r.trainer.translate(text);
    const cross = t.attention.cross[t.attention.cross.length - 1];
    const H = r.trainer.info.heads;
    const n = t.sourceTokens.length;
    const m = cross.length / (H * n);
    const mean = new Float32Array(m * n);
    for (let hd = 0; hd < H; hd++) for (let i = 0; i < m * n; i++) mean[i] += cross[hd * m * n + i] / H;
    post({
      type: 'attention', step: r.step, text, output: t.output, sourceTokens: Array.from(t.sourceTokens),
      rows: Array.from(t.targetTokens), layer: t.attention.cross.length - 1, cross: mean,
    }, [mean.buffer]);
  } catch (error) {
    // An unknown word is the reader's sentence, not the training's: say so and keep training.
    post({ type: 'attention', step: r.step, text, error: error.message });
  }
}

async function evaluate(r, all = false) {
  const ev = await r.trainer.evaluate(all ? {} : { limit: r.evalLimit });
  post({ type: 'eval', score: r.score, step: r.step, ...ev });
  await attentionOf(r);
}

async function loop(r, g) {
  while (g === generation && r.state === 'running') {
    const c = await chunk(r, r.maxSteps);
    post({ type: 'progress', score: r.score, step: r.step, loss: c.loss, lr: c.lr, stepsPerSecond: c.stepsPerSecond });
    if (r.step % r.evalEvery === 0 || r.step >= r.maxSteps) await evaluate(r, r.step >= r.maxSteps);
    if (r.step >= r.maxSteps) {
      r.state = 'done';
      state(r);
      return;
    }
    await yieldToMessages();
  }
}

function drop() {
  generation += 1;
  run?.trainer.dispose?.();
  run = null;
  for (const c of compare ?? []) c.trainer.dispose?.();
  compare = null;
}

async function start(message) {
  drop();
  const g = generation;
  const e = await engine();
  const score = SCORE_NAMES.includes(message.score) ? message.score : DEFAULT_SCORE;
  const seed = Number.isInteger(message.seed) ? message.seed : 1;
  const trainer = await e.createTrainer({ score, seed });
  if (g !== generation) {
    trainer.dispose?.();
    return;
  }
  run = {
    trainer, score, seed, step: 0, state: 'running', sentence: message.sentence ?? '',
    evalEvery: Math.max(1, message.evalEvery | 0 || 50), evalLimit: Math.max(1, message.evalLimit | 0 || 200),
    maxSteps: Math.max(1, message.maxSteps | 0 || 600),
  };
  state(run);
  await evaluate(run);  // step 0: the untrained model's accuracy and attention, the curve's first point
  await loop(run, g);
}

/** The four score functions with the same seed and data, a chunk each in turn, so their curves grow together. */
async function startCompare(message) {
  drop();
  const g = generation;
  const e = await engine();
  const seed = Number.isInteger(message.seed) ? message.seed : 1;
  const steps = Math.max(1, message.steps | 0 || 1000);
  const evalEvery = Math.max(1, message.evalEvery | 0 || 100);
  const evalLimit = Math.max(1, message.evalLimit | 0 || 200);
  const runs = [];
  for (const score of SCORE_NAMES) runs.push({ trainer: await e.createTrainer({ score, seed }), score, step: 0, evalEvery });
  const t0 = performance.now();
  if (g !== generation) {
    for (const c of runs) c.trainer.dispose?.();
    return;
  }
  compare = runs;
  post({ type: 'state', state: 'comparing', step: 0, score: null });
  while (g === generation && runs.some((c) => c.step < steps)) {
    for (const c of runs) {
      if (c.step >= steps || g !== generation) continue;
      const r = await chunk(c, steps);
      post({ type: 'compare-progress', score: c.score, step: c.step, loss: r.loss });
      if (c.step % evalEvery === 0 || c.step >= steps) {
        const ev = await c.trainer.evaluate(c.step >= steps ? {} : { limit: evalLimit });
        post({ type: 'compare-eval', score: c.score, step: c.step, ...ev });
      }
      await yieldToMessages();
    }
  }
  if (g === generation) post({ type: 'state', state: 'compared', step: steps, score: null, seconds: (performance.now() - t0) / 1000 });
}

async function handle(message) {
  switch (message?.type) {
    case 'start': return start(message);
    case 'compare': return startCompare(message);
    case 'pause':
      if (run?.state === 'running') run.state = 'paused';
      return state(run);
    case 'resume':
      if (run?.state === 'paused') {
        run.state = 'running';
        state(run);
        return loop(run, generation);
      }
      return state(run);
    case 'reset':
      drop();
      return state(null);
    case 'sentence':
      if (run) run.sentence = String(message.text ?? '');
      if (run && run.state !== 'running') await attentionOf(run);
      return undefined;
    case 'export': {
      if (!run) throw new Error('there is no trained model to export: press Train first');
      const bytes = run.trainer.exportWeights();
      const copy = new Uint8Array(bytes);
      return post({ type: 'weights', id: message.id, bytes: copy, trainedIn: { score: run.score, seed: run.seed, steps: run.step } }, [copy.buffer]);
    }
    default:
      throw new TypeError(`train worker: unknown message type '${message?.type}'`);
  }
}

/** One message from the page (train-worker.js passes each on, in order). */
export function onMessage(event) {
  // Not queued: Pause, Reset and a new sentence act between two chunks of the loop under way.
  handle(event.data).catch((error) => post({ type: 'error', id: event.data?.id, message: error?.message ?? String(error) }));
}
