import { readFileSync } from "node:fs";
import { test, expect, waitForHydration, ADMIN } from "./fixtures/base";

/** `next` values that must never send the browser off the site (shared with the API test). */
const HOSTILE_NEXT: string[] = JSON.parse(readFileSync(`${__dirname}/fixtures/hostile_next.json`, "utf8"));

for (const javaScriptEnabled of [true, false]) {
  test.describe(javaScriptEnabled ? "with JavaScript" : "without JavaScript", () => {
    test.use({ javaScriptEnabled });

    test("a hostile next never leaves the site after signing in", async ({ page, baseURL }) => {
      const origin = new URL(baseURL!).origin;
      for (const next of HOSTILE_NEXT) {
        await page.goto(`/login?next=${encodeURIComponent(next)}`);
        if (javaScriptEnabled) {
          await waitForHydration(page);
        }
        await page.getByLabel("Логин").fill(ADMIN.login);
        await page.getByLabel("Пароль").fill(ADMIN.password);
        await page.getByRole("button", { name: "Войти" }).click();
        await page.waitForURL((url) => url.pathname === "/target");
        expect(new URL(page.url()).origin, JSON.stringify(next)).toBe(origin);
      }
      // A local path is still followed.
      await page.goto(`/login?next=${encodeURIComponent("/traffic/admin")}`);
      if (javaScriptEnabled) {
        await waitForHydration(page);
      }
      await page.getByLabel("Логин").fill(ADMIN.login);
      await page.getByLabel("Пароль").fill(ADMIN.password);
      await page.getByRole("button", { name: "Войти" }).click();
      await page.waitForURL((url) => url.pathname === "/traffic/admin");
    });
  });
}
