// Temporary copy of /work/main/playwright.config.js on port 5175 (5174 busy with another engineer's run).
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: '/work/main/tests/e2e', timeout: 120_000, expect: { timeout: 30_000 }, workers: 1, reporter: [['list']],
  use: { baseURL: 'http://127.0.0.1:5175', headless: true,
    launchOptions: { executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--enable-unsafe-webgpu'] } },
  webServer: { command: 'npx vite --config vite.config.js --host 127.0.0.1 --port 5175 --strictPort', cwd: '/work/main',
    url: 'http://127.0.0.1:5175/', reuseExistingServer: false, timeout: 120_000 },
});
