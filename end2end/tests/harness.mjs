// Browser-test harness: starts a real Patchbay server on a fresh SQLite database with a
// local SMTP catcher, drives Debian's Chromium through playwright-core, and offers a few
// polling assertions (there is no @playwright/test here, on purpose: node:test runs it).
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createWriteStream, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';
import { SMTPServer } from 'smtp-server';

const execFileAsync = promisify(execFile);

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'end2end', '.artifacts');
/** Password of every demo user in the test database. */
export const DEMO_PASSWORD = 'e2e-demo-password-1';

const SERVER_BIN = process.env.PATCHBAY_BIN || path.join(REPO_ROOT, 'target', 'debug', 'patchbay');
const IDP_SCRIPT = path.join(REPO_ROOT, 'end2end', 'oidc', 'idp.mjs');
const SITE_ROOT = process.env.PATCHBAY_SITE_ROOT || path.join(REPO_ROOT, 'target', 'site');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const READY_TIMEOUT_MS = 60_000;
/** Default wait for elements, navigations and polling assertions. Debug builds hash
 * passwords slowly, so this is generous. */
export const TIMEOUT_MS = 30_000;

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------
// Mail: a tiny SMTP server that keeps every message in memory.

function parseHeaders(block) {
  const headers = {};
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return headers;
}

function splitHeadersAndBody(raw) {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return [raw, ''];
  return [raw.slice(0, m.index), raw.slice(m.index + m[0].length)];
}

function decodeQuotedPrintable(text) {
  const bytes = Buffer.from(
    text.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  return bytes.toString('utf8');
}

function decodeBody(body, encoding = '') {
  switch (encoding.toLowerCase()) {
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    default:
      return body;
  }
}

/** RFC 2047 encoded words (`=?utf-8?b?...?=`), as lettre writes non-ASCII subjects. */
function decodeWords(value = '') {
  return value.replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, kind, text) =>
    kind.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' ')),
  );
}

/** The text of every text/* part, decoded; good enough for the mail Patchbay sends. */
function textParts(raw) {
  const [head, body] = splitHeadersAndBody(raw);
  const headers = parseHeaders(head);
  const type = headers['content-type'] || 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (/^multipart\//i.test(type) && boundary) {
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((part) => !part.startsWith('--'))
      .flatMap((part) => textParts(part.replace(/^\r?\n/, '')));
  }
  if (!/^text\//i.test(type)) return [];
  return [decodeBody(body, headers['content-transfer-encoding'])];
}

export function parseMessage(raw, envelope = {}) {
  const [head] = splitHeadersAndBody(raw);
  const headers = parseHeaders(head);
  return {
    to: (envelope.rcptTo || []).map((a) => a.address.toLowerCase()),
    subject: decodeWords(headers.subject),
    text: textParts(raw).join('\n'),
    raw,
  };
}

export async function startMailCatcher() {
  const mailbox = [];
  const smtp = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('error', callback);
      stream.on('end', () => {
        mailbox.push(parseMessage(Buffer.concat(chunks).toString('utf8'), session.envelope));
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(port, '127.0.0.1', resolve);
  });
  return { port, mailbox, close: () => new Promise((resolve) => smtp.close(resolve)) };
}

// ---------------------------------------------------------------------------------------
// The test identity provider: end2end/oidc/idp.mjs (npm oidc-provider) as a child process.

/**
 * Start the test OpenID provider on a free loopback port with `redirectUris` and
 * `postLogoutRedirectUris` registered for its clients. Its output goes to `logFile`.
 * Returns { issuer, stop() }.
 */
export async function startIdp({ redirectUris, postLogoutRedirectUris = [], logFile }) {
  const child = spawn(process.execPath, [IDP_SCRIPT], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      IDP_PORT: '0',
      IDP_REDIRECT_URIS: redirectUris.join(','),
      IDP_POST_LOGOUT_REDIRECT_URIS: postLogoutRedirectUris.join(','),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => {
    running = false;
  });
  const stop = async () => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  };

  let buffered = '';
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the test identity provider did not start within 30s')), 30_000);
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const m = /^IDP_READY (\S+)$/m.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the test identity provider exited (code ${code}, signal ${signal}):\n${tail(logFile)}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  child.stdout.resume();
  return { issuer, stop, logFile };
}

// ---------------------------------------------------------------------------------------
// The server under test.

async function runOnce(args, env, logFile) {
  try {
    const { stdout, stderr } = await execFileAsync(SERVER_BIN, args, { env, cwd: REPO_ROOT });
    await writeFile(logFile, `$ patchbay ${args.join(' ')}\n${stdout}${stderr}\n`, { flag: 'a' });
  } catch (err) {
    throw new Error(`\`patchbay ${args.join(' ')}\` failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

function tail(file, lines = 40) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Migrate and seed a fresh SQLite database in a temp dir, then serve it on a free port.
 * Returns { baseUrl, mailbox, waitForMail(predicate), stop(), idp }.
 *
 * Options:
 * - `idp: true` first starts the test OpenID provider (end2end/oidc/idp.mjs) with
 *   `<baseUrl>/auth/oidc/callback` and `<baseUrl>/login` registered as its redirect and
 *   post-logout redirect URIs; `server.idp.issuer` is its issuer. It stops with the server.
 * - `beforeServe: async ({ env, baseUrl, idp, dir, patchbay }) => {}` runs after
 *   `migrate` and `seed-demo`, before `serve`; `await patchbay(args, extraEnv)` runs the
 *   server's CLI on the same database (e.g. `sso set ...`).
 */
export async function startServer({ idp: withIdp = false, beforeServe } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'patchbay-e2e-'));
  const logFile = path.join(dir, 'server.log');
  const mail = await startMailCatcher();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let idp = null;
  if (withIdp) {
    try {
      idp = await startIdp({
        redirectUris: [`${baseUrl}/auth/oidc/callback`],
        postLogoutRedirectUris: [`${baseUrl}/login`],
        logFile: path.join(dir, 'idp.log'),
      });
    } catch (err) {
      await mail.close();
      throw err;
    }
  }
  const env = {
    ...process.env,
    PATCHBAY_DATABASE_URL: `sqlite://${dir}/e2e.db?mode=rwc`,
    PATCHBAY_BIND: `127.0.0.1:${port}`,
    PATCHBAY_PUBLIC_URL: baseUrl,
    PATCHBAY_DEMO_PASSWORD: DEMO_PASSWORD,
    PATCHBAY_SITE_ROOT: SITE_ROOT,
    LEPTOS_SITE_ROOT: SITE_ROOT,
    PATCHBAY_SMTP_URL: `smtp://127.0.0.1:${mail.port}`,
    // The test identity provider runs on plain-http loopback (development setting).
    PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS: 'true',
    // The demo platform admin signs in with a password only (development setting; the
    // two-factor flows have their own integration tests).
    PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS: 'true',
    // The webhook receivers of the browser tests listen on loopback, over http.
    PATCHBAY_WEBHOOKS_ALLOW_PRIVATE: 'true',
  };

  try {
    await runOnce(['migrate'], env, logFile);
    await runOnce(['seed-demo'], env, logFile);
    if (beforeServe) {
      const patchbay = (args, extraEnv = {}) => runOnce(args, { ...env, ...extraEnv }, logFile);
      await beforeServe({ env, baseUrl, idp, dir, patchbay });
    }
  } catch (err) {
    await idp?.stop();
    await mail.close();
    throw err;
  }

  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(SERVER_BIN, ['serve'], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let running = true;
  exited.then(() => {
    running = false;
  });

  const stop = async () => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await idp?.stop();
    await mail.close();
    log.end();
    if (process.env.PATCHBAY_E2E_KEEP) {
      console.log(`# kept the e2e server directory ${dir}`);
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!running) {
      const { code, signal } = await exited;
      await stop();
      throw new Error(`patchbay serve exited (code ${code}, signal ${signal}) before it was ready:\n${tail(logFile)}`);
    }
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      const log = tail(logFile);
      await stop();
      throw new Error(`patchbay serve did not answer GET /readyz with 200 within ${READY_TIMEOUT_MS / 1000}s:\n${log}`);
    }
    await sleep(250);
  }

  /** The first message (already received or arriving within the timeout) matching `predicate`. */
  const waitForMail = async (predicate, timeout = TIMEOUT_MS) => {
    const found = await eventually(() => mail.mailbox.find(predicate), {
      timeout,
      message: 'no matching e-mail arrived',
    });
    return found;
  };

  return { baseUrl, mailbox: mail.mailbox, waitForMail, stop, logFile, idp };
}

/** The first `/invite/<token>` link in a message. */
export function inviteLink(message) {
  const m = /https?:\/\/[^\s"'<>]+\/invite\/[A-Za-z0-9_-]+/.exec(message.text);
  return m?.[0];
}

// ---------------------------------------------------------------------------------------
// The browser.

/**
 * Launch headless Chromium. Returns { browser, context, newContext(), close() }: `context`
 * is ready to use, and `newContext()` gives a fresh, signed-out one with the same options.
 */
/** Which of our contexts run JavaScript (a page cannot reliably tell by itself). */
const jsEnabledContexts = new WeakMap();

/**
 * `theme: 'light' | 'dark'` makes every page open in that theme, as a user whose system is set
 * to it and who picked it with the toggle (the app keeps the choice in localStorage
 * `patchbay-theme` and sets `dark` on <html> before first paint; without JavaScript the
 * light theme is the only one).
 */
/**
 * `withoutApp: true` serves every page as it is before the app's JavaScript loads (the
 * wasm and its loader are refused), while the browser itself still runs scripts: for
 * tools that inject their own (axe-core), which a JavaScript-off browser cannot run.
 */
export async function launchBrowser({ javaScriptEnabled = true, theme, withoutApp = false } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const newContext = async () => {
    // Wide enough for the sidebar (md) and the header's tenant name (lg).
    const context = await browser.newContext({
      javaScriptEnabled,
      viewport: { width: 1440, height: 900 },
      ...(theme ? { colorScheme: theme } : {}),
    });
    if (theme) {
      await context.addInitScript((t) => {
        try {
          localStorage.setItem('patchbay-theme', t);
        } catch {
          // storage disabled: the system colour scheme above decides
        }
      }, theme);
    }
    if (withoutApp) {
      // The loader gets a module that does nothing (a refused import would be a page
      // error); the wasm is never fetched.
      await context.route(/\/pkg\/[^/]+\.js(\?|$)/, (route) =>
        route.fulfill({
          contentType: 'text/javascript',
          body: 'export default async function init() {}\nexport function hydrate() {}\n',
        }),
      );
      await context.route(/\/pkg\/[^/]+\.wasm(\?|$)/, (route) => route.abort());
    }
    context.setDefaultTimeout(TIMEOUT_MS);
    context.setDefaultNavigationTimeout(TIMEOUT_MS);
    // The app never hydrates without its JavaScript: nothing to wait for.
    jsEnabledContexts.set(context, javaScriptEnabled && !withoutApp);
    return context;
  };
  const context = await newContext();
  return { browser, context, newContext, javaScriptEnabled, theme, close: () => browser.close() };
}

/**
 * With JavaScript on, wait until the app has hydrated, so that clicks go through Leptos
 * rather than racing it. The frontend marks this with `<html data-hydrated>`.
 */
export async function waitForHydration(page) {
  if (!jsEnabledContexts.get(page.context())) return;
  try {
    await page.waitForFunction(() => document.documentElement.dataset.hydrated !== undefined, null, {
      timeout: TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(
      `the page did not hydrate within ${TIMEOUT_MS / 1000}s (the frontend sets <html data-hydrated> ` +
        `after hydrate_body; check the browser console): ${err.message}`,
    );
  }
}

/** Open `pathOrUrl` and wait for it to be usable. */
export async function visit(page, baseUrl, pathOrUrl) {
  await page.goto(new URL(pathOrUrl, baseUrl).toString());
  await waitForHydration(page);
}

/** Sign in through the form and wait until we have left /login. */
export async function login(page, baseUrl, email, password = DEMO_PASSWORD) {
  await visit(page, baseUrl, '/login');
  await page.getByLabel('Email', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/login')),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  await waitForHydration(page);
}

/** A path as a URL matcher: `/portal` matches `/portal` and `/portal?x`, not `/portal/team`. */
export function atPath(pathname) {
  return (url) => url.pathname === pathname;
}

// ---------------------------------------------------------------------------------------
// Assertions and failure artifacts.

/** Poll `fn` until it returns something truthy (returned) or the timeout passes (throws). */
export async function eventually(fn, { timeout = TIMEOUT_MS, interval = 100, message = 'condition not met' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${message} within ${timeout / 1000}s${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(interval);
  }
}

/** Wait until the locator's text contains `expected`. */
export async function expectText(locator, expected, timeout = TIMEOUT_MS) {
  let seen = '';
  await eventually(
    async () => {
      seen = (await locator.first().innerText({ timeout: 1_000 })).replace(/\s+/g, ' ').trim();
      return seen.includes(expected);
    },
    { timeout, message: `expected text "${expected}"` },
  ).catch((err) => {
    throw new Error(`${err.message}; saw "${seen}"`);
  });
}

/** Save a full-page screenshot to end2end/.artifacts/ and return its path. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 120)}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}

/**
 * Run `body(page)` in a fresh browser context; on failure save a screenshot (and the
 * page's uncaught errors) before rethrowing. Uncaught page errors fail the test.
 */
export async function withPage(browser, name, body) {
  const context = await browser.newContext(); // the object launchBrowser() returns
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await body(page, context);
    if (pageErrors.length > 0) throw new Error(`uncaught errors in the page:\n${pageErrors.join('\n')}`);
  } catch (err) {
    const file = await screenshot(page, name);
    err.message += `\n  url: ${page.url()}\n  screenshot: ${path.relative(REPO_ROOT, file)}`;
    throw err;
  } finally {
    await context.close();
  }
}
