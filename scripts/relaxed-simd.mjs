// node scripts/relaxed-simd.mjs <file.wasm>: run after the link of a -mrelaxed-simd build (CMake does).
// clang 14 (Debian's Emscripten 3.1.6) knows relaxed SIMD only as its prototype: the one relaxed instruction the
// kernels use, __builtin_wasm_fma_f32x4 (simd_madd.h vmadd), comes out as the prototype's f32x4.fma,
// 0xfd 0xaf 0x01, which browsers refuse. The standard's f32x4.relaxed_madd (0xfd 0x85 0x02, a * b + c) has
// the same length, so this rewrites the bytes in place. It rewrites only when the instructions are exactly the
// byte patterns: llvm-objdump-14 disassembles the module, every f32x4.fma it lists is one occurrence of the
// pattern, and the file holds no other occurrence (nor any other relaxed instruction); else it fails and the
// build with it.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const file = process.argv[2];
if (!file) {
  console.error('usage: node scripts/relaxed-simd.mjs <file.wasm>');
  process.exit(2);
}
const PROTOTYPE_FMA = [0xfd, 0xaf, 0x01];
const RELAXED_MADD = [0xfd, 0x85, 0x02];

const bytes = readFileSync(file);
const found = [];
for (let i = bytes.indexOf(PROTOTYPE_FMA[0]); i >= 0; i = bytes.indexOf(PROTOTYPE_FMA[0], i + 1)) {
  if (bytes[i + 1] === PROTOTYPE_FMA[1] && bytes[i + 2] === PROTOTYPE_FMA[2]) found.push(i);
}
const objdump = spawnSync(process.env.LLVM_OBJDUMP || 'llvm-objdump-14', ['-d', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
if (objdump.status !== 0) {
  console.error(`relaxed-simd: llvm-objdump-14 failed: ${objdump.error?.message ?? objdump.stderr}`);
  process.exit(1);
}
const mnemonics = objdump.stdout.split('\n').map((line) => /^\s*[0-9a-f]+:(?:\s[0-9a-f]{2})+\s+(\S+)/.exec(line)?.[1]).filter(Boolean);
const fmas = mnemonics.filter((m) => m === 'f32x4.fma').length;
const others = [...new Set(mnemonics.filter((m) => m !== 'f32x4.fma' && /fma|fms|laneselect|relaxed/.test(m)))];
if (others.length) {
  console.error(`relaxed-simd: ${file} holds relaxed instructions this script does not rewrite: ${others.join(', ')}`);
  process.exit(1);
}
if (fmas === 0 || fmas !== found.length) {
  console.error(`relaxed-simd: ${file}: ${fmas} f32x4.fma instructions but ${found.length} occurrences of their bytes; not rewritten`);
  process.exit(1);
}
const original = Buffer.from(bytes);
for (const i of found) bytes.set(RELAXED_MADD, i);
writeFileSync(file, bytes);
// Node 20 validates relaxed SIMD only behind its flag.
const check = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e',
  "process.exit(WebAssembly.validate(require('fs').readFileSync(process.argv[1])) ? 0 : 1)", file]);
if (check.status !== 0) {
  writeFileSync(file, original);
  console.error(`relaxed-simd: ${file} does not validate after the rewrite; left as it was`);
  process.exit(1);
}
console.log(`relaxed-simd: ${file}: ${found.length} f32x4.fma -> f32x4.relaxed_madd`);
