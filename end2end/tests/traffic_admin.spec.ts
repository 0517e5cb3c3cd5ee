import { test, expect, signIn, waitForHydration, postLead } from "./fixtures/base";

test("an admin maps an unattributed campaign to a team and its leads follow", async ({ page, request }) => {
  const campaign = `e2e_campaign_${Date.now()}`;
  await postLead(request, { utm_source: "e2e_source", utm_campaign: campaign });
  await signIn(page);
  await page.goto("/traffic/admin");
  await waitForHydration(page);

  const integrations = page.getByRole("region", { name: "Интеграции" });
  await expect(integrations.locator('tr[data-row="resend"]')).toContainText("тестовый режим");
  await expect(integrations.locator('tr[data-row="mobizon"]')).toContainText("Mobizon (SMS)");
  const attribution = page.getByRole("region", { name: "Атрибуция" });
  await expect(attribution).toContainText(campaign);
  const muha = page.locator("table.teams tr", { has: page.locator(".team-name", { hasText: /^Muha$/ }) });
  await muha.getByText("Изменить").click();
  const patterns = muha.getByLabel("Шаблоны UTM (через запятую)");
  await patterns.fill(`${await patterns.inputValue()}, ${campaign.toUpperCase()}`);
  await muha.getByRole("button", { name: "Сохранить" }).click();

  // Patterns are kept in lower case; the leads are re-attributed in the background.
  await expect(muha.locator(".patterns")).toContainText(campaign);
  await expect
    .poll(async () => {
      await page.reload();
      return attribution.innerText();
    })
    .not.toContain(campaign);
});

test.describe("the team constructor", () => {
  // The refused colour is a 422 from the server function, which the browser logs.
  test.use({ expectedConsoleErrors: [/status of 422/] });

  test("a new team needs a valid colour and then appears in the list", async ({ page }) => {
    await signIn(page);
    await page.goto("/traffic/admin");
    await waitForHydration(page);
    const name = `E2E Team ${Date.now()}`;
    const form = page.locator("details.team-new");
    await form.getByText("Новая команда").click();
    await form.getByLabel("Название").fill(name);
    await form.getByLabel("Цвет").fill("green");
    await form.getByRole("button", { name: "Создать команду" }).click();
    // Other alerts may be on the page (a paused integration): the form's own one counts.
    await expect(page.locator(".form-error[role=alert]")).toContainText("#RRGGBB");

    await form.getByLabel("Цвет").fill("#123ABC");
    await form.getByLabel("Шаблоны UTM (через запятую)").fill("e2e_new_team");
    await form.getByRole("button", { name: "Создать команду" }).click();
    await expect(page.locator(".team-name", { hasText: name })).toBeVisible();
  });
});

test("the sales chart has a bar per period of the table, stacked by team", async ({ page }) => {
  await signIn(page);
  await page.goto("/traffic/admin?range=7d&by=day");
  await waitForHydration(page);
  const periods = await page
    .getByRole("region", { name: "Продажи по периодам" })
    .locator("tbody tr td:first-child")
    .allInnerTexts();
  const chart = page.getByRole("img", { name: "Выручка и продажи по командам" });
  await expect(chart.locator("g.period")).toHaveCount(new Set(periods).size);
  // Oldest on the left: the chart's first bar is the table's last period.
  await expect(chart.locator("g.period").first()).toHaveAttribute("data-period", periods[periods.length - 1]);
  const segments = await chart.locator("rect title").allInnerTexts();
  expect(segments.length).toBe(periods.length);

  // Grouping by month keeps the chart in step.
  await page.getByRole("navigation", { name: "Группировка" }).getByRole("link", { name: "по месяцам" }).click();
  await expect(page).toHaveURL(/by=month/);
  const monthCells = page.getByRole("region", { name: "Продажи по периодам" }).locator("tbody tr td:first-child");
  // The days stay on screen until the months arrive.
  await expect(monthCells.first()).not.toHaveText(/^\d\d\.\d\d\.\d{4}$/);
  const months = await monthCells.allInnerTexts();
  await expect(chart.locator("g.period")).toHaveCount(new Set(months).size);
});

test("the recent sales say where each sale's news went: Telegram and Meta", async ({ page }) => {
  await signIn(page);
  await page.goto("/traffic/admin?range=7d");
  await waitForHydration(page);
  const recent = page.getByRole("region", { name: "Последние продажи" });
  await expect(recent.locator("thead th")).toHaveText(["Дата", "Клиент", "Продукт", "Сумма, ₸", "Команда", "Telegram", "Meta"]);
  await expect(recent.locator("tbody tr").first()).toBeVisible();
  // Without FB_PIXEL_ID and FB_CAPI_TOKEN nothing goes to Meta: every sale says so.
  for (const cell of await recent.locator("tbody tr td:nth-child(7)").allInnerTexts()) {
    expect(cell.trim()).toBe("—");
  }
});
