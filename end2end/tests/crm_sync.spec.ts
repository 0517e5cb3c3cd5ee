import http from "node:http";
import { test, expect, signIn, waitForHydration, postLead } from "./fixtures/base";

/** An AmoCRM stand-in on the port start-server.sh points AMOCRM_BASE_URL at: two recent
 *  deals, one of them of a contact with the lead's email. */
function fakeAmoCrm(email: string, dealId: number) {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://fake");
    const json = (body: unknown) => {
      response.writeHead(200, { "content-type": "application/hal+json" });
      response.end(JSON.stringify(body));
    };
    if (request.method === "GET" && url.pathname === "/api/v4/leads" && url.searchParams.get("page") === "1") {
      return json({
        _page: 1,
        _links: {},
        _embedded: {
          leads: [
            { id: dealId, pipeline_id: 10350882, status_id: 81856842, _embedded: { contacts: [{ id: 1 }] } },
            { id: dealId + 1, pipeline_id: 10350882, status_id: 81856842, _embedded: { contacts: [{ id: 2 }] } },
          ],
        },
      });
    }
    if (request.method === "GET" && url.pathname === "/api/v4/contacts" && url.searchParams.has("filter[id][]")) {
      const contact = (id: number, address: string) => ({
        id,
        custom_fields_values: [{ field_code: "EMAIL", values: [{ value: address, enum_code: "WORK" }] }],
      });
      return json({ _embedded: { contacts: [contact(1, email), contact(2, "nobody@example.com")] } });
    }
    // Anything else (the lead pushes): AmoCRM's "nothing".
    response.writeHead(204);
    response.end();
  });
}

test("the first visit syncs with AmoCRM and the button shows what it found", async ({ page, request }) => {
  const dealId = 55_500_000 + (Date.now() % 100_000);
  const email = `e2e.sync.${Date.now()}@example.com`;
  const synced = await postLead(request, { email });
  const fake = fakeAmoCrm(email, dealId);
  await new Promise<void>((resolve) => fake.listen(Number(process.env.E2E_AMOCRM_PORT ?? 3199), "127.0.0.1", resolve));
  try {
    // Signing in opens /target: the session's first visit syncs by itself.
    await signIn(page);
    await waitForHydration(page);
    await expect(page.locator(`tr[data-lead-id="${synced.id}"]`)).toContainText(String(dealId));

    await page.getByRole("button", { name: "Синхронизировать с AmoCRM" }).click();
    const outcome = page.getByRole("status").filter({ hasText: "Получено сделок" });
    await expect(outcome).toHaveText(
      /^Получено сделок: 2, сопоставлено: 1, обновлено: 0, не найдено у нас: 1, новых продаж: 0; наших лидов нет в AmoCRM: \d+$/,
    );
    // The other direction links to exactly those leads.
    const missing = outcome.getByRole("link", { name: /наших лидов нет в AmoCRM/ });
    const count = Number((await missing.innerText()).replace(/\D/g, ""));
    await missing.click();
    await expect(page).toHaveURL(/crm=unlinked/);
    await expect(page).toHaveURL(/from=\d{4}-\d\d-\d\d/);
    await expect(page.getByRole("group", { name: "Всего лидов" }).locator(".stat-value")).toHaveText(String(count));
    await expect(page.locator(`tr[data-lead-id="${synced.id}"]`)).toHaveCount(0);
  } finally {
    fake.close();
  }
});
