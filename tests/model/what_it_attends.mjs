#!/usr/bin/env node
// Prints, for one query piece of a sentence, what every layer and head attends to most, computed by the
// WASM engine on the float32 model file, with the TF.js oracle's weight beside each (the same numbers to
// ~1e-6). Usage: node tests/model/what_it_attends.mjs ["sentence"] [query piece, default ▁it]
import { createEngine } from '../../web/src/lib/index.js';
import { loadOracle } from './oracle.mjs';

const text = process.argv[2] ?? "The animal didn't cross the street because it was too tired";
const queryPiece = process.argv[3] ?? '\u2581it';
const engine = await createEngine({ backend: 'wasm' });
const model = await engine.loadModel(new URL('../../web/public/models/use-lite.f32.safetensors', import.meta.url));
const oracle = await loadOracle();
const r = await model.run(text);
const want = await oracle.run(Array.from(r.ids));
const q = r.pieces.indexOf(queryPiece);
if (q < 0) throw new Error(`no piece ${queryPiece} in ${r.pieces.join(' ')}`);
console.log(`pieces: ${r.pieces.map((p, i) => `${i}:${p}`).join(' ')}`);
console.log(`query ${q} '${queryPiece}': top keys per layer/head (engine weight / TF.js weight)`);
for (let l = 0; l < model.info.layers; l++) {
  const heads = model.info.heads[l];
  for (let h = 0; h < heads; h++) {
    const n = r.n;
    const row = r.attention[l].subarray((h * n + q) * n, (h * n + q + 1) * n);
    const ref = want.attention[l].subarray((h * n + q) * n, (h * n + q + 1) * n);
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 3);
    console.log(`layer ${l} head ${h}: ${order.map((k) => `${r.pieces[k]} ${row[k].toFixed(3)}/${ref[k].toFixed(3)}`).join(', ')}`);
  }
}
model.dispose();
