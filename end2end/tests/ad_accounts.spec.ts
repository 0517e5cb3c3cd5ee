import { test, expect, signIn, waitForHydration } from "./fixtures/base";
import type { Page } from "@playwright/test";

async function spendOf(page: Page, team: string) {
  await page.goto(`/traffic/cabinet/${team}?range=7d`);
  await waitForHydration(page);
  return page.getByRole("group", { name: "Расход на рекламу" }).getByTestId("stage-money").innerText();
}

test("assigning an ad account to a team moves its spend into that team's funnel", async ({ page }) => {
  await signIn(page);
  const before = await spendOf(page, "Arystan");

  await page.goto("/traffic/admin");
  await waitForHydration(page);
  const accounts = page.getByRole("region", { name: "Рекламные кабинеты" });
  const shared = accounts.locator('tr[data-row="act_demo_shared"]');
  await expect(shared).toContainText("Демо-кабинет общий");
  await shared.getByLabel("Команда кабинета Демо-кабинет общий").selectOption({ label: "🦁 Arystan" });
  const saved = page.waitForResponse((response) => response.url().includes("/api/traffic/ad_account"));
  await shared.getByRole("button", { name: "Сохранить" }).click();
  expect((await saved).status()).toBe(200);

  await expect.poll(() => spendOf(page, "Arystan")).not.toBe(before);
});
