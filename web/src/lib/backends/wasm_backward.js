// The WASM backend's backward calls (backends/wasm.js hands them a HeapScope): copy the validated inputs into
// the heap, run the binding (forward that saves, then backward; wasm/bindings/backward_bindings.cpp), copy
// the gradients out into fresh Float32Arrays. Size letters as in validate.js; codes from the op spec.
import { SCORES, SCORE_PARAM_NAMES, MASKS, KERNELS } from '../spec.js';

/** The bindings' field for score parameter `name` (d<field> for its gradient): the name, v -> 'va'. */
export const bindingField = (name) => (name === 'v' ? 'va' : name);

const codesOf = (a) => ({ score: SCORES[a.score].code, mask: MASKS[a.mask.kind].code, variant: KERNELS[a.kernel].code });

/**
 * The score parameters as binding fields, from the spec: each parameter's input (0 when absent) and a fresh
 * output for the gradient of each one the score function has, sized by its spec shape (sizes: { dk, da }).
 * Returns { fields, read(args) -> { dW, dWq, dWk, dv, ... } with null for the parameters the score lacks }.
 */
function scoreParamsOnHeap(heap, score, params, sizes, fn) {
  const shapes = SCORES[score].params;
  const counts = {};
  const fields = heap.scoreParams(params, fn);
  for (const name of SCORE_PARAM_NAMES) {
    counts[name] = shapes[name] ? shapes[name].reduce((n, letter) => n * sizes[letter], 1) : 0;
    fields[`d${bindingField(name)}`] = counts[name] ? heap.output(counts[name], fn) : 0;
  }
  const read = (args) => Object.fromEntries(SCORE_PARAM_NAMES.map((name) => [
    `d${name}`, counts[name] ? heap.read(args[`d${bindingField(name)}`], counts[name]) : null]));
  return { fields, read };
}

/**
 * a: normalizeAttentionBackward's object. Returns { dQuery, dKey, dValue, dW, dWq, dWk, dv }, null for the
 * score parameters the score function does not have.
 */
export function attentionBackwardOnHeap(module, heap, a) {
  const fn = 'attentionBackward';
  const qCount = a.heads * a.nq * a.dk, kCount = a.heads * a.nk * a.dk, vCount = a.heads * a.nk * a.dv;
  const scoreParams = scoreParamsOnHeap(heap, a.score, a, { dk: a.dk, da: a.da }, fn);
  const args = {
    q: heap.floats(a.query, fn), k: heap.floats(a.key, fn), v: heap.floats(a.value, fn),
    allowed: heap.bytes(a.mask.allowed, fn), dout: heap.floats(a.dOutput, fn),
    dq: heap.output(qCount, fn), dk: heap.output(kCount, fn), dvalue: heap.output(vCount, fn),
    ...scoreParams.fields,
    ...codesOf(a),
    heads: a.heads, nq: a.nq, nk: a.nk, dkDims: a.dk, dvDims: a.dv, da: a.da,
  };
  const status = module.attentionBackward(args);
  if (status === -2) {  // kOutOfMemory: the scratch, counted before starting, does not fit; nothing stays allocated
    const mib = (module.attentionBackwardScratchBytes(args) / 2 ** 20).toFixed(0);
    throw new RangeError(`${fn}: heads ${a.heads}, nq ${a.nq}, nk ${a.nk}, dk ${a.dk}, dv ${a.dv} need ${mib} MiB of ` +
      'scratch beyond the arguments, more than the WASM heap (at most 2048 MiB) can give');
  }
  if (status !== 0) throw new Error(`${fn}: the WASM engine returned status ${status}`);
  return {
    dQuery: heap.read(args.dq, qCount), dKey: heap.read(args.dk, kCount), dValue: heap.read(args.dvalue, vCount),
    ...scoreParams.read(args),
  };
}

/**
 * a: normalizeMultiHeadBackward's object. Returns { dx, dContext (null for self-attention: x's gradient as
 * query and as context are both in dx), dWq, dWk, dWv, dWo, dbq, dbk, dbv, dbo (null when the bias was not
 * given), scoreParams: { dW, dWq, dWk, dv } (null when unused) }.
 */
export function multiHeadAttentionBackwardOnHeap(module, heap, a) {
  const fn = 'multiHeadAttentionBackward';
  const m = a.dModel, mm = m * m, dh = a.dHead, p = a.scoreParams;
  const scoreParams = scoreParamsOnHeap(heap, a.score, p, { dk: dh, da: p.da }, fn);
  const x = heap.floats(a.x, fn);
  const args = {
    x, context: a.self ? x : heap.floats(a.context, fn),
    wq: heap.floats(a.Wq, fn), wk: heap.floats(a.Wk, fn), wv: heap.floats(a.Wv, fn), wo: heap.floats(a.Wo, fn),
    bq: heap.floats(a.bq, fn), bk: heap.floats(a.bk, fn), bv: heap.floats(a.bv, fn), bo: heap.floats(a.bo, fn),
    allowed: heap.bytes(a.mask.allowed, fn), dout: heap.floats(a.dOutput, fn),
    dx: heap.output(a.nq * m, fn), dcontext: a.self ? 0 : heap.output(a.nk * m, fn),
    dwq: heap.output(mm, fn), dwk: heap.output(mm, fn), dwv: heap.output(mm, fn), dwo: heap.output(mm, fn),
    dbq: a.bq ? heap.output(m, fn) : 0, dbk: a.bk ? heap.output(m, fn) : 0,
    dbv: a.bv ? heap.output(m, fn) : 0, dbo: a.bo ? heap.output(m, fn) : 0,
    ...scoreParams.fields,
    ...codesOf(a),
    nq: a.nq, nk: a.nk, dModel: m, heads: a.heads, da: p.da,
  };
  const status = module.multiHeadAttentionBackward(args);
  if (status === -2) {
    throw new RangeError(`${fn}: nq ${a.nq}, nk ${a.nk}, dModel ${m}, heads ${a.heads}: the attention's scratch could ` +
      'not be allocated in the WASM heap (at most 2048 MiB)');
  }
  if (status !== 0) throw new Error(`${fn}: the WASM engine returned status ${status}`);
  const read = (ptr, count) => (ptr ? heap.read(ptr, count) : null);
  return {
    dx: read(args.dx, a.nq * m), dContext: read(args.dcontext, a.nk * m),
    dWq: read(args.dwq, mm), dWk: read(args.dwk, mm), dWv: read(args.dwv, mm), dWo: read(args.dwo, mm),
    dbq: read(args.dbq, m), dbk: read(args.dbk, m), dbv: read(args.dbv, m), dbo: read(args.dbo, m),
    scoreParams: scoreParams.read(args),
  };
}
