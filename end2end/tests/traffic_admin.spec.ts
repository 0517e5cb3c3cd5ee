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
    await expect(page.getByRole("alert")).toContainText("#RRGGBB");

    await form.getByLabel("Цвет").fill("#123ABC");
    await form.getByLabel("Шаблоны UTM (через запятую)").fill("e2e_new_team");
    await form.getByRole("button", { name: "Создать команду" }).click();
    await expect(page.locator(".team-name", { hasText: name })).toBeVisible();
  });
});
