// The encoder-decoder of wasm/include/attn/seq2seq.h written again in TF.js ops, sentence by sentence (an
// independent oracle of the gradients; the bench's TF.js peer is the padded, batched web/bench/train.js): the
// same pre-norm layers, GELU (tanh form), the four score functions, the causal mask, and the mean token
// cross-entropy over a packed batch. Weights come from the engine by name (trainer.parameters()), so both sides
// start from the same numbers.
// Size letters: n source tokens, m decoder positions of one sentence, M model dims, H heads, Dh = M/H, A additive.

/** PE [rows][M] as positional_encoding_f32: sin at even columns, cos at odd, angle p / 10000^(2i/M). */
function positions(tf, rows, M) {
  const pe = new Float32Array(rows * M);
  for (let p = 0; p < rows; p++) {
    for (let j = 0; j < M; j++) {
      const angle = p / 10000 ** ((j - (j % 2)) / M);
      pe[p * M + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(pe, [rows, M]);
}

/**
 * The loss function of one packed batch: () => scalar mean cross-entropy, reading the weights from `w`
 * ({ name: tf.Variable | tf.Tensor }). info: the model's { dModel, heads, encoderLayers, decoderLayers, score,
 * bos, eos }; batch: { src, srcLengths, tgt, tgtLengths } as the engine takes it.
 */
export function seq2seqLoss(tf, info, w, batch) {
  const M = info.dModel, H = info.heads, dh = M / H;
  const pe = positions(tf, 64, M);
  const scale = Math.sqrt(M);
  const gelu = (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
  const norm = (x, p) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), w[`${p}.scale`]), w[`${p}.bias`]);
  };
  const dense = (x, p) => tf.add(tf.matMul(x, w[`${p}.W`]), w[`${p}.b`]);
  const mha = (x, ctx, p, causal) => {
    const q = dense(x, `${p}.q`), k = dense(ctx, `${p}.k`), v = dense(ctx, `${p}.v`);
    const nq = x.shape[0], nk = ctx.shape[0];
    const heads = [];
    for (let h = 0; h < H; h++) {
      const qh = tf.slice(q, [0, h * dh], [nq, dh]), kh = tf.slice(k, [0, h * dh], [nk, dh]);
      const vh = tf.slice(v, [0, h * dh], [nk, dh]);
      let s;
      if (info.score === 'dot') s = tf.matMul(qh, kh, false, true);
      else if (info.score === 'scaled_dot') s = tf.div(tf.matMul(qh, kh, false, true), Math.sqrt(dh));
      else if (info.score === 'general') s = tf.matMul(tf.matMul(qh, w[`${p}.score.W`]), kh, false, true);
      else {  // additive: s_ij = v . tanh(Wq q_i + Wk k_j)
        const a = tf.matMul(qh, w[`${p}.score.Wq`], false, true), b = tf.matMul(kh, w[`${p}.score.Wk`], false, true);
        const t = tf.tanh(tf.add(tf.expandDims(a, 1), tf.expandDims(b, 0)));  // [nq][nk][A]
        s = tf.sum(tf.mul(t, w[`${p}.score.v`]), -1);
      }
      if (causal) {
        const allowed = tf.tensor2d(Array.from({ length: nq * nk }, (_, e) => (e % nk <= Math.floor(e / nk) + (nk - nq) ? 1 : 0)), [nq, nk], 'bool');
        s = tf.where(allowed, s, tf.fill([nq, nk], -Infinity));
      }
      heads.push(tf.matMul(tf.softmax(s), vh));
    }
    return dense(tf.concat(heads, 1), `${p}.o`);
  };
  // The lookup as one-hot rows times the table (tfjs-backend-wasm has no kernel for gather's gradient).
  const embed = (ids, table) => tf.matMul(tf.oneHot(ids, table.shape[0]), table);
  const ffn = (x, p) => dense(gelu(dense(x, `${p}.ffn1`)), `${p}.ffn2`);
  return () => {
    let total = tf.scalar(0);
    let rows = 0, s0 = 0, t0 = 0;
    for (let b = 0; b < batch.srcLengths.length; b++) {
      const n = batch.srcLengths[b], k = batch.tgtLengths[b];
      const srcIds = tf.tensor1d(Array.from(batch.src.slice(s0, s0 + n)), 'int32');
      const tgt = Array.from(batch.tgt.slice(t0, t0 + k));
      s0 += n;
      t0 += k;
      let x = tf.add(tf.mul(embed(srcIds, w.src_embed), scale), tf.slice(pe, [0, 0], [n, M]));
      for (let l = 0; l < info.encoderLayers; l++) {
        const h = norm(x, `enc.${l}.ln1`);
        x = tf.add(x, mha(h, h, `enc.${l}.self`, false));
        x = tf.add(x, ffn(norm(x, `enc.${l}.ln2`), `enc.${l}`));
      }
      const enc = norm(x, 'enc.ln');
      const m = k + 1;
      const decIds = tf.tensor1d([info.bos, ...tgt], 'int32');
      let y = tf.add(tf.mul(embed(decIds, w.tgt_embed), scale), tf.slice(pe, [0, 0], [m, M]));
      for (let l = 0; l < info.decoderLayers; l++) {
        const h = norm(y, `dec.${l}.ln1`);
        y = tf.add(y, mha(h, h, `dec.${l}.self`, true));
        y = tf.add(y, mha(norm(y, `dec.${l}.ln2`), enc, `dec.${l}.cross`, false));
        y = tf.add(y, ffn(norm(y, `dec.${l}.ln3`), `dec.${l}`));
      }
      const logits = dense(norm(y, 'dec.ln'), 'out');
      const targets = tf.oneHot(tf.tensor1d([...tgt, info.eos], 'int32'), logits.shape[1]);
      total = tf.add(total, tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)))));
      rows += m;
    }
    return tf.div(total, rows);
  };
}
