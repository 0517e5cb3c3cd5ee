import { test, expect, signIn, waitForHydration, ADMIN, BUYER } from "./fixtures/base";

test.describe("a wrong password", () => {
  // The refused sign-in answers 401, which the browser logs.
  test.use({ expectedConsoleErrors: [/status of 401/] });

  test("is refused, then the right one opens the dashboard", async ({ page }) => {
    await page.goto("/target");
    await expect(page).toHaveURL(/\/login\?next=\/target$/);
    await waitForHydration(page);

    await page.getByLabel("Логин").fill(ADMIN.login);
    await page.getByLabel("Пароль").fill("wrong-password");
    await page.getByRole("button", { name: "Войти" }).click();
    await expect(page.getByRole("alert")).toHaveText("Неверный логин или пароль");

    await page.getByLabel("Пароль").fill(ADMIN.password);
    await page.getByRole("button", { name: "Войти" }).click();
    await page.waitForURL("**/target");
    await expect(page.getByRole("heading", { name: "Лиды" })).toBeVisible();
    await expect(page.getByText(ADMIN.login)).toBeVisible();
  });
});

test("signing out ends the session", async ({ page }) => {
  await signIn(page);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Выйти" }).click();
  await page.waitForURL("**/login");
  await page.goto("/target");
  await expect(page).toHaveURL(/\/login/);
});

test.describe("a targetologist", () => {
  // The server refuses the page's data with 403, which the browser logs.
  test.use({ expectedConsoleErrors: [/status of 403/] });

  test("is refused the admin leads page", async ({ page }) => {
    await signIn(page, BUYER);
    await expect(page.getByText("Недостаточно прав для этой страницы.").first()).toBeVisible();
    await expect(page.locator("table.leads")).toHaveCount(0);
  });
});
