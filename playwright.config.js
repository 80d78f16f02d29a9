// Playwright drives Debian's Chromium headless; no browser is downloaded.
import { defineConfig } from '@playwright/test';

const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--enable-unsafe-webgpu',
];

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: 'http://127.0.0.1:5174',
    headless: true,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: chromiumArgs },
  },
  webServer: {
    command: 'ATTN_TEST_SERVER=1 npx vite --config vite.config.js --host 127.0.0.1 --port 5174 --strictPort',
    url: 'http://127.0.0.1:5174/',
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
