// Turns the bench results (bench.js) into the printed tables and the SVG chart. Pure functions, no DOM:
// used by the page and by scripts/bench/run.mjs (Node).
import { formatBackward } from './backward.js';
import { formatTraining } from './train.js';

const fmt = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
const fms = (ms) => (ms === undefined ? '-' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const fexp = (x) => (x === null || x === undefined ? '-' : x === 0 ? '0' : Number.isNaN(x) ? 'NaN' : x.toExponential(1));
const pad = (s, w) => String(s).padEnd(w);
const padl = (s, w) => String(s).padStart(w);

function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (align[i] === 'l' ? pad(c, widths[i]) : padl(c, widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The shapes in run order, each with its rows by competitor id. */
export function shapes(results) {
  const map = new Map();
  for (const r of results.attention) {
    const key = `${r.returnWeights}|${r.heads}|${r.n}`;
    if (!map.has(key)) map.set(key, { n: r.n, heads: r.heads, d: r.d, returnWeights: r.returnWeights, rows: {} });
    map.get(key).rows[r.id] = r;
  }
  return [...map.values()];
}

/**
 * Per shape: ours (SIMD, one thread), the fastest onnxruntime path, TF.js, WebGPU, and the ratios peer ms /
 * ours ms; and the threaded rows: ours on N threads, its speed-up over ours on one thread (one-thread ms /
 * threaded ms) and over the fastest onnxruntime path on 2 threads (ort ms / ours threaded ms).
 */
export function summary(results) {
  const fastest = (s, ids) => {
    const rows = ids.map((id) => s.rows[id]).filter((r) => r?.ms);
    return rows.length ? rows.reduce((a, b) => (b.ms < a.ms ? b : a)) : null;
  };
  return shapes(results).map((s) => {
    const ours = s.rows['ours.optimized'];
    const ort = fastest(s, ['ort.graph', 'ort.mha']);
    const ort2 = fastest(s, ['ort2.graph', 'ort2.mha']);
    const threaded = s.rows['ours.threads']?.ms ? s.rows['ours.threads'] : null;
    const into = s.rows['ours.into']?.ms ? s.rows['ours.into'] : null;
    const heap = s.rows['ours.heap']?.ms ? s.rows['ours.heap'] : null;
    const threadsInto = s.rows['ours.threads.into']?.ms ? s.rows['ours.threads.into'] : null;
    // the one-thread kernel timed in the threaded rows' own phase (bench.js, two phases), else the phase-1 row
    const intoBeside = s.rows['ours.into.poolsAlive']?.ms ? s.rows['ours.into.poolsAlive'] : into;
    const tfjs = s.rows.tfjs?.ms ? s.rows.tfjs : null;
    const ratio = (peer) => (ours?.ms && peer?.ms ? peer.ms / ours.ms : null);
    return {
      n: s.n, heads: s.heads, d: s.d, returnWeights: s.returnWeights,
      ours: ours?.ms ? { ms: ours.ms, gflops: ours.gflops, pctPeak: ours.pctPeak, pctPeakBeside: ours.pctPeakBeside } : null,
      into: into ? { ms: into.ms, gflops: into.gflops, pctPeak: into.pctPeak, pctPeakBeside: into.pctPeakBeside } : null,
      heap: heap ? { ms: heap.ms, gflops: heap.gflops, pctPeak: heap.pctPeak, pctPeakBeside: heap.pctPeakBeside } : null,
      reference: s.rows['ours.reference']?.ms ? { ms: s.rows['ours.reference'].ms, gflops: s.rows['ours.reference'].gflops } : null,
      ort: ort ? { path: ort.id, ms: ort.ms, gflops: ort.gflops } : null,
      tfjs: tfjs ? { ms: tfjs.ms, gflops: tfjs.gflops } : null,
      webgpu: s.rows['ours.webgpu']?.ms ? { ms: s.rows['ours.webgpu'].ms, gflops: s.rows['ours.webgpu'].gflops } : null,
      ratioToOrt: ratio(ort),
      ratioToTfjs: ratio(tfjs),
      threads: threaded ? { label: threaded.label, ms: threaded.ms, gflops: threaded.gflops } : null,
      ort2: ort2 ? { path: ort2.id, ms: ort2.ms, gflops: ort2.gflops } : null,
      threadsSpeedup: threaded && ours?.ms ? ours.ms / threaded.ms : null,
      threadsInto: threadsInto ? { ms: threadsInto.ms, gflops: threadsInto.gflops } : null,
      threadsSpeedupInto: threadsInto && intoBeside ? intoBeside.ms / threadsInto.ms : null,
      intoBeside: intoBeside ? { ms: intoBeside.ms } : null,
      threadsRatioToOrt2: threaded && ort2 ? ort2.ms / threaded.ms : null,
    };
  });
}

export function formatReport(results) {
  const out = [];
  const m = results.machine;
  if (m) {
    out.push(`machine: ${m.cpu}${m.cpuFamily ? ` (family ${m.cpuFamily} model ${m.cpuModel}, ${m.cpuMHz} MHz)` : ''}, ${m.cores} cores (${m.threads} threads), ${m.memoryGiB} GiB, ${m.os}; ${m.browser}; ` +
      `node ${m.node}; ${m.date}`);
    if (m.loadAverage) out.push(`load average (1, 5, 15 min): ${m.loadAverage.before.join(' ')} before, ${m.loadAverage.after.join(' ')} after (the machine is shared)`);
  }
  out.push(`page: crossOriginIsolated ${results.page?.crossOriginIsolated}, hardwareConcurrency ${results.page?.hardwareConcurrency}`);
  if (results.engine) {
    const build = results.engine.relaxedSimd ? 'SIMD build with relaxed SIMD\'s multiply-add' : results.engine.simd ? 'SIMD build' : 'scalar build';
    out.push(`engine: WASM ${build}, kernel option '${results.engine.kernelOption}'`);
  }
  if (results.engine?.threaded) out.push(`threaded engine: ${results.engine.threaded.threads} threads${results.engine.threaded.relaxedSimd ? ', relaxed SIMD\'s multiply-add' : ''}${results.engine.threaded.fallback ? ` (${results.engine.threaded.fallback})` : ''}`);
  if (results.peers?.ort) out.push(`onnxruntime-web ${results.peers.ort.version}: wasm backend, numThreads ${results.peers.ort.numThreads}`);
  if (results.peers?.ortThreads) out.push(`onnxruntime-web ${results.peers.ortThreads.version} (second instance): wasm backend, numThreads ${results.peers.ortThreads.numThreads}`);
  if (results.peers?.tfjs) out.push(`tfjs ${results.peers.tfjs.version}: backend ${results.peers.tfjs.backend}, threaded binary ${results.peers.tfjs.threaded}`);
  if (results.webgpu?.adapter) out.push(`WebGPU adapter: ${JSON.stringify(results.webgpu.adapter)} (engine ${results.webgpu.available ? 'available' : 'not available'})`);
  const peak = results.peak;
  out.push('');
  out.push(`one-core WASM f32x4 mul+add peak: ${fmt(peak.gflops, 1)} GFLOP/s (the highest seen: ${fmt(peak.atStart, 1)} at the start, ` +
    `${peak.probes?.length ? `${peak.probes.map((x) => x.toFixed(1)).join(' ')} between shapes, ` : ''}${fmt(peak.atEnd, 1)} at the end; ` +
    `best: ${peak.best.chains} independent chains, unroll ${peak.best.unroll}; ` +
    `at the start by chains x unroll: ${peak.runs.map((r) => `${r.chains}x${r.unroll}: ${r.gflops.toFixed(1)}`).join(', ')})`);

  const rounds = results.settings?.rounds;
  out.push('');
  out.push(`scaled-dot attention, d = 64, one thread unless the row names threads. ms = median over interleaved rounds (${rounds}; at most 3 for calls slower than ` +
    `${results.settings?.slowMs} ms, fewer past ${(results.settings?.slowBudgetMs ?? 0) / 1000} s) [min-max]; samples x calls per sample; ` +
    `GFLOP/s = 4*H*N^2*d / t; %peak: of the highest peak measured; beside: the median over samples of each one's GFLOP/s over the peak ` +
    `probed (~10 ms) right before it, the same machine state (the VM's one-core speed changes within a run); max abs err vs our reference (output / weights); "ours x" = its ms / ours SIMD ms; ` +
    (results.settings?.separateThreads === false ? 'all rows interleaved in one phase, thread pools alive (--threads-together)'
      : 'the threaded and WebGPU rows timed in a second phase, after the one-thread rows, with no thread pool alive before it'));
  const rows = [];
  for (const s of shapes(results)) {
    const ours = s.rows['ours.optimized'];
    let first = true;
    for (const r of Object.values(s.rows)) {
      const isPeer = !r.id.startsWith('ours.');
      const err = r.maxAbsErr ? `${fexp(r.maxAbsErr.output)}${r.maxAbsErr.weights !== null && r.maxAbsErr.weights !== undefined ? ` / ${fexp(r.maxAbsErr.weights)}` : ''}` : '-';
      rows.push([
        first ? (s.returnWeights ? 'yes' : 'no') : '', first ? s.heads : '', first ? s.n : '', r.label,
        r.error ? `failed: ${r.error.slice(0, 40)}` : r.skipped ? 'skipped' : fms(r.ms), r.ms ? `${fms(r.min)}-${fms(r.max)}` : '',
        r.ms ? `${r.samples}${r.reps > 1 ? `x${r.reps}` : ''}` : '',
        r.ms ? fmt(r.gflops, 1) : '', r.ms && r.id !== 'ours.webgpu' ? `${fmt(r.pctPeak, 0)}%` : '',
        r.ms && r.id !== 'ours.webgpu' && r.pctPeakBeside ? `${fmt(r.pctPeakBeside, 0)}%` : '', err,
        isPeer && ours?.ms && r.ms ? `${fmt(r.ms / ours.ms, 2)}x` : '',
      ]);
      first = false;
    }
  }
  out.push(table(['weights', 'H', 'N', 'competitor', 'ms', 'spread', 'samples', 'GFLOP/s', '%peak', 'beside', 'max abs err (out / w)', 'ours x'],
    rows, ['l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));

  out.push('');
  out.push('summary: ours = the SIMD kernel through engine.attention (fresh result arrays, as the peers return); ' +
    'ort = its fastest path per shape; ratio = peer ms / ours ms; out-buf = ours writing into result buffers reused across calls; ' +
    'heap = ours on heap arrays (engine.heapArray: inputs and results in the WASM heap, no copies); ' +
    '%peak of the highest peak, and beside: of the peak probed before each sample (the table above)');
  const pct = (x) => (x ? `${fmt(x, 0)}%` : '-');
  out.push(table(['weights', 'H', 'N', 'ours ms', 'GFLOP/s', '%peak', 'beside', 'ort ms (path)', 'vs ort', 'tfjs ms', 'vs tfjs', 'out-buf ms', '%peak', 'beside', 'heap ms', 'beside', 'WebGPU ms'],
    summary(results).map((s) => [
      s.returnWeights ? 'yes' : 'no', s.heads, s.n, fms(s.ours?.ms), fmt(s.ours?.gflops, 1),
      pct(s.ours?.pctPeak), pct(s.ours?.pctPeakBeside), s.ort ? `${fms(s.ort.ms)} (${s.ort.path.slice(4)})` : '-',
      s.ratioToOrt ? `${fmt(s.ratioToOrt, 2)}x` : '-', fms(s.tfjs?.ms), s.ratioToTfjs ? `${fmt(s.ratioToTfjs, 2)}x` : '-',
      fms(s.into?.ms), pct(s.into?.pctPeak), pct(s.into?.pctPeakBeside), fms(s.heap?.ms), pct(s.heap?.pctPeakBeside),
      fms(s.webgpu?.ms),
    ]), ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));

  const sum = summary(results);
  if (sum.some((s) => s.threads || s.ort2)) {
    out.push('');
    out.push('threads: ours on N threads (the threaded build) against ours on one thread and onnxruntime-web on 2 threads ' +
      '(its fastest path); speed-up = one-thread ms / threaded ms; vs ort 2t = ort 2-thread ms / ours threaded ms; ' +
      'out-buf: the same two with result buffers reused across calls (one thread: the row timed in the threaded rows\' phase, "pools alive", when there is one)');
    out.push(table(['weights', 'H', 'N', 'ours 1t ms', 'ours threaded', 'ms', 'GFLOP/s', 'speed-up', 'ort 2t ms (path)', 'vs ort 2t',
      'out-buf 1t ms', 'threaded ms', 'speed-up'],
      sum.map((s) => [
        s.returnWeights ? 'yes' : 'no', s.heads, s.n, fms(s.ours?.ms), s.threads?.label.replace(/^ours SIMD /, '') ?? '-',
        fms(s.threads?.ms), fmt(s.threads?.gflops, 1), s.threadsSpeedup ? `${fmt(s.threadsSpeedup, 2)}x` : '-',
        s.ort2 ? `${fms(s.ort2.ms)} (${s.ort2.path.slice(5)})` : '-', s.threadsRatioToOrt2 ? `${fmt(s.threadsRatioToOrt2, 2)}x` : '-',
        fms(s.intoBeside?.ms), fms(s.threadsInto?.ms), s.threadsSpeedupInto ? `${fmt(s.threadsSpeedupInto, 2)}x` : '-',
      ]), ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  }

  out.push('');
  const mem = results.memory;
  if (mem) {
    const mib = (b) => (b === null || b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)} MiB`);
    out.push(`memory: scaled-dot attention N = ${mem.n}, d = ${mem.d}, H = 1, no weights: ${fms(mem.ms)} ms (${fmt(mem.gflops, 1)} GFLOP/s); ` +
      `WASM heap (HEAP8.length) ${mib(mem.heapBytesBefore)} before, ${mib(mem.heapBytesAfter)} after = peak; ` +
      `malloc'd ${mib(mem.bytesInUseBefore)} before, ${mib(mem.bytesInUseAfter)} after (inputs ${mib(mem.inputBytes)}, output ${mib(mem.outputBytes)})`);
  } else {
    out.push('memory: not measured (see notes)');
  }

  out.push(...formatBackward(results, { fmt, fms, table }));
  out.push(...formatTraining(results, { fmt, fms, table }));

  out.push('');
  if (results.model?.rows?.length) {
    out.push('model: Universal Sentence Encoder lite (2 layers), one sentence per call; ratio = TF.js ms / ours ms');
    const byTokens = new Map();
    for (const r of results.model.rows) byTokens.set(r.tokens, [...(byTokens.get(r.tokens) ?? []), r]);
    const mrows = [];
    for (const [tokens, rs] of byTokens) {
      const tf = rs.find((r) => r.id === 'tfjs.model');
      for (const r of rs) {
        const check = results.model.checks.find((c) => c.id === r.id && c.tokens === tokens);
        mrows.push([tokens + (r.synthetic ? ' (synthetic ids)' : ''), r.label, fms(r.ms), `${fms(r.min)}-${fms(r.max)}`,
          check ? fmt(check.cosineToTfjs, 7) : '', r.id !== 'tfjs.model' && tf ? `${fmt(tf.ms / r.ms, 2)}x` : '']);
      }
    }
    out.push(table(['tokens', 'competitor', 'ms', 'spread', 'cosine to TF.js', 'vs TF.js'], mrows, ['l', 'l', 'r', 'r', 'r', 'r']));
  } else {
    out.push('model: no rows (see notes)');
  }
  if (results.notes?.length) {
    out.push('');
    out.push('notes:');
    for (const n of results.notes) out.push(`- ${n}`);
  }
  if (results.seconds) out.push(`\nbench time in the page: ${results.seconds.toFixed(0)} s`);
  return out.join('\n');
}

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A grouped bar chart of GFLOP/s per shape and competitor, with the measured peak as a dashed line. */
export function chartSvg(results) {
  const series = [
    { key: 'ours', label: 'ours SIMD', color: '#1f77b4' },
    { key: 'into', label: 'ours SIMD, out buffers', color: '#6baed6' },
    { key: 'threads', label: 'ours SIMD threaded', color: '#9467bd' },
    { key: 'webgpu', label: 'ours WebGPU', color: '#17becf' },
    { key: 'reference', label: 'ours reference', color: '#aec7e8' },
    { key: 'ort', label: 'onnxruntime-web (fastest path)', color: '#ff7f0e' },
    { key: 'tfjs', label: 'tfjs-backend-wasm', color: '#2ca02c' },
    { key: 'ort2', label: 'onnxruntime-web 2 threads', color: '#d4a017' },
  ];
  const sum = summary(results);
  const used = series.filter((s) => sum.some((x) => x[s.key]?.gflops));
  const peak = results.peak?.gflops ?? 0;
  const maxY = Math.max(peak, ...sum.flatMap((x) => used.map((s) => x[s.key]?.gflops ?? 0))) * 1.1 || 1;
  const W = 960, H = 420, left = 56, right = 16, top = 56, bottom = 70;
  const plotW = W - left - right, plotH = H - top - bottom;
  const groupW = plotW / Math.max(1, sum.length);
  const barW = (groupW * 0.8) / Math.max(1, used.length);
  const y = (v) => top + plotH - (v / maxY) * plotH;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const m = results.machine;
  parts.push(`<text x="${left}" y="18" font-size="14" font-weight="bold">Scaled-dot attention, d = 64, one thread unless marked: GFLOP/s (4·H·N²·d / t), higher is better</text>`);
  parts.push(`<text x="${left}" y="34" fill="#555">${esc(m ? `${m.cpu}, ${m.cores} cores, ${m.browser}, ${m.date.slice(0, 16).replace('T', ' ')} UTC` +
    (m.loadAverage ? `, load average ${m.loadAverage.before[0]} (shared machine)` : '') : '')}</text>`);
  const step = maxY > 40 ? 10 : maxY > 10 ? 5 : 1;
  for (let v = 0; v <= maxY; v += step) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${v}</text>`);
  }
  sum.forEach((s, i) => {
    const x0 = left + i * groupW + groupW * 0.1;
    used.forEach((ser, j) => {
      const v = s[ser.key]?.gflops;
      if (!v) return;
      parts.push(`<rect x="${(x0 + j * barW).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(top + plotH - y(v)).toFixed(1)}" fill="${ser.color}"><title>${esc(`${ser.label}: ${v.toFixed(1)} GFLOP/s`)}</title></rect>`);
    });
    const cx = left + i * groupW + groupW / 2;
    parts.push(`<text x="${cx}" y="${top + plotH + 14}" text-anchor="middle">N=${s.n}</text>`);
    parts.push(`<text x="${cx}" y="${top + plotH + 27}" text-anchor="middle" fill="#555">H=${s.heads}${s.returnWeights ? ', w' : ''}</text>`);
  });
  if (peak) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(peak)}" y2="${y(peak)}" stroke="#d62728" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${W - right}" y="${y(peak) - 4}" text-anchor="end" fill="#d62728">measured one-core f32x4 mul+add peak ${peak.toFixed(1)} GFLOP/s</text>`);
  }
  parts.push(`<text x="${left}" y="${H - 24}" fill="#555">", w": weights [H][N][N] returned too</text>`);
  let lx = left;
  used.forEach((ser) => {
    parts.push(`<rect x="${lx}" y="${H - 14}" width="10" height="10" fill="${ser.color}"/>`);
    parts.push(`<text x="${lx + 14}" y="${H - 5}">${esc(ser.label)}</text>`);
    lx += 24 + ser.label.length * 6.2;
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
