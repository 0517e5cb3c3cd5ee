import { readFile } from "node:fs/promises";
import { test, expect, signIn, waitForHydration, BUYER } from "./fixtures/base";
import type { Page } from "@playwright/test";

/** The count on a stage card, e.g. "Лиды ProfTest". */
function stageCount(page: Page, stage: string) {
  return page.getByRole("group", { name: stage }).getByTestId("stage-count");
}

test.describe("a targetologist", () => {
  // Opening another team's cabinet is answered 403, which the browser logs.
  test.use({ expectedConsoleErrors: [/status of 403/] });

  test("sees only their own team's funnel", async ({ page }) => {
    await signIn(page, BUYER, "/traffic/cabinet");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Воронка · 👑 Kenesary");
    await expect(stageCount(page, "Лиды ProfTest")).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Команды" })).toHaveCount(0);
    await expect(page.getByRole("navigation", { name: "Разделы" })).toHaveText("Моя воронка");

    const other = await page.goto("/traffic/cabinet/Arystan");
    expect(other?.status()).toBe(403);
    await expect(page.getByRole("alert")).toContainText("Недостаточно прав");
    await expect(page.getByRole("group", { name: "Лиды ProfTest" })).toHaveCount(0);
  });
});

test("an admin switches teams and presets and the numbers follow", async ({ page }) => {
  await signIn(page);
  await page.goto("/traffic/cabinet/all?range=30d");
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Воронка · Все команды");
  const allLeads = await stageCount(page, "Лиды ProfTest").innerText();
  const allClicks = await stageCount(page, "Расход на рекламу").innerText();

  await page.getByRole("navigation", { name: "Команды" }).getByRole("link", { name: "👑 Kenesary" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Воронка · 👑 Kenesary");
  await expect(page).toHaveURL(/\/traffic\/cabinet\/Kenesary\?range=30d$/);
  await expect(stageCount(page, "Лиды ProfTest")).not.toHaveText(allLeads);
  await expect(stageCount(page, "Расход на рекламу")).not.toHaveText(allClicks);

  const monthClicks = await stageCount(page, "Расход на рекламу").innerText();
  await page.getByRole("navigation", { name: "Период" }).getByRole("link", { name: "Сегодня" }).click();
  await expect(page).toHaveURL(/range=today$/);
  await expect(page.getByRole("link", { name: "Сегодня" })).toHaveAttribute("aria-current", "true");
  await expect(stageCount(page, "Расход на рекламу")).not.toHaveText(monthClicks);
  await expect(page.getByRole("region", { name: "По дням" }).locator("tbody tr")).toHaveCount(1);
});

test("CSV export downloads the rows shown", async ({ page }) => {
  await signIn(page);
  await page.goto("/traffic/cabinet/Kenesary?range=7d");
  await waitForHydration(page);
  const shown = await page.getByRole("region", { name: "По дням" }).locator("tbody tr td:first-child").allInnerTexts();
  expect(shown).toHaveLength(7);

  const downloading = page.waitForEvent("download");
  await page.getByRole("link", { name: "Скачать CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^voronka-Kenesary-.*\.csv$/);
  const text = (await readFile(await download.path())).toString("utf8");
  const lines = text.replace(/^\uFEFF/, "").trim().split("\r\n");
  expect(lines[0]).toBe("Дата;Расход, ₸;Клики;Лиды ProfTest;Express;Флагман;Выручка, ₸");
  const dates = lines.slice(1).map((line) => line.split(";")[0].split("-").reverse().join("."));
  expect(dates).toEqual(shown);
});
