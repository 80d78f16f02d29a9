// Seeded stand-ins for a trained model: per-token embeddings and fixed projection matrices. Used where
// the real model is not loaded, and by the what-if, causal and encoder-decoder modes, which ask "what if
// the weights were these?". Everything is deterministic: the same text gives the same numbers.

import { SCORES } from '../lib/spec.js';
import { mulberry32 } from '../lib/random.js';

/** Size of the seeded model: D model dims, H heads, dHead = D / H, L layers, at most maxTokens tokens. */
export const SEEDED = Object.freeze({ dModel: 64, heads: 4, layers: 2, da: 16, maxTokens: 128 });

/** FNV-1a hash of a string to a uint32 seed. */
export function hashString(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Float32Array of `count` normal values (Box-Muller) times `scale`, from `seed`. */
export function seededNormal(seed, count, scale = 1) {
  const uniform = mulberry32(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u1 = Math.max(uniform(), 1e-12);
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1)) * scale;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/**
 * Splits text into word and punctuation tokens, the stand-in tokenizer when no model is loaded.
 * Word-initial tokens carry SentencePiece's '▁' so that merging pieces into words works the same way.
 */
export function simpleTokenize(text, maxTokens = 128) {
  const matches = String(text).normalize('NFKC').match(/[\p{L}\p{N}_'’]+|[^\s\p{L}\p{N}_]/gu) ?? [];
  const pieces = matches.map((m) => `▁${m}`);
  return { pieces: pieces.slice(0, maxTokens), truncated: pieces.length > maxTokens };
}

/** Embeddings [n][d] for pieces: one seeded vector per distinct lower-cased piece. */
export function seededEmbeddings(pieces, d) {
  const out = new Float32Array(pieces.length * d);
  pieces.forEach((piece, p) => {
    out.set(seededNormal(hashString(`emb:${piece.toLowerCase()}`), d), p * d);
  });
  return out;
}

/** A fixed seeded matrix [rows][cols] named by `name`, scaled by 1/sqrt(rows). */
export function seededMatrix(name, rows, cols) {
  return seededNormal(hashString(`w:${name}:${rows}x${cols}`), rows * cols, 1 / Math.sqrt(rows));
}

/** Seeded parameters of a score function, each of the shape the op spec gives it (size letters dk, da). */
export function seededScoreParams(score, prefix, dk, da = SEEDED.da) {
  const size = { dk, da };
  return Object.fromEntries(Object.entries(SCORES[score]?.params ?? {}).map(([name, [rows, cols]]) => [
    name, seededMatrix(`${prefix}.${name}`, size[rows], cols ? size[cols] : 1),
  ]));
}
