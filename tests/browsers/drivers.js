// Firefox and WebKit for the cross-browser widget tests, behind one small interface:
//   { name, goto(url), evaluate(fn, ...args), press(key), close() }
// evaluate runs an async function in the page (its source is sent; args and the result are JSON).
// Firefox: Debian's firefox-esr, headless, over WebDriver BiDi (puppeteer-core).
// WebKit: WebKitGTK's MiniBrowser --automation, driven by WebKitWebDriver (W3C WebDriver over HTTP), in Xvfb.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const FIREFOX = process.env.ATTN_FIREFOX || '/usr/bin/firefox-esr';
export const MINIBROWSER = process.env.ATTN_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const WEBKIT_DRIVER = process.env.ATTN_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const XVFB = '/usr/bin/Xvfb';

/** Why a browser cannot run here (a missing package: scripts/setup.sh installs them), or null. */
export function missing(name) {
  const need = name === 'firefox' ? [FIREFOX] : [MINIBROWSER, WEBKIT_DRIVER, XVFB];
  const absent = need.filter((p) => !existsSync(p));
  return absent.length ? `${absent.join(', ')} missing (scripts/setup.sh installs firefox-esr, webkit2gtk-driver, xvfb)` : null;
}

/** How long a WebKit evaluation may stay pending before it fails with the page's state (tests time out at 120 s). */
const EVALUATE_SECONDS = 100;

const KEYS = { Tab: '\uE004', Enter: '\uE007', ArrowLeft: '\uE012', ArrowUp: '\uE013', ArrowRight: '\uE014', ArrowDown: '\uE015' };

export async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  const page = await browser.newPage();
  return {
    name: 'firefox',
    version: await browser.version(),
    goto: (url) => page.goto(url, { waitUntil: 'load' }),
    evaluate: (fn, ...args) => page.evaluate(fn, ...args),
    press: (key) => page.keyboard.press(key),
    close: () => browser.close(),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts Xvfb on a free display (it prints the number it took on -displayfd). */
function startXvfb() {
  return new Promise((resolve, reject) => {
    const xvfb = spawn(XVFB, ['-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    xvfb.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ process: xvfb, display: `:${out.trim()}` });
    });
    xvfb.on('error', reject);
    xvfb.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
}

async function waitForHttp(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function launchWebKit() {
  const xvfb = await startXvfb();
  const port = await freePort();
  const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: xvfb.display } });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (json.value?.error) throw new Error(`WebDriver ${method} ${path}: ${json.value.error}: ${json.value.message}`);
    return json.value;
  };
  let session = null;
  try {
    await waitForHttp(`${base}/status`, 10_000);
    session = await call('POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
    });
    await call('POST', `/session/${session.sessionId}/timeouts`, { script: 60_000, pageLoad: 120_000 });
  } catch (error) {
    driver.kill();
    xvfb.process.kill();
    throw error;
  }
  const s = `/session/${session.sessionId}`;
  let evaluations = 0;
  // What a hung evaluation leaves to read: the document's state and each shadow root's status part.
  const pageState = () => call('POST', `${s}/execute/sync`, {
    script: `return JSON.stringify({ url: location.href, readyState: document.readyState, visibility: document.visibilityState,
      status: [...document.querySelectorAll('*')].filter((e) => e.shadowRoot)
        .map((e) => e.localName + ': ' + (e.shadowRoot.querySelector('[part~=status]')?.textContent ?? '')) });`,
    args: [],
  }).catch((error) => `(the page did not answer: ${error.message})`);
  return {
    name: 'webkit',
    version: session.capabilities.browserVersion,
    goto: (url) => call('POST', `${s}/url`, { url }),
    // Started with one synchronous script and then polled once a second: while an asynchronous script
    // (execute/async) is pending, or while commands come more often than that (polls every 50-800 ms were
    // tried), WebKit holds back the page's rendering steps: IntersectionObserver callbacks never come, and a
    // widget never starts.
    async evaluate(fn, ...args) {
      const id = `e${(evaluations += 1)}`;
      await call('POST', `${s}/execute/sync`, {
        script: `const [id, args] = arguments; const box = (window.__webdriverResults ??= {});
          box[id] = { pending: true };
          Promise.resolve().then(() => (${fn})(...args)).then((value) => { box[id] = { value }; },
            (error) => { box[id] = { error: String(error && error.stack || error) }; });`,
        args: [id, args],
      });
      for (let waited = 0; ; waited += 1) {
        if (waited === EVALUATE_SECONDS) throw new Error(`in the page: not settled after ${waited} s; ${await pageState()}`);
        await new Promise((r) => setTimeout(r, 1000));
        const out = await call('POST', `${s}/execute/sync`, {
          script: `const r = window.__webdriverResults?.[arguments[0]] ?? { error: 'the page went away' };
            if (!r.pending) delete window.__webdriverResults[arguments[0]]; return r;`,
          args: [id],
        });
        if (out.error) throw new Error(`in the page: ${out.error}`);
        if (!out.pending) return out.value;
      }
    },
    press: (key) => call('POST', `${s}/actions`, {
      actions: [{ type: 'key', id: 'keyboard', actions: [{ type: 'keyDown', value: KEYS[key] ?? key }, { type: 'keyUp', value: KEYS[key] ?? key }] }],
    }),
    async close() {
      try { await call('DELETE', s); } finally {
        driver.kill();
        xvfb.process.kill();
      }
    },
  };
}
