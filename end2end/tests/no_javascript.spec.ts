import { test, expect, ADMIN } from "./fixtures/base";

test.use({ javaScriptEnabled: false });

test("sign-in and the leads page work without JavaScript", async ({ page }) => {
  await page.goto("/target");
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Логин").fill(ADMIN.login);
  await page.getByLabel("Пароль").fill(ADMIN.password);
  await page.getByRole("button", { name: "Войти" }).click();
  await page.waitForURL("**/target");

  await expect(page.getByRole("heading", { name: "Лиды" })).toBeVisible();
  await expect(page.getByRole("group", { name: "Всего лидов" })).toBeVisible();
  await expect(page.locator("table.leads tbody tr").first()).toBeVisible();

  // The filter form is a plain GET form.
  await page.getByLabel("Источник").selectOption("express");
  await page.getByRole("button", { name: "Показать" }).click();
  await expect(page).toHaveURL(/source=express/);
  for (const source of await page.locator("table.leads tbody tr td:nth-child(3)").allInnerTexts()) {
    expect(source.split("\n")[0].trim()).toBe("express");
  }
});
