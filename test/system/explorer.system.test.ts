// GraphiQL on the running supergraph (npm start), in Debian's Chromium with nothing but loopback:
// sign in as the development admin through the sign-in panel, run a query across blog and
// identity, and receive a postCreated event over graphql-ws. Any request for another host fails
// the test, so the explorer provably works offline.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type Page, type WebSocket } from 'playwright-core';
import { systemStack } from './stack.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN = { email: 'admin@example.com', password: 'dev-admin-change-me' };
const SCREENSHOT = fileURLToPath(new URL('../../docs/images/graphiql.png', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const stack = systemStack();
const shots = mkdtempSync(join(tmpdir(), 'platform-graphiql-'));
/** Every request the page made for a host other than loopback (each was aborted). */
const foreign: string[] = [];
/** Console errors (a CSP violation is one). */
const consoleErrors: string[] = [];
let browser: Browser;
let page: Page;

/** The text of one of GraphiQL's Monaco editors, by the model's file name. */
async function editorText(name: 'response' | 'request-headers' | 'operation'): Promise<string> {
  return page.evaluate((suffix) => {
    const monaco = (
      globalThis as unknown as {
        __MONACO?: { editor: { getModels(): Array<{ uri: { path: string }; getValue(): string }> } };
      }
    ).__MONACO;
    return (
      monaco?.editor
        .getModels()
        .find((model) => model.uri.path.includes(suffix))
        ?.getValue() ?? ''
    );
  }, name);
}

async function waitForEditor(
  name: 'response' | 'request-headers',
  predicate: (text: string) => boolean,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await editorText(name);
    if (predicate(text)) return text;
    await page.waitForTimeout(200);
  }
  throw new Error(`the ${name} editor never showed what was expected; it shows:\n${text}`);
}

/** A GraphiQL tab by its operation's name (the tab's own text also holds its close button's). */
const tab = (name: string) => page.getByRole('tab').filter({ has: page.getByText(name, { exact: true }) });

async function graphql<T>(query: string, variables: object = {}, token?: string): Promise<T> {
  const response = await fetch(`${stack.gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`GraphQL failed: ${JSON.stringify(body)}`);
  return body.data;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-domain-reliability',
      '--no-pings',
      // Nothing but loopback resolves, even for what bypasses the routes below.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname) || LOOPBACK.has(`[${url.hostname}]`)) return route.continue();
    foreign.push(url.href);
    return route.abort('internetdisconnected');
  });
  page = await context.newPage();
  page.on('websocket', (socket) => {
    const host = new URL(socket.url()).hostname;
    if (!LOOPBACK.has(host)) foreign.push(socket.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  rmSync(shots, { recursive: true, force: true });
});

describe('GraphiQL on /graphiql, offline', () => {
  it('loads with its editors and the README operations as tabs', async () => {
    const response = await page.goto(`${stack.gateway}/graphiql`);
    expect(response?.status()).toBe(200);
    await page.locator('.graphiql-container').waitFor();
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
    expect(await page.getByRole('tab').allTextContents()).toEqual(
      ['Posts', 'Login', 'Me', 'CreatePost', 'PostCreated', 'AuditEvents'].map((name) =>
        expect.stringMatching(`^${name}`),
      ),
    );
  });

  it('signs in as the development admin and puts the token into the request headers', async () => {
    await page.getByRole('button', { name: 'Show Sign in' }).click();
    await page.locator('form.platform-sign-in input[name=email]').fill(ADMIN.email);
    await page.locator('form.platform-sign-in input[name=password]').fill(ADMIN.password);
    await page.locator('form.platform-sign-in button[type=submit]').click();
    await expect(page.getByTestId('signed-in-as').textContent({ timeout: 20_000 })).resolves.toBe(ADMIN.email);
    const headers = await waitForEditor('request-headers', (text) => text.includes('Bearer '));
    expect(JSON.parse(headers)).toEqual({ Authorization: expect.stringMatching(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/) });
  });

  it('runs a query across blog and identity and shows posts with their authors', async () => {
    await tab('Posts').click();
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const text = await waitForEditor('response', (value) => value.includes('displayName'));
    const result = JSON.parse(text) as {
      data: { posts: { edges: Array<{ node: { title: string; author: { displayName: string } } }> } };
    };
    expect(result.data.posts.edges.length).toBeGreaterThan(0);
    for (const { node } of result.data.posts.edges) {
      expect(node.title).toEqual(expect.any(String));
      expect(node.author.displayName).toEqual(expect.any(String));
    }
    await page.screenshot({ path: join(shots, 'graphiql-query.png') });
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT });
    }
  });

  it('receives a postCreated event over graphql-ws with the signed-in token', async () => {
    await tab('PostCreated').click();
    // The tab opened after sign-in gets the token too.
    await waitForEditor('request-headers', (text) => text.includes('Bearer '));
    // GraphiQL reads the operation's type from the editor a moment after a tab switch (debounced):
    // run it until it goes over a socket, as a person clicking again would.
    let socket: WebSocket | undefined;
    for (let attempt = 0; attempt < 5 && !socket; attempt++) {
      const opened = page.waitForEvent('websocket', { timeout: 3_000 }).catch(() => undefined);
      await page.getByRole('button', { name: /^Execute query/ }).click();
      socket = await opened;
    }
    expect(socket?.url()).toBe(`${stack.gateway.replace(/^http/, 'ws')}/graphql`);
    await socket!.waitForEvent('framesent', {
      predicate: (frame) => String(frame.payload).includes('"subscribe"'),
      timeout: 20_000,
    });

    const { login } = await graphql<{ login: { accessToken: string } }>(
      'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
      ADMIN,
    );
    // The upstream subscription is being set up while the first post is written: post until one arrives.
    const titles: string[] = [];
    let text = '';
    for (let attempt = 0; attempt < 10 && !titles.some((title) => text.includes(title)); attempt++) {
      const title = `From the browser test ${Date.now()}`;
      titles.push(title);
      await graphql(
        'mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }',
        { input: { title, content: 'Seen live in GraphiQL.' } },
        login.accessToken,
      );
      text = await waitForEditor('response', (value) => titles.some((t) => value.includes(t)), 3_000).catch(() => '');
    }
    const event = JSON.parse(text) as { data: { postCreated: { title: string; author: { displayName: string } } } };
    expect(titles).toContain(event.data.postCreated.title);
    expect(event.data.postCreated.author.displayName).toEqual(expect.any(String));
    await page.screenshot({ path: join(shots, 'graphiql-subscription.png') });
  });

  it('asked nothing of any host but the gateway, and broke no content security rule', () => {
    expect(foreign).toEqual([]);
    expect(consoleErrors.filter((message) => /Content Security Policy|Refused to/i.test(message))).toEqual([]);
  });
});
