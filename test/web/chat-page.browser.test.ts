/**
 * The chat page in a real Chromium, against the real gateway and the local AI Search over
 * loopback sockets, with trusted documents enforced (so the page's operations must be the
 * codegen manifest's). Between the gateway and the upstream a recording proxy keeps the
 * request bodies, to check what a follow-up question carried.
 */

import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { type LocalAiSearch, startLocalAiSearch } from "../../src/local/server.ts";
import { type App, buildApp, type RunningGateway } from "../../src/server/app.ts";
import { startGateway, TEST_TOKEN } from "../helpers/gateway.ts";
import { parseSse, streamedText } from "../local/helpers.ts";
import { type Browser, browserAvailable, launchBrowser } from "./browser.ts";
import { type RecordingProxy, startDroppingProxy, startRecordingProxy } from "./proxies.ts";

const CORPUS = new URL("../../corpus/default/", import.meta.url);
const CHAT = "chat/completions";

/** The parts of an upstream chat completion body these tests read. */
interface UpstreamChat {
  ai_search_options: { instance_ids: string[] };
  messages: { role: string; content: string }[];
}

/** Item keys of an instance's corpus folder, as the local AI Search names them. */
function corpusKeys(instance: string): string[] {
  const dir = path.join(CORPUS.pathname, instance);
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(md|txt)$/.test(entry.name))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

const available = browserAvailable();

describe.skipIf(!available)("the chat page in Chromium", () => {
  let local: LocalAiSearch;
  let recorder: RecordingProxy;
  let app: App;
  let gateway: RunningGateway;
  let browser: Browser;

  beforeAll(async () => {
    // Paced deltas, so the answer visibly grows over several frames.
    local = await startLocalAiSearch({ apiToken: TEST_TOKEN, streamDelayMs: 40 });
    recorder = await startRecordingProxy(local.url);
    app = buildApp(
      loadConfig({
        NODE_ENV: "test",
        PORT: "0",
        CLOUDFLARE_API_BASE_URL: `${recorder.url}/client/v4`,
        CLOUDFLARE_ACCOUNT_ID: "test-account",
        CLOUDFLARE_API_TOKEN: TEST_TOKEN,
        LOG_LEVEL: "silent",
        CHAT_PAGE: "true",
        TRUSTED_DOCUMENTS: "enforce",
        // Long enough for the page to reconnect, short enough to see a stream given up.
        STREAM_RESUME_GRACE_MS: "1500",
      }),
    );
    gateway = await app.start();
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await recorder?.close();
    await local?.close();
  });

  /** A page that records console errors, CSP violations and every address it reaches. */
  async function openPage(origin: string) {
    const page = await browser.context.newPage();
    const consoleErrors: string[] = [];
    const addresses: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    page.on("request", (request) => addresses.push(request.url()));
    page.on("websocket", (socket) => addresses.push(socket.url()));
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.assign(window, { cspViolations: seen });
      document.addEventListener("securitypolicyviolation", (event) =>
        seen.push(`${event.violatedDirective} ${event.blockedURI}`),
      );
    });
    const response = await page.goto(`${origin}/`);
    await page.getByRole("checkbox", { name: "gateway-docs" }).waitFor();
    const violations = () =>
      page.evaluate(() => (window as { cspViolations?: string[] }).cspViolations);
    return { page, response, consoleErrors, addresses, violations };
  }

  const turn = (page: Page, index: number) => page.locator(".turn").nth(index);
  const ask = async (page: Page, question: string) => {
    const box = page.getByLabel("Your question");
    await box.fill(question);
    await box.press("Enter");
  };
  const finished = (page: Page, index: number, status = "done") =>
    page.locator(`.turn:nth-child(${index + 1})[data-status="${status}"]`).waitFor();
  const chatBodies = () =>
    recorder.exchanges
      .filter((exchange) => exchange.path.includes(CHAT))
      .map((exchange) => JSON.parse(exchange.body) as UpstreamChat);

  it("streams a cited answer, stops one, and carries the conversation into a follow-up", async () => {
    const { page, response, consoleErrors, addresses, violations } = await openPage(gateway.url);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

    // Keyboard order: namespace, each instance, then the question (Send waits for text).
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press("Tab");
      order.push(
        await page.evaluate(() => {
          const active = document.activeElement as HTMLInputElement;
          return active.id || active.value;
        }),
      );
    }
    expect(order).toEqual([
      "namespace",
      "gateway-docs",
      "ai-search-concepts",
      "frontend-recipes",
      "question",
    ]);

    await page.getByRole("checkbox", { name: "ai-search-concepts" }).uncheck();
    // Samples the answer's length on every animation frame.
    await page.evaluate(() => {
      const lengths: number[] = [];
      Object.assign(window, { answerLengths: lengths });
      const sample = () => {
        const answers = document.querySelectorAll(".answer-text");
        const length = answers[answers.length - 1]?.textContent?.length ?? 0;
        if (lengths.at(-1) !== length) lengths.push(length);
        requestAnimationFrame(sample);
      };
      requestAnimationFrame(sample);
    });
    const first = "How does the gateway stream answers?";
    await ask(page, first);
    await finished(page, 0);

    const lengths = await page.evaluate(
      () => (window as { answerLengths?: number[] }).answerLengths ?? [],
    );
    const growing = lengths.filter((length) => length > 0);
    expect(growing.length).toBeGreaterThanOrEqual(4);
    expect(growing).toEqual([...growing].sort((a, b) => a - b));

    const [upstreamAsk] = chatBodies();
    expect(upstreamAsk?.ai_search_options.instance_ids).toEqual([
      "gateway-docs",
      "frontend-recipes",
    ]);

    const selectedKeys = new Set([
      ...corpusKeys("gateway-docs"),
      ...corpusKeys("frontend-recipes"),
    ]);
    const cards = turn(page, 0).locator(".chunk");
    const keys = await cards.locator(".chunk-key").allTextContents();
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((key) => selectedKeys.has(key)).length).toBeGreaterThan(0);
    for (const instance of await cards.locator(".chunk-instance").allTextContents()) {
      expect(["gateway-docs", "frontend-recipes"]).toContain(instance);
    }
    await expect.poll(() => cards.locator(".chunk-snippet").first().textContent()).not.toBe("");
    // The answer's references link to the cards they cite.
    const reference = turn(page, 0).locator("a.reference").first();
    const target = (await reference.getAttribute("href"))!;
    expect(await page.locator(target).count()).toBe(1);
    await reference.click();
    expect(await page.evaluate(() => location.hash)).toBe(target);
    expect(selectedKeys.has((await page.locator(`${target} .chunk-key`).textContent()) ?? "")).toBe(
      true,
    );

    const screenshot = path.join(tmpdir(), `chat-page-answer-${process.pid}.png`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stdout.write(`chat page screenshot: ${screenshot}\n`);

    // Stop: the stream stalls after a few deltas, so it is surely still running.
    local.setFaults({ match: CHAT, stallMidStreamAfterDeltas: 3, times: 1 });
    await ask(page, "What happens when a stream is cancelled?");
    await page.waitForFunction(
      () =>
        (document.querySelectorAll(".turn")[1]?.querySelector(".answer-text")?.textContent ??
          "") !== "",
    );
    await page.getByRole("button", { name: "Stop" }).click();
    await finished(page, 1, "stopped");
    await local.waitForAbort(CHAT);
    expect(local.requests.filter((r) => r.aborted && r.path.includes(CHAT))).toHaveLength(1);
    await expect.poll(() => turn(page, 1).locator(".outcome").textContent()).toMatch(/^Stopped/);

    // The follow-up carries the first exchange (not the stopped one), as the upstream saw it.
    const followUp = "And how should a client show that answer?";
    await ask(page, followUp);
    await finished(page, 2);
    const firstAnswer = streamedText(
      parseSse(recorder.exchanges.find((e) => e.path.includes(CHAT))!.response),
    );
    expect(chatBodies()[2]?.messages).toEqual([
      { role: "user", content: first },
      { role: "assistant", content: firstAnswer },
      { role: "user", content: followUp },
    ]);

    expect(consoleErrors).toEqual([]);
    expect(await violations()).toEqual([]);
    const own = new URL(gateway.url);
    for (const address of addresses) expect(new URL(address).host, address).toBe(own.host);
    expect(addresses.some((address) => address.startsWith("ws://"))).toBe(true);

    // The policy is enforced, not only sent: an injected inline script does not run.
    const ran = await page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.inlineRan = true";
      document.head.append(script);
      return (window as { inlineRan?: boolean }).inlineRan ?? false;
    });
    expect(ran).toBe(false);
    await expect.poll(violations).toEqual([expect.stringMatching(/^script-src/)]);
    await page.close();
  }, 120_000);

  it("resumes an answer where it stopped when the connection drops, asking the upstream once", async () => {
    const target = new URL(gateway.url);
    const proxy = await startDroppingProxy({ host: target.hostname, port: Number(target.port) });
    try {
      const { page, consoleErrors } = await openPage(proxy.url);
      // Every status the first turn goes through, sampled on each frame.
      await page.evaluate(() => {
        const statuses: string[] = [];
        Object.assign(window, { turnStatuses: statuses });
        const sample = () => {
          const status = document.querySelector(".turn")?.getAttribute("data-status");
          if (status && statuses.at(-1) !== status) statuses.push(status);
          requestAnimationFrame(sample);
        };
        requestAnimationFrame(sample);
      });
      const completions = () => local.requests.filter((r) => r.path.includes(CHAT));
      const before = completions().length;
      await ask(page, "What is a namespace?");
      await page.waitForFunction(
        () => (document.querySelector(".turn .answer-text")?.textContent ?? "") !== "",
      );
      proxy.dropAll();
      await finished(page, 0);
      const statuses = () =>
        page.evaluate(() => (window as { turnStatuses?: string[] }).turnStatuses ?? []);
      // Sampled on the next frame, which a loaded machine may not have drawn yet.
      await expect.poll(async () => (await statuses()).at(-1)).toBe("done");
      expect(await statuses()).toContain("resuming");
      await expect
        .poll(() => turn(page, 0).locator(".outcome.resumed").textContent())
        .toMatch(/^Resumed after a lost connection/);
      // One completion for the question, run to its end: the resume asked the gateway's
      // buffer, not the upstream.
      const asked = completions().slice(before);
      expect(asked).toHaveLength(1);
      expect(asked[0]!.aborted).toBe(false);
      // The browser reports the dropped socket itself; nothing else went wrong.
      expect(consoleErrors.filter((line) => !/WebSocket/.test(line))).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  }, 90_000);

  it("says an answer was interrupted when the connection stays down past the grace period, and asks again", async () => {
    const target = new URL(gateway.url);
    const proxy = await startDroppingProxy({ host: target.hostname, port: Number(target.port) });
    try {
      const { page, consoleErrors } = await openPage(proxy.url);
      const aborts = local.requests.filter((r) => r.aborted).length;
      // The stream stalls, so it is still running (and then given up) while the page is away.
      local.setFaults({ match: CHAT, stallMidStreamAfterDeltas: 3, times: 1 });
      await ask(page, "What is a namespace?");
      await page.waitForFunction(
        () => (document.querySelector(".turn .answer-text")?.textContent ?? "") !== "",
      );
      proxy.refuse(true);
      proxy.dropAll();
      await finished(page, 0, "resuming");
      // Nobody resumed within the grace period: the gateway aborted the upstream request.
      await local.waitForAbort(CHAT);
      expect(local.requests.filter((r) => r.aborted).length).toBe(aborts + 1);
      proxy.refuse(false);
      await finished(page, 0, "interrupted");
      const alert = turn(page, 0).getByRole("alert");
      expect(await alert.textContent()).toMatch(/too long to resume.*The answer was interrupted/);

      await alert.getByRole("button", { name: "Ask again" }).click();
      await finished(page, 1);
      expect(await turn(page, 1).locator(".question p").textContent()).toBe("What is a namespace?");
      expect(consoleErrors.filter((line) => !/WebSocket/.test(line))).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  }, 90_000);

  it("asks for an API key when the gateway requires one, and uses it", async () => {
    const key = "chat-page-test-key-0123456789";
    const guarded = await startGateway(
      {},
      { CHAT_PAGE: "true", AUTH_REQUIRED: "true", AUTH_API_KEYS: key },
    );
    try {
      const page = await browser.context.newPage();
      await page.goto(`${guarded.gateway.url}/`);
      const alert = page.getByRole("alert");
      await expect.poll(() => alert.textContent()).toMatch(/needs a valid API key/);
      await page.getByLabel("API key for this gateway").fill(key);
      await page.getByRole("button", { name: "Connect" }).click();
      await page.getByRole("checkbox", { name: "gateway-docs" }).waitFor();
      await ask(page, "What is a namespace?");
      await finished(page, 0);
      await page.close();
    } finally {
      await guarded.close();
    }
  }, 60_000);

  it("fits a phone's width", async () => {
    const { page } = await openPage(gateway.url);
    await page.setViewportSize({ width: 390, height: 844 });
    await ask(page, "How do I set up urql?");
    await finished(page, 0);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    const screenshot = path.join(tmpdir(), `chat-page-phone-${process.pid}.png`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshot, fullPage: true });
    process.stdout.write(`chat page screenshot (phone): ${screenshot}\n`);
    await page.close();
  }, 60_000);
});
