import { test, expect, signIn, waitForHydration, postLead } from "./fixtures/base";
import { TargetPage } from "./fixtures/target_page";

test("the table shows leads with their status and Almaty time", async ({ page, request }) => {
  const lead = await postLead(request);
  await signIn(page);
  const target = new TargetPage(page);
  const row = target.row(lead.name);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(lead.phone);
  await expect(row.locator(".status.pending")).toHaveCount(2);
  await expect(row).toContainText(/\d\d\.\d\d\.\d{4} \d\d:\d\d/);
  await expect(target.card("Всего лидов")).not.toHaveText("0");
});

test("a lead posted to the intake API appears without a reload", async ({ page, request }) => {
  await signIn(page);
  await waitForHydration(page);
  const target = new TargetPage(page);
  const totalBefore = await target.card("Всего лидов").innerText();
  // A marker on window survives only if the page is never reloaded.
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = "same page"));

  const lead = await postLead(request);
  await expect(target.row(lead.name)).toHaveCount(1);
  await expect(target.card("Всего лидов")).not.toHaveText(totalBefore);
  expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe("same page");
});

test("filters, the page and the scroll survive automatic refreshes", async ({ page, request }) => {
  await page.setViewportSize({ width: 1200, height: 500 });
  await signIn(page);
  await waitForHydration(page);
  const target = new TargetPage(page);

  await target.source.selectOption("proftest");
  await target.navigate(() => page.getByRole("button", { name: "Показать" }).click());
  await expect(page).toHaveURL(/source=proftest/);
  await target.navigate(() => page.getByRole("link", { name: "Старее →" }).click());
  await expect(page).toHaveURL(/before=\d+/);
  const url = page.url();
  // The older page has arrived.
  const before = Number(new URL(url).searchParams.get("before"));
  await expect.poll(async () => Number(await target.firstRowId())).toBeLessThan(before);
  const firstId = await target.firstRowId();
  await page.mouse.wheel(0, 600);
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(100);
  const scrolled = await page.evaluate(() => window.scrollY);

  await target.refreshes(request, 2);
  expect(page.url()).toBe(url);
  await expect(target.source).toHaveValue("proftest");
  expect(await target.firstRowId()).toBe(firstId);
  expect(await page.evaluate(() => window.scrollY)).toBe(scrolled);
  for (const source of await target.rows.locator("td:nth-child(3)").allInnerTexts()) {
    expect(source.split("\n")[0].trim()).toBe("proftest");
  }
});

test("searching by phone finds the lead", async ({ page, request }) => {
  const lead = await postLead(request, { phone: "8 (702) 000-98-76" });
  await signIn(page);
  await waitForHydration(page);
  const target = new TargetPage(page);
  await target.search.fill("87020009876");
  await page.getByRole("button", { name: "Показать" }).click();
  await expect(page).toHaveURL(/q=87020009876/);
  await expect(target.rows).toHaveCount(1);
  await expect(target.row(lead.name)).toHaveCount(1);
  await expect(target.card("Всего лидов")).toHaveText("1");
});

test("filtering by team and SMS status survives two refreshes, the counters following", async ({ page, request }) => {
  await signIn(page);
  await waitForHydration(page);
  const target = new TargetPage(page);
  const team = page.getByLabel("Команда");
  const sms = page.getByLabel("Статус SMS");
  await team.selectOption("Kenesary");
  await sms.selectOption("delivered");
  await target.navigate(() => page.getByRole("button", { name: "Показать" }).click());
  await expect(page).toHaveURL(/team=Kenesary/);
  await expect(page).toHaveURL(/sms_status=delivered/);
  await expect(target.rows.first()).toBeVisible();
  const url = page.url();

  await target.refreshes(request, 2);
  expect(page.url()).toBe(url);
  await expect(team).toHaveValue("Kenesary");
  await expect(sms).toHaveValue("delivered");
  for (const cell of await target.rows.locator("td.team").allInnerTexts()) {
    expect(cell.startsWith("Kenesary")).toBe(true);
  }
  const statuses = await target.rows.evaluateAll((rows) =>
    rows.map((row) => row.querySelectorAll(".status")[1]?.getAttribute("data-status")),
  );
  expect(new Set(statuses)).toEqual(new Set(["delivered"]));
  // Fewer than a page of them: the counter counts exactly the rows.
  const total = Number(await target.card("Всего лидов").innerText());
  expect(total).toBeLessThan(50);
  await expect(target.rows).toHaveCount(total);
});
