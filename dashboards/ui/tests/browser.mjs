// Browser test of the analyst UI: `weft demo` (no live traffic) and Debian's Chromium driven by
// playwright-core, headless. Signs in, checks the incident queue, opens the incident with the
// most services and its cross-service timeline, changes its status, runs an event search, opens
// the overview dashboard (every panel drawn), checks the rule catalogue's hit sparklines, opens a
// rule's page (with the keyboard), tests it on pasted events and toggles it, checks the
// per-service rates of the health page, and visits the pages again at a phone's width
// (390x844) where none may scroll sideways. Any console error, page error, failed request or
// HTTP error answer fails the run. Screenshots of every page go to the output directory.
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

/** The pack's "Failed login" rule, whose tests paste an sshd line. */
const FAILED_LOGIN = '5dca2a84-789a-43c4-a584-707dce0902b6';

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
  const watch = (tab) => {
    tab.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    tab.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    tab.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
    tab.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`); });
  };
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  watch(page);
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
  await page.getByTestId('rule-row').first().waitFor({ timeout: 30_000 });
  const ruleRows = await page.getByTestId('rule-row').count();
  const sparklines = await page.locator('[data-testid="rule-row"] [data-testid="sparkline"]').count();
  if (sparklines !== ruleRows) throw new Error(`${sparklines} hit sparklines for ${ruleRows} rules`);
  const hitTotal = await page.locator('[data-testid="rule-hits-total"]').evaluateAll((cells) => cells.reduce((sum, cell) => sum + Number(cell.textContent), 0));
  if (hitTotal === 0) throw new Error('the catalogue shows no alerts over the last 24 hours; the demo raised some');
  await shot('rules');
  step(`rules: ${ruleRows} rules, ${hitTotal} alerts in their sparklines`);

  // A rule's page, reached with the keyboard: its YAML, hits chart, and a test on pasted events.
  await page.locator(`[data-testid="rule-row"][data-rule-id="${FAILED_LOGIN}"] [data-testid="rule-link"]`).focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('rule-yaml').waitFor({ timeout: 30_000 });
  await page.getByTestId('rule-hits-chart').waitFor({ timeout: 30_000 });
  if (!(await page.getByTestId('rule-yaml').textContent()).includes(FAILED_LOGIN)) throw new Error('the rule page does not show its YAML');
  await page.getByTestId('rule-test-input').fill([
    '<38>1 2026-11-20T10:00:00Z bastion-1 sshd 4242 - - Failed password for alice from 203.0.113.7 port 50001 ssh2',
    '{"@timestamp": "2026-11-20T10:00:09Z", "service": "auth-api", "event": {"action": "login", "outcome": "success"}, "user": {"name": "alice"}}',
  ].join('\n'));
  await page.getByTestId('rule-test-run').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('rule-test-summary').waitFor({ timeout: 30_000 });
  const matched = await page.locator('[data-testid="rule-test-event"][data-matched="true"]').count();
  const unmatched = await page.locator('[data-testid="rule-test-event"][data-matched="false"]').count();
  if (matched !== 1 || unmatched !== 1) throw new Error(`the test matched ${matched} and missed ${unmatched} events, expected 1 and 1: ${await page.getByTestId('rule-test-result').textContent()}`);
  await shot('rule');
  step('rule page: YAML, hits chart, a pasted failed login matches and a success does not');

  // Admins disable and enable it from the page.
  await page.getByTestId('rule-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="rule-enabled"]')?.textContent === 'disabled', null, { timeout: 15_000 });
  await page.getByTestId('rule-toggle').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="rule-enabled"]')?.textContent === 'enabled', null, { timeout: 15_000 });
  step('rule disabled and enabled again');

  await page.getByTestId('nav-health').click();
  await page.getByTestId('service-rate-row').first().waitFor({ timeout: 30_000 });
  const services = await page.getByTestId('service-rate-row').count();
  const rates = await page.getByTestId('service-rate-1h').allTextContents();
  if (services < 3 || !rates.every((rate) => /\/s$/.test(rate)) || rates.every((rate) => rate === '0/s')) {
    throw new Error(`the health page shows ${services} services with rates ${rates.join(', ')}`);
  }
  await page.getByTestId('kafka-lag-unknown').waitFor();
  await page.locator('[data-testid="job-status-table"], [data-testid="no-jobs"]').first().waitFor();
  await shot('health');
  step(`health: per-service rates of ${services} services, lag unknown without Kafka, job status`);

  // Phone width: no page scrolls sideways (tables scroll inside their own box).
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  watch(phone);
  await phone.goto(demo.url);
  await phone.getByTestId('token-input').fill(demo.token);
  await phone.getByTestId('sign-in').click();
  await phone.getByTestId('incident-row').first().waitFor({ timeout: 30_000 });
  const pages = [
    ['queue', '#/incidents', 'incident-row'],
    ['incident', `#/incidents/${encodeURIComponent(top.id)}`, 'timeline-lane'],
    ['events', `#/events?q=${encodeURIComponent('src_ip:203.0.113.0/24 OR user:priya')}`, 'event-row'],
    ['dashboard', '#/dashboards/overview', 'panel-chart'],
    ['rules', '#/rules', 'rule-row'],
    ['rule', `#/rules/${FAILED_LOGIN}`, 'rule-yaml'],
    ['health', '#/health', 'service-rate-row'],
  ];
  for (const [name, hash, ready] of pages) {
    await phone.evaluate((target) => { location.hash = target; }, hash);
    await phone.getByTestId(ready).first().waitFor({ timeout: 30_000 });
    await phone.waitForFunction(() => !document.querySelector('[data-state="loading"], [data-testid="loading"]'), null, { timeout: 60_000 });
    await phone.waitForLoadState('networkidle');
    const { scrollWidth, innerWidth } = await phone.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    await phone.screenshot({ path: join(outputDir, `phone-${name}.png`), fullPage: true });
    if (scrollWidth > innerWidth + 1) throw new Error(`at 390 px the ${name} page is ${scrollWidth} px wide`);
  }
  step(`phone width: ${pages.map(([name]) => name).join(', ')} without sideways scrolling`);

  if (problems.length > 0) throw new Error(`the browser reported problems:\n${problems.join('\n')}`);
  console.log(`ok: ${steps.length} steps, screenshots in ${outputDir}`);
} catch (error) {
  failed = true;
  console.error(`FAILED after: ${steps.join(', ') || 'start'}\n${error.stack ?? error}`);
  if (problems.length > 0) console.error(problems.join('\n'));
} finally {
  await browser.close();
  // weft writes its last audit segment as it stops: remove the data only once it has exited.
  const exited = new Promise((resolve) => {
    if (demo.child.exitCode !== null || demo.child.signalCode !== null) resolve();
    else demo.child.once('exit', resolve);
  });
  demo.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}
process.exit(failed ? 1 : 0);
