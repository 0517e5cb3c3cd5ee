import type { Page, APIRequestContext } from "@playwright/test";
import { test, expect, signIn, waitForHydration } from "./fixtures/base";

// The release build's budgets (sizes, not timings): the app's WASM gzipped, and everything
// the first load of /target transfers. Lower them to see the tests fail, e.g.
// FIRST_LOAD_BUDGET_KB=100 npx playwright test budget.
const WASM_BUDGET = Number(process.env.WASM_BUDGET_KB ?? 350) * 1024;
const FIRST_LOAD_BUDGET = Number(process.env.FIRST_LOAD_BUDGET_KB ?? 500) * 1024;

/** The path of an http(s) URL; anything else (a data: URL) shortened as it is. */
function pathOf(url: string): string {
  return url.startsWith("http") ? new URL(url).pathname : url.slice(0, 40);
}

/** Loads /target signed in with an empty cache; returns what each response transferred. */
async function firstLoadOfTarget(page: Page) {
  await signIn(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const urls = new Map<string, string>();
  const transferred = new Map<string, number>();
  cdp.on("Network.requestWillBeSent", (event) => urls.set(event.requestId, event.request.url));
  cdp.on("Network.loadingFinished", (event) => transferred.set(event.requestId, event.encodedDataLength));
  await page.goto("/target");
  await waitForHydration(page);
  await page.waitForLoadState("networkidle");
  const sizes = [...transferred].map(([id, bytes]) => ({ path: pathOf(urls.get(id) ?? id), bytes }));
  const total = sizes.reduce((sum, { bytes }) => sum + bytes, 0);
  const report = sizes.map(({ path, bytes }) => `${(bytes / 1024).toFixed(1)} KB ${path}`).join("\n");
  console.log(`first load of /target: ${(total / 1024).toFixed(1)} KB\n${report}`);
  return { sizes, total };
}

/** The gzipped size of the WASM the page loaded: the .gz the release build wrote beside it. */
async function gzippedWasm(request: APIRequestContext, sizes: { path: string }[]) {
  const wasm = sizes.find(({ path }) => path.endsWith(".wasm"));
  expect(wasm, "the page loads its WASM").toBeDefined();
  const gzipped = await request.get(`${wasm!.path}.gz`);
  expect(gzipped.status(), "the release build precompresses the WASM").toBe(200);
  const bytes = (await gzipped.body()).length;
  console.log(`WASM gzipped: ${(bytes / 1024).toFixed(1)} KB`);
  return { path: wasm!.path, bytes };
}

test("the first load of /target transfers at most 500 KB, its assets cached for a year", async ({ page, request }) => {
  const { sizes, total } = await firstLoadOfTarget(page);
  expect(total, "everything the first load of /target transferred").toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
  const html = sizes.find(({ path }) => path === "/target");
  expect(html!.bytes, "the page itself arrives compressed").toBeLessThan(40 * 1024);
  // Hashed names never change content: a new build is a new name.
  const wasm = await request.get(sizes.find(({ path }) => path.endsWith(".wasm"))!.path);
  expect(wasm.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
});

test("the app's WASM is at most 350 KB gzipped", async ({ page, request }) => {
  const { sizes } = await firstLoadOfTarget(page);
  const { bytes } = await gzippedWasm(request, sizes);
  expect(bytes, "the gzipped WASM").toBeLessThanOrEqual(WASM_BUDGET);
});
