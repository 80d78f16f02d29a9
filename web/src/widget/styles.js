// The widget's shadow-DOM styles. Colours come from custom properties so that light, dark and the page's
// own overrides (--attention-view-*) all work; motion only where the reader has not asked for less.
export const styles = `
:host {
  --fg: var(--attention-view-fg, #1d2329);
  --bg: var(--attention-view-bg, #ffffff);
  --muted: var(--attention-view-muted, #5b6670);
  --line: var(--attention-view-line, #d5dbe1);
  --accent: var(--attention-view-accent, #0b5fad);
  --masked: #c9c9c9;
  --error-bg: #fdecea;
  --error-fg: #8a1c12;
  display: block;
  color: var(--fg);
  background: var(--bg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 10px;
  max-width: 100%;
  box-sizing: border-box;
  contain: content;
}
:host([theme="dark"]) {
  --fg: var(--attention-view-fg, #e6e9ec); --bg: var(--attention-view-bg, #16191d); --muted: #9aa5b0;
  --line: #343b44; --accent: #6cb4ff; --masked: #4a4f55; --error-bg: #3b1512; --error-fg: #ffb4a8;
}
@media (prefers-color-scheme: dark) {
  :host(:not([theme="light"])) {
    --fg: var(--attention-view-fg, #e6e9ec); --bg: var(--attention-view-bg, #16191d); --muted: #9aa5b0;
    --line: #343b44; --accent: #6cb4ff; --masked: #4a4f55; --error-bg: #3b1512; --error-fg: #ffb4a8;
  }
}
:host([hidden]) { display: none; }
[hidden] { display: none !important; }
* { box-sizing: border-box; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-bottom: 8px; }
.toolbar label, label.inline { display: inline-flex; gap: 4px; align-items: center; color: var(--muted); font-size: 12px; }
select, button { font: inherit; font-size: 12px; color: var(--fg); background: var(--bg); border: 1px solid var(--line);
  border-radius: 5px; padding: 3px 6px; min-height: 26px; }
button { cursor: pointer; }
button[aria-pressed="true"] { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
svg:focus-visible, text:focus-visible { outline: 2px solid var(--accent); }
.tabs { display: inline-flex; flex-wrap: wrap; gap: 2px; }
.exports { margin-left: auto; display: inline-flex; gap: 4px; }
.status { font-size: 12px; color: var(--muted); min-height: 1.2em; margin: 2px 0 6px; }
.status .badge { display: inline-block; padding: 0 6px; border-radius: 9px; border: 1px solid var(--line); margin-right: 6px; }
.status .badge.seeded { border-color: #E69F00; }
.error { background: var(--error-bg); color: var(--error-fg); padding: 6px 8px; border-radius: 5px; margin: 4px 0; white-space: pre-wrap; }
.view { position: relative; overflow-x: auto; min-height: 60px; }
.view[aria-busy="true"] { opacity: .6; }
@media (prefers-reduced-motion: no-preference) { .view { transition: opacity .15s; } }
.panels { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0 0 12px; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
.caption, .note { font-size: 12px; color: var(--muted); margin: 4px 0; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; margin: 2px 0 4px; overflow-wrap: anywhere; }
.matrix-wrap { position: relative; display: inline-block; max-width: 100%; }
.matrix-wrap svg { display: block; max-width: 100%; height: auto; }
.tip { position: absolute; pointer-events: none; background: var(--fg); color: var(--bg); padding: 3px 6px;
  border-radius: 4px; font-size: 12px; white-space: nowrap; z-index: 2; }
.steps { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px 16px; }
.step-num { display: inline-block; min-width: 1.4em; padding: 0 3px; text-align: center; border-radius: 9px; background: var(--accent); color: var(--bg); font-size: 11px; }
.shape { color: var(--muted); font-weight: 400; font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; }
.heads { display: flex; flex-wrap: wrap; gap: 4px; margin-bottom: 6px; }
.head-toggle, .head-toggle[aria-pressed="true"] { border: 1px solid var(--head); border-left: 8px solid var(--head); box-shadow: none; }
.head-toggle[aria-pressed="false"] { opacity: .55; border-left-style: dashed; }
.token { cursor: default; }
.model-grid { display: flex; flex-direction: column; gap: 6px; }
.model-row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.model-label { width: 8em; font-size: 12px; color: var(--muted); }
.thumb { display: inline-flex; flex-direction: column; align-items: center; gap: 2px; padding: 3px; }
.thumb canvas { image-rendering: pixelated; display: block; }
.thumb.current { border-color: var(--accent); box-shadow: inset 0 0 0 1px var(--accent); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
`;
