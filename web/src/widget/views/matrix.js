// One matrix drawn as SVG cells with row and column labels, a legend, a tooltip on hover and keyboard
// focus (arrow keys, Home, End), used by the heatmap, the step-by-step view and the encoding picture.
// Colours are presentation attributes, not CSS, so that an exported SVG looks like the screen.
import { h, s, fmt, seqColor, divColor, colorRgb, rampStops, uniqueId } from '../dom.js';

/** Above this many cells a matrix is drawn as one pixel image instead of one rect per cell. */
const MAX_RECTS = 2500;

function clip(label, max = 14) {
  const t = String(label);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * The geometry of a drawn matrix (px): cell size, font size, label band sizes, and the SVG's width and height.
 * Used by drawMatrix and by views that reserve their height before drawing.
 */
export function matrixLayout({ rows, cols, rowLabels = null, colLabels = null, targetSize = 360, maxCell = 28, minCell = 3, legend = true }) {
  const cell = Math.max(minCell, Math.min(maxCell, Math.floor(targetSize / Math.max(rows, cols, 1))));
  const fontSize = Math.max(7, Math.min(12, Math.round(cell * 0.72)));
  const longest = (labels) => (labels ? Math.max(1, ...labels.map((l) => clip(l).length)) : 0);
  const labelW = rowLabels ? Math.min(104, longest(rowLabels) * fontSize * 0.62 + 8) : 0;
  const labelH = colLabels ? Math.min(84, longest(colLabels) * fontSize * 0.55 + 10) : 0;
  const gridW = cols * cell;
  const gridH = rows * cell;
  const legendH = legend ? 34 : 0;
  return {
    cell, fontSize, labelW, labelH, gridW, gridH,
    width: Math.ceil(labelW + gridW + 24), height: Math.ceil(labelH + gridH + legendH + 4),
  };
}

/**
 * values [rows][cols]; rowLabels / colLabels: strings or null; signed: diverging colours around 0.
 * palette: { theme, fg, muted, masked }; announce(text): speaks focus changes; describe(i, j, v): the
 * tooltip text. Returns { root, svg, focusCell(i, j) }.
 */
export function drawMatrix(opts) {
  const {
    values, rows, cols, rowLabels = null, colLabels = null, signed = false, palette, title = '',
    targetSize = 360, maxCell = 28, minCell = 3, legend = true, announce = () => {}, describe,
    onCell = () => {}, fixedMax = null,
  } = opts;
  const {
    cell, fontSize, labelW, labelH, gridW, gridH, width, height,
  } = matrixLayout({ rows, cols, rowLabels, colLabels, targetSize, maxCell, minCell, legend });
  const labelStep = Math.max(1, Math.ceil((fontSize + 1) / cell));

  let max = 0;
  for (const v of values) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
  if (fixedMax !== null) max = fixedMax;
  if (max === 0) max = 1;
  const color = (v) => {
    if (!Number.isFinite(v)) return palette.masked;
    return signed ? divColor(v / max, palette) : seqColor(v / max, palette);
  };

  const svg = s('svg', {
    xmlns: 'http://www.w3.org/2000/svg', width, height, viewBox: `0 0 ${width} ${height}`, class: 'matrix',
    role: 'img', tabindex: 0, 'aria-label': `${title}: ${rows} by ${cols} matrix. Arrow keys move between cells.`,
    'font-family': 'system-ui, sans-serif', 'font-size': fontSize,
  });
  const grid = s('g', { transform: `translate(${labelW},${labelH})` });
  let cells = null;
  if (rows * cols <= MAX_RECTS) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        grid.append(s('rect', {
          x: j * cell, y: i * cell, width: cell, height: cell, fill: color(values[i * cols + j]), 'data-i': i, 'data-j': j,
        }));
      }
    }
  } else {
    // Large: one pixel per cell on a canvas laid over the grid (no image URL: a strict CSP refuses data: and
    // blob: images); the export embeds it as an image (export.js).
    const canvas = document.createElement('canvas');
    canvas.width = cols;
    canvas.height = rows;
    const g = canvas.getContext('2d');
    const img = g.createImageData(cols, rows);
    const masked = palette.maskedRgb;
    for (let k = 0; k < rows * cols; k++) {
      const v = values[k];
      const rgb = Number.isFinite(v) ? colorRgb(v / max, palette, signed) : masked;
      img.data[4 * k] = rgb[0];
      img.data[4 * k + 1] = rgb[1];
      img.data[4 * k + 2] = rgb[2];
      img.data[4 * k + 3] = 255;
    }
    g.putImageData(img, 0, 0);
    canvas.className = 'cells';
    cells = { canvas, x: labelW, y: labelH, width: gridW, height: gridH };
  }
  const rowMarks = [];
  const colMarks = [];
  if (rowLabels) {
    for (let i = 0; i < rows; i += labelStep) {
      const t = s('text', {
        x: labelW - 4, y: labelH + i * cell + cell / 2, 'text-anchor': 'end', 'dominant-baseline': 'central', fill: palette.fg,
      }, clip(rowLabels[i]));
      rowMarks[i] = t;
      svg.append(t);
    }
  }
  if (colLabels) {
    for (let j = 0; j < cols; j += labelStep) {
      const x = labelW + j * cell + cell / 2;
      const t = s('text', {
        x, y: labelH - 4, transform: `rotate(-60 ${x} ${labelH - 4})`, 'dominant-baseline': 'central', fill: palette.fg,
      }, clip(colLabels[j]));
      colMarks[j] = t;
      svg.append(t);
    }
  }
  svg.append(grid);
  const outline = s('rect', {
    width: cell, height: cell, fill: 'none', stroke: palette.fg, 'stroke-width': 2, visibility: 'hidden', 'pointer-events': 'none',
  });
  grid.append(outline);

  if (legend) {
    const gid = uniqueId('ramp');
    const lw = Math.min(Math.max(gridW, 120), 220);
    const y = labelH + gridH + 8;
    const grad = s('linearGradient', { id: gid, x1: 0, x2: 1, y1: 0, y2: 0 });
    for (const stop of rampStops(palette, signed)) grad.append(s('stop', { offset: stop.offset, 'stop-color': stop.color }));
    svg.append(s('defs', {}, grad));
    svg.append(s('rect', { x: labelW, y, width: lw, height: 10, fill: `url(#${gid})`, stroke: palette.muted, 'stroke-width': 0.5 }));
    const tick = (x, text, anchor) => s('text', { x, y: y + 21, 'text-anchor': anchor, fill: palette.fg, 'font-size': 10 }, text);
    svg.append(tick(labelW, signed ? fmt(-max) : '0', 'start'));
    if (signed) svg.append(tick(labelW + lw / 2, '0', 'middle'));
    svg.append(tick(labelW + lw, fmt(max), 'end'));
    svg.classList.add('has-legend');
  }

  const tip = h('div', { class: 'tip', role: 'presentation', hidden: true });
  const root = h('div', { class: 'matrix-wrap' }, svg, tip);
  if (cells) {
    // Percentages of the drawing, so that the canvas follows the SVG when it is scaled down.
    const pct = (v, of) => `${(100 * v) / of}%`;
    Object.assign(cells.canvas.style, {
      left: pct(cells.x, width), top: pct(cells.y, height), width: pct(cells.width, width), height: pct(cells.height, height),
    });
    root.append(cells.canvas);
    svg.exportCells = cells;
  }
  let active = null;
  let marked = [];

  const text = (i, j) => {
    const v = values[i * cols + j];
    return describe ? describe(i, j, v) : `${rowLabels ? rowLabels[i] : `row ${i}`} → ${colLabels ? colLabels[j] : `col ${j}`}: ${fmt(v)}`;
  };
  function mark(i, j) {
    for (const m of marked) m.removeAttribute('font-weight');
    marked = [rowMarks[i], colMarks[j]].filter(Boolean);
    for (const m of marked) m.setAttribute('font-weight', 'bold');
  }
  function show(i, j, fromKeyboard) {
    active = { i, j };
    outline.setAttribute('x', j * cell);
    outline.setAttribute('y', i * cell);
    outline.setAttribute('visibility', 'visible');
    mark(i, j);
    tip.textContent = text(i, j);
    tip.hidden = false;
    const scale = svg.getBoundingClientRect().width / width || 1;
    tip.style.left = `${(labelW + (j + 1) * cell) * scale + 6}px`;
    tip.style.top = `${(labelH + i * cell) * scale}px`;
    if (fromKeyboard) announce(tip.textContent);
    onCell(i, j, values[i * cols + j]);
  }
  function hide() {
    tip.hidden = true;
    outline.setAttribute('visibility', 'hidden');
    mark(-1, -1);
  }
  svg.addEventListener('pointermove', (event) => {
    const box = svg.getBoundingClientRect();
    const scale = box.width / width || 1;
    const j = Math.floor(((event.clientX - box.left) / scale - labelW) / cell);
    const i = Math.floor(((event.clientY - box.top) / scale - labelH) / cell);
    if (i >= 0 && i < rows && j >= 0 && j < cols) {
      if (!active || active.i !== i || active.j !== j || tip.hidden) show(i, j, false);
    } else if (svg.getRootNode().activeElement !== svg) hide();
  });
  svg.addEventListener('pointerleave', () => {
    if (svg.ownerDocument.activeElement !== svg && svg.getRootNode().activeElement !== svg) hide();
  });
  svg.addEventListener('focus', () => show(active?.i ?? 0, active?.j ?? 0, true));
  svg.addEventListener('blur', hide);
  svg.addEventListener('keydown', (event) => {
    const { i, j } = active ?? { i: 0, j: 0 };
    const moves = {
      ArrowUp: [i - 1, j], ArrowDown: [i + 1, j], ArrowLeft: [i, j - 1], ArrowRight: [i, j + 1],
      Home: [i, 0], End: [i, cols - 1], PageUp: [0, j], PageDown: [rows - 1, j],
    };
    const to = moves[event.key];
    if (!to) return;
    event.preventDefault();
    show(Math.min(rows - 1, Math.max(0, to[0])), Math.min(cols - 1, Math.max(0, to[1])), true);
  });
  return { root, svg, focusCell: (i, j) => show(i, j, true), cell, labelW, labelH };
}
