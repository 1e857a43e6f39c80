// Browser test of the analyst UI: `weft demo` (no live traffic) and Debian's Chromium driven by
// playwright-core, headless. Signs in, checks the incident queue, opens the incident with the
// most services and its cross-service timeline, changes its status, runs an event search, opens
// the overview dashboard, and visits the rules and health pages. Any console error, page error, failed request or HTTP
// error answer fails the run. Screenshots of every page go to the output directory.
//
//   node dashboards/ui/tests/browser.mjs WEFT_BINARY OUTPUT_DIR
//   (CHROMIUM=/usr/bin/chromium by default)

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [weftBinary, outputDir] = process.argv.slice(2);
if (!weftBinary || !outputDir) {
  console.error('usage: browser.mjs WEFT_BINARY OUTPUT_DIR');
  process.exit(2);
}
mkdirSync(outputDir, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts `weft demo` and resolves with its url, token and process once its history is in. */
function startDemo(port, dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(weftBinary, ['demo', '--no-live', '--hours', '6', '--data-dir', dataDir,
      '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let url;
    let token;
    const timer = setTimeout(() => reject(new Error(`weft demo did not get ready in 10 min: ${stderr}`)), 600_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      url ??= stdout.match(/^url: (\S+)$/m)?.[1];
      token ??= stdout.match(/^admin token: (\S+)$/m)?.[1];
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (/history ready/.test(stderr) && url && token) {
        clearTimeout(timer);
        resolve({ child, url, token });
      }
    });
    child.on('exit', (code) => reject(new Error(`weft demo exited (${code}): ${stderr}`)));
  });
}

const steps = [];
function step(name) {
  steps.push(name);
  console.log(`- ${name}`);
}

const dataDir = mkdtempSync(join(tmpdir(), 'weft-ui-'));
const port = await freePort();
const demo = await startDemo(port, dataDir);
const problems = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`); });
  const shot = (name) => page.screenshot({ path: join(outputDir, `${name}.png`), fullPage: true });

  await page.goto(demo.url);
  await shot('sign-in');
  await page.getByTestId('token-input').fill(demo.token);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('whoami-role').waitFor();
  step('signed in');

  await page.getByTestId('incident-row').first().waitFor({ timeout: 30_000 });
  const rows = await page.getByTestId('incident-row').count();
  if (rows < 3) throw new Error(`the queue shows ${rows} incidents, expected the demo's 3 or more`);
  const openCount = Number(await page.locator('[data-testid="count-status"][data-status="open"] strong').textContent());
  if (openCount < 3) throw new Error(`the queue counts ${openCount} open incidents, expected 3 or more`);
  await shot('incidents');
  step(`incident queue: ${rows} incidents`);

  // The incident that spans the most services (the account takeover chain).
  const listed = await page.evaluate(async (token) => {
    const answer = await fetch('/api/v1/incidents?limit=100', { headers: { Authorization: `Bearer ${token}` } });
    return (await answer.json()).incidents.map((incident) => ({ id: incident.id, services: incident.services.length }));
  }, demo.token);
  listed.sort((a, b) => b.services - a.services);
  const top = listed[0];
  await page.locator(`[data-testid="incident-row"][data-incident-id="${top.id}"] [data-testid="incident-link"]`).click();
  await page.getByTestId('timeline-lane').first().waitFor({ timeout: 30_000 });
  const lanes = await page.getByTestId('timeline-lane').count();
  const marks = await page.getByTestId('timeline-event').count();
  if (lanes < 3) throw new Error(`the timeline of ${top.id} has ${lanes} lanes, expected 3 or more services`);
  await shot('incident');
  step(`incident ${top.id}: timeline with ${lanes} service lanes and ${marks} events`);

  await page.locator('#status-select').selectOption('acknowledged');
  await page.getByTestId('status-submit').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="incident-page"] [data-testid="status"]')?.textContent?.includes('acknowledged')
    || document.querySelector('[data-testid="incident-history"]')?.textContent?.includes('acknowledged'), null, { timeout: 15_000 });
  await shot('incident-acknowledged');
  step('status changed to acknowledged');

  await page.getByTestId('nav-events').click();
  await page.locator('#event-search-input').fill('src_ip:203.0.113.0/24 OR user:priya');
  await page.keyboard.press('Enter');
  await page.getByTestId('event-row').first().waitFor({ timeout: 30_000 });
  await shot('events');
  step(`event search: ${await page.getByTestId('event-row').count()} rows`);

  await page.getByTestId('nav-dashboards').click();
  await page.locator('[data-testid="dashboard-link"][data-dashboard-id="overview"]').click();
  await page.getByTestId('panel').first().waitFor({ timeout: 30_000 });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="panel"]')]
    .every((panel) => panel.getAttribute('data-state') !== 'loading'), null, { timeout: 60_000 });
  const panels = await page.$$eval('[data-testid="panel"]', (all) => all.map((panel) => ({
    id: panel.getAttribute('data-panel-id'),
    state: panel.getAttribute('data-state'),
    error: panel.querySelector('[data-testid="panel-error"]')?.textContent ?? '',
  })));
  const broken = panels.filter((panel) => panel.state !== 'ready');
  if (broken.length > 0) throw new Error(`overview panels failed: ${JSON.stringify(broken)}`);
  const eventCount = Number((await page.locator('[data-panel-id="events"] [data-testid="panel-stat"]').textContent()).replace(/[^0-9]/g, ''));
  if (!(eventCount > 0)) throw new Error('the overview counts no events');
  const charts = await page.locator('[data-testid="panel-chart"] canvas').count();
  const barLists = await page.getByTestId('panel-bars').count();
  if (charts < 1 || barLists < 1) throw new Error(`the overview drew ${charts} charts and ${barLists} bar lists`);
  await shot('dashboard');
  step(`overview dashboard: ${panels.length} panels, ${eventCount} events, ${charts} charts, ${barLists} bar panels`);

  await page.getByTestId('nav-rules').click();
  await page.waitForLoadState('networkidle');
  await shot('rules');
  await page.getByTestId('nav-health').click();
  await page.waitForLoadState('networkidle');
  await shot('health');
  step('rules and health pages');

  if (problems.length > 0) throw new Error(`the browser reported problems:\n${problems.join('\n')}`);
  console.log(`ok: ${steps.length} steps, screenshots in ${outputDir}`);
} catch (error) {
  failed = true;
  console.error(`FAILED after: ${steps.join(', ') || 'start'}\n${error.stack ?? error}`);
  if (problems.length > 0) console.error(problems.join('\n'));
} finally {
  await browser.close();
  demo.child.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
