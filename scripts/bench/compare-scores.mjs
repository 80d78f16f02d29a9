#!/usr/bin/env node
// The explorer's "Compare the four" in headless Chromium: the four score functions trained with the same seed
// and data (the training worker, one thread, WASM SIMD), round-robin, for --steps each (default 300), evaluated
// every --every steps (default 100) on 200 held-out sentences and at the end on all of them. Prints a table
// and writes bench/translate-compare.json. Figures only: nothing asserts.
//   node scripts/bench/compare-scores.mjs [--steps N] [--every N] [--seed N]
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const steps = arg('steps', 300);
const every = arg('every', 100);
const seed = arg('seed', 1);
const port = 5177;

const server = spawn('npx', ['vite', '--config', 'vite.config.js', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
  cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ATTN_TEST_SERVER: '1' },
});
await new Promise((ok) => server.stdout.on('data', (d) => { if (String(d).includes('127.0.0.1')) ok(); }));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/?mode=seeded`);
  await page.locator('#train-compare-steps').fill(String(steps));
  await page.locator('#train-eval-every').fill(String(every));
  await page.locator('#train-seed').fill(String(seed));
  const t0 = Date.now();
  await page.locator('#train-compare-start').click();
  await page.waitForFunction(() => globalThis.__train?.state === 'compared', null, { timeout: 0, polling: 1000 });
  const wall = (Date.now() - t0) / 1000;
  const compare = await page.evaluate(() => globalThis.__train.compare);
  const seconds = await page.evaluate(() => globalThis.__train.compareSeconds);
  const rows = Object.entries(compare).map(([score, c]) => {
    const at = (s) => c.evals.find((e) => e.step === s);
    const firstFull = c.evals.find((e) => e.exact >= 0.95);
    return {
      score, finalLoss: c.loss[c.loss.length - 1][1], evals: c.evals, firstStepAt95: firstFull?.step ?? null,
      final: at(steps) ?? null,
    };
  });
  console.log(`\nFour score functions, seed ${seed}, ${steps} steps each, batch 32 (headless Chromium, WASM SIMD, one thread;` +
    ` ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}); ${seconds.toFixed(0)} s in the worker, ${wall.toFixed(0)} s wall\n`);
  console.log('| score | ' + rows[0].evals.map((e) => `exact @${e.step}`).join(' | ') + ' | pronoun @' + steps + ' | loss @' + steps + ' |');
  console.log('|---|' + rows[0].evals.map(() => '---|').join('') + '---|---|');
  for (const r of rows) {
    console.log(`| ${r.score} | ${r.evals.map((e) => `${(100 * e.exact).toFixed(1)}%`).join(' | ')} | ` +
      `${r.final ? (100 * r.final.pronoun).toFixed(1) + '%' : '-'} | ${r.finalLoss.toFixed(4)} |`);
  }
  writeFileSync(resolve(root, 'bench/translate-compare.json'), JSON.stringify({
    date: new Date().toISOString(), seed, steps, every, seconds, wall, load: os.loadavg(), rows,
    loss: Object.fromEntries(Object.entries(compare).map(([k, c]) => [k, c.loss])),
  }, null, 1));
} finally {
  await browser.close();
  server.kill();
}
