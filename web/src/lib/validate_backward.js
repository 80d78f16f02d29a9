// Validation of the backward calls: the same arguments as the forward call (validate.js, with the caller's
// name in every message) plus dOutput, the gradient of the loss with respect to the forward's output.
// Size letters: H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive dims, M model dims.
import {
  ATTENTION_KEYS, MHA_KEYS, checkFloats, checkHeap, normalizeAttention, normalizeMultiHead,
} from './validate.js';

// The forward's result options (out, weightsOut, returnWeights, returnScores) mean nothing for a backward call.
const FORWARD_ONLY = new Set(['returnWeights', 'returnScores', 'out', 'weightsOut']);
const keysOf = (forwardKeys) => new Set([...forwardKeys].filter((k) => !FORWARD_ONLY.has(k)).concat('dOutput'));
const ATTENTION_BACKWARD_KEYS = keysOf(ATTENTION_KEYS);
const MHA_BACKWARD_KEYS = keysOf(MHA_KEYS);

/**
 * Validates attentionBackward() options: attention's, and dOutput [heads][nq][dv]. heap: the engine's finder
 * for large inputs and owner of its heap arrays, as for normalizeAttention.
 */
export function normalizeAttentionBackward(options, heap = null) {
  const fn = 'attentionBackward';
  const a = normalizeAttention(options, { fn, keys: ATTENTION_BACKWARD_KEYS, heap });
  const { heads, nq, nk, dk, dv } = a;
  // Inputs, dOutput, the gradients of q, k, v and the forward's saved output, row max and sum.
  const floats = heads * (2 * nq * dk + 2 * nk * dk + 2 * nk * dv + 2 * nq * dv + 2 * nq);
  checkHeap(4 * floats + nq * nk, `heads=${heads}, nq=${nq}, nk=${nk}, dk=${dk}, dv=${dv}`, fn);
  const dOutput = checkFloats(options.dOutput, 'dOutput', heads * nq * dv, 'heads*nq*dv', fn, heap);
  return { ...a, dOutput };
}

/** Validates multiHeadAttentionBackward() options: multiHeadAttention's, and dOutput [nq][dModel] (heap: as above). */
export function normalizeMultiHeadBackward(options, heap = null) {
  const fn = 'multiHeadAttentionBackward';
  const a = normalizeMultiHead(options, { fn, keys: MHA_BACKWARD_KEYS, heap });
  const { nq, nk, dModel, heads } = a;
  // Twice the forward's buffers (gradients of the same shapes) and its saved Q, K, V, O.
  const floats = 2 * (4 * dModel * dModel + 4 * dModel + 2 * (nq + nk) * dModel) + 2 * (nq + nk) * dModel +
    2 * heads * nq;
  checkHeap(4 * floats + nq * nk, `nq=${nq}, nk=${nk}, dModel=${dModel}, heads=${heads}`, fn);
  const dOutput = checkFloats(options.dOutput, 'dOutput', nq * dModel, 'nq*dModel', fn, heap);
  return { ...a, dOutput };
}
