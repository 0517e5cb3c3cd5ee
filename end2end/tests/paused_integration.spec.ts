import http from "node:http";
import { test, expect, signIn, waitForHydration, postLead, ADMIN } from "./fixtures/base";

/** An AmoCRM stand-in on the port start-server.sh points AMOCRM_BASE_URL at: it answers 403
 *  to everything (a blocked account) until `access.open`, then takes our token again. */
function amoCrm(access: { open: boolean }) {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://fake");
    if (!access.open) {
      response.writeHead(403, { "content-type": "application/problem+json" });
      response.end(JSON.stringify({ title: "Forbidden", type: "https://httpstatus.es/403", status: 403, detail: "Access denied" }));
      return;
    }
    if (url.pathname === "/api/v4/account") {
      response.writeHead(200, { "content-type": "application/hal+json" });
      response.end(JSON.stringify({ id: 30739638, name: "Academy", subdomain: "academy" }));
      return;
    }
    response.writeHead(204);
    response.end();
  });
}

test("AmoCRM refusing us pauses its pushes, and «Проверить сейчас» resumes it once it lets us in", async ({ page, request }) => {
  const access = { open: false };
  const fake = amoCrm(access);
  await new Promise<void>((resolve) => fake.listen(Number(process.env.E2E_AMOCRM_PORT ?? 3199), "127.0.0.1", resolve));
  try {
    // The lead's push is refused: AmoCRM pauses instead of failing the push.
    await postLead(request);
    await signIn(page, ADMIN, "/traffic/admin");
    const paused = page.getByRole("alert").filter({ hasText: "AmoCRM (сделки) приостановлена" });
    await expect
      .poll(async () => {
        await page.reload();
        return paused.count();
      })
      .toBe(1);
    await waitForHydration(page);
    await expect(paused).toContainText("403");
    await expect(paused).toContainText("Следующая проверка");
    const row = page.getByRole("region", { name: "Интеграции" }).locator('tr[data-row="amocrm"]');
    await expect(row).toContainText("приостановлена");

    access.open = true;
    await paused.getByRole("button", { name: "Проверить сейчас" }).click();
    await expect(page.getByRole("status").filter({ hasText: "проверка пройдена" })).toBeVisible();
    await expect(paused).toHaveCount(0);
    await expect(row).not.toContainText("приостановлена");
  } finally {
    fake.close();
  }
});
