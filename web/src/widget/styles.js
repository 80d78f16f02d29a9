// The widget's shadow-DOM styles, adopted as one constructable stylesheet shared by every widget (no <style>
// element and no style attributes, so a Content-Security-Policy without 'unsafe-inline' styles is fine).
// Every colour, the chart's included, comes from a custom property: --attention-view-<name> set by the page,
// else the theme's default below. The element picks the theme (attribute, the page's own switch, or
// prefers-color-scheme) and sets the custom state :state(dark); the views read the resolved values.

/** The :host block of custom properties of a theme: --av-<name>: var(--attention-view-<name>, default). */
const LIGHT = `
  --av-fg: var(--attention-view-fg, #1d2329);
  --av-bg: var(--attention-view-bg, #ffffff);
  --av-muted: var(--attention-view-muted, #5b6670);
  --av-line: var(--attention-view-line, #d5dbe1);
  --av-accent: var(--attention-view-accent, #0b5fad);
  --av-masked: var(--attention-view-masked, #c9c9c9);
  --av-error-bg: var(--attention-view-error-bg, #fdecea);
  --av-error-fg: var(--attention-view-error-fg, #8a1c12);
  --av-ramp: var(--attention-view-ramp, #f7fbff #c6dbef #6baed6 #2171b5 #08306b);
  --av-diverging: var(--attention-view-diverging, #2166ac #92c5de #f7f7f7 #fdb863 #b35806);
  --av-heads: var(--attention-view-heads, #0072B2 #E69F00 #009E73 #CC79A7 #D55E00 #56B4E9 #F0E442 #000000);`;
const DARK = `
  --av-fg: var(--attention-view-fg, #e6e9ec);
  --av-bg: var(--attention-view-bg, #16191d);
  --av-muted: var(--attention-view-muted, #9aa5b0);
  --av-line: var(--attention-view-line, #343b44);
  --av-accent: var(--attention-view-accent, #6cb4ff);
  --av-masked: var(--attention-view-masked, #4a4f55);
  --av-error-bg: var(--attention-view-error-bg, #3b1512);
  --av-error-fg: var(--attention-view-error-fg, #ffb4a8);
  --av-ramp: var(--attention-view-ramp, #440154 #3b528b #21918c #5ec962 #fde725);
  --av-diverging: var(--attention-view-diverging, #67a9cf #34536e #282c34 #8c5a28 #fdb863);
  --av-heads: var(--attention-view-heads, #0072B2 #E69F00 #009E73 #CC79A7 #D55E00 #56B4E9 #F0E442 #ffffff);`;

/** The documented custom properties (name without the --attention-view- prefix -> default), per theme, read from the blocks above. */
export const THEME_DEFAULTS = Object.fromEntries([['light', LIGHT], ['dark', DARK]].map(([theme, block]) => [
  theme, Object.fromEntries([...block.matchAll(/--av-([\w-]+): var\(--attention-view-[\w-]+, ([^;]+)\);/g)].map((m) => [m[1], m[2]])),
]));

export const styles = `
:host {${LIGHT}
  display: block;
  color: var(--av-fg);
  background: var(--av-bg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  border: 1px solid var(--av-line);
  border-radius: 8px;
  padding: 10px;
  max-width: 100%;
  box-sizing: border-box;
  contain: content;
}
:host(:state(dark)) {${DARK}
}
:host([hidden]) { display: none; }
[hidden] { display: none !important; }
* { box-sizing: border-box; }
.toolbar { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-bottom: 8px; }
.toolbar label, label.inline { display: inline-flex; gap: 4px; align-items: center; color: var(--av-muted); font-size: 12px; }
select, button { font: inherit; font-size: 12px; color: var(--av-fg); background: var(--av-bg); border: 1px solid var(--av-line);
  border-radius: 5px; padding: 3px 6px; min-height: 26px; }
button { cursor: pointer; }
/* Fixed widths: the toolbar does not move when the first result fills the layer and head menus. */
select[data-control="layer"] { width: 6.5em; }
select[data-control="head"] { width: 3.5em; }
button[aria-pressed="true"] { border-color: var(--av-accent); box-shadow: inset 0 0 0 1px var(--av-accent); }
:focus-visible { outline: 2px solid var(--av-accent); outline-offset: 2px; }
svg:focus-visible, text:focus-visible { outline: 2px solid var(--av-accent); }
.tabs { display: inline-flex; flex-wrap: wrap; gap: 2px; }
.exports { margin-left: auto; display: inline-flex; gap: 4px; }
/* One line of status is kept free before the first result, and the badge's ring takes no layout space, so the
   status line does not move the view when the first result arrives. */
.status { font-size: 12px; line-height: 18px; color: var(--av-muted); min-height: 18px; margin: 2px 0 6px; }
.status .badge { display: inline-block; padding: 0 6px; border-radius: 9px; box-shadow: inset 0 0 0 1px var(--av-line); margin-right: 6px; }
.status .badge.seeded { box-shadow: inset 0 0 0 1px #E69F00; }
.status button { min-height: 0; padding: 0 6px; line-height: 16px; }
.error { background: var(--av-error-bg); color: var(--av-error-fg); padding: 6px 8px; border-radius: 5px; margin: 4px 0; white-space: pre-wrap; }
.view { position: relative; overflow-x: auto; min-height: 60px; }
.view[aria-busy="true"] { opacity: .6; }
@media (prefers-reduced-motion: no-preference) { .view { transition: opacity .15s; } }
.panels { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0 0 12px; }
figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
.caption, .note { font-size: 12px; color: var(--av-muted); margin: 4px 0; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; margin: 2px 0 4px; overflow-wrap: anywhere; }
.matrix-wrap { position: relative; display: inline-block; max-width: 100%; }
.matrix-wrap svg { display: block; max-width: 100%; height: auto; }
.tip { position: absolute; pointer-events: none; background: var(--av-fg); color: var(--av-bg); padding: 3px 6px;
  border-radius: 4px; font-size: 12px; white-space: nowrap; z-index: 2; }
.steps { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px 16px; }
.step-num { display: inline-block; min-width: 1.4em; padding: 0 3px; text-align: center; border-radius: 9px; background: var(--av-accent); color: var(--av-bg); font-size: 11px; }
.shape { color: var(--av-muted); font-weight: 400; font-size: 12px; }
.scroll { overflow-x: auto; max-width: 100%; }
.heads { display: flex; flex-wrap: wrap; gap: 4px; margin-bottom: 6px; }
.head-toggle, .head-toggle[aria-pressed="true"] { border: 1px solid var(--head); border-left: 8px solid var(--head); box-shadow: none; }
.head-toggle[aria-pressed="false"] { opacity: .55; border-left-style: dashed; }
.token { cursor: default; }
.model-grid { display: flex; flex-direction: column; gap: 6px; }
.model-row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.model-label { width: 8em; font-size: 12px; color: var(--av-muted); }
.thumb { display: inline-flex; flex-direction: column; align-items: center; gap: 2px; padding: 3px; }
.thumb canvas { image-rendering: pixelated; display: block; }
canvas.cells { position: absolute; image-rendering: pixelated; pointer-events: none; }
.thumb.current { border-color: var(--av-accent); box-shadow: inset 0 0 0 1px var(--av-accent); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.progress { display: flex; flex-wrap: wrap; gap: 0 8px; align-items: center; }
.progress progress { width: 12em; height: 10px; accent-color: var(--av-accent); }
.status .badge.precomputed { box-shadow: inset 0 0 0 1px var(--av-accent); }
.probe { position: absolute; visibility: hidden; }
`;

let sheet = null;
/** The one stylesheet every widget adopts (built on first use, where CSSStyleSheet exists). */
export function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(styles);
  }
  return sheet;
}
