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
  await page.getByRole("region", { name: "По дням" }).getByRole("link", { name: "Скачать CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^voronka-Kenesary-.*\.csv$/);
  const text = (await readFile(await download.path())).toString("utf8");
  const lines = text.replace(/^\uFEFF/, "").trim().split("\r\n");
  expect(lines[0]).toBe("Дата;Расход, ₸;Клики;Лиды ProfTest;Express;Флагман;Выручка, ₸");
  const dates = lines.slice(1).map((line) => line.split(";")[0].split("-").reverse().join("."));
  expect(dates).toEqual(shown);
});

test("the ads table expands from a campaign to its ads, sorts, and its CSV matches the table", async ({ page }) => {
  await signIn(page);
  await page.goto("/traffic/cabinet/Kenesary?range=7d");
  await waitForHydration(page);
  const ads = page.getByRole("region", { name: "Объявления" });
  const rows = ads.locator("tbody tr");
  await expect(rows.first()).toHaveClass(/level-campaign/);
  const campaigns = await rows.count();

  await rows.first().getByRole("button", { name: /^Раскрыть/ }).click();
  await expect(rows.nth(1)).toHaveClass(/level-adset/);
  await rows.nth(1).getByRole("button", { name: /^Раскрыть/ }).click();
  await expect(rows.nth(2)).toHaveClass(/level-ad/);
  expect(await rows.count()).toBeGreaterThan(campaigns + 1);

  // Sorting by leads puts the campaign with the most first (ad sets stay under theirs).
  await ads.getByRole("button", { name: "Лиды" }).click();
  const leads = await ads.locator("tbody tr.level-campaign td:nth-of-type(5)").allInnerTexts();
  const counts = leads.map((text) => Number(text.replace(/\s/g, "")));
  expect(counts).toEqual([...counts].sort((a, b) => b - a));

  const shown = (await rows.locator("th").allInnerTexts()).map((name) => name.replace(/^[▸▾]\s*/, "").trim());
  const downloading = page.waitForEvent("download");
  await ads.getByRole("link", { name: "Скачать CSV" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^obyavleniya-.*\.csv$/);
  const lines = (await readFile(await download.path())).toString("utf8").replace(/^\uFEFF/, "").trim().split("\r\n");
  expect(lines[0].split(";").slice(0, 3)).toEqual(["Уровень", "Кампания / группа / объявление", "Расход, ₸"]);
  expect(lines.slice(1).map((line) => line.split(";")[1].replace(/^"|"$/g, ""))).toEqual(shown);
});
