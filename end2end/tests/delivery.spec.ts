import { createHash, createHmac } from "node:crypto";
import type { APIRequestContext } from "@playwright/test";
import { test, expect, signIn, waitForHydration, postLead } from "./fixtures/base";
import { TargetPage } from "./fixtures/target_page";

// The secrets start-server.sh gives the server.
const RESEND_SECRET = "whsec_ZTJlLXJlc2VuZC13ZWJob29rLXNlY3JldA==";
const MOBIZON_SECRET = "e2e-mobizon-secret";

/** Posts a Resend event about the lead's email, signed with Svix as Resend does. */
async function resendEvent(request: APIRequestContext, leadId: number, type: string, eventId: string) {
  const body = JSON.stringify({
    type,
    created_at: new Date().toISOString(),
    data: { email_id: `e2e-${leadId}`, to: ["someone@example.com"], subject: "Тест пройден. Получить продукт",
            tags: [{ name: "lead_id", value: String(leadId) }] },
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const key = Buffer.from(RESEND_SECRET.replace("whsec_", ""), "base64");
  const signature = createHmac("sha256", key).update(`${eventId}.${timestamp}.${body}`).digest("base64");
  const response = await request.post("/webhooks/resend", {
    headers: { "svix-id": eventId, "svix-timestamp": String(timestamp), "svix-signature": `v1,${signature}`,
               "content-type": "application/json" },
    data: body,
  });
  expect(response.status()).toBe(200);
}

/** Posts Mobizon's delivery report for the lead's SMS, signed as Mobizon does. */
async function mobizonReport(request: APIRequestContext, messageId: string, eventId: number, phone: string) {
  const created = "2026-11-22 10:00:00";
  const sign = createHash("sha1").update(`${eventId}|1|${created}|${MOBIZON_SECRET}`).digest("hex");
  const response = await request.post("/webhooks/mobizon", {
    data: { eventId, eventType: "sms-delivery-report", eventCreateTs: created, webhookId: 1, attempt: 1, sign,
            data: { campaignId: 1, messageId, segNum: 1, statusUpdateTs: created, status: "DELIVRD", to: phone.replace("+", "") } },
  });
  expect(response.status()).toBe(200);
}

test("status icons and their history change on an open page as the providers report delivery", async ({ page, request }) => {
  const lead = await postLead(request);
  await signIn(page);
  await waitForHydration(page);
  const target = new TargetPage(page);
  const row = target.row(lead.name);
  await expect(page.getByText("тестовый режим")).toBeVisible();
  await expect(row.locator(".status.pending")).toHaveCount(2);

  // Send both now (the test server has no provider keys: they go to the outbox).
  await row.getByRole("button", { name: "Отправить email снова" }).click();
  await row.getByRole("button", { name: "Отправить SMS снова" }).click();
  await expect(row.locator('.status[data-status="sent"]')).toHaveCount(2);

  const status = await (await request.get(`/api/landing/leads/${lead.id}/status?token=${lead.statusToken}`)).json();
  await resendEvent(request, lead.id, "email.delivered", `msg_${lead.id}_1`);
  await resendEvent(request, lead.id, "email.opened", `msg_${lead.id}_2`);
  await mobizonReport(request, status.sms.messageId, lead.id, lead.phone);

  const email = row.locator(".status").first();
  const sms = row.locator(".status").nth(1);
  await expect(email).toHaveAttribute("data-status", "opened");
  await expect(email).toHaveText("✓");
  // The tooltip gives the status, its time and the whole history with times.
  const at = "\\d\\d\\.\\d\\d\\.\\d{4} \\d\\d:\\d\\d";
  await expect(email).toHaveAttribute(
    "title",
    new RegExp(`^Открыто · ${at} · история: Отправлено ${at} → Доставлено ${at} → Открыто ${at}$`),
  );
  await expect(sms).toHaveAttribute("data-status", "delivered");
  await expect(sms).toHaveAttribute("title", new RegExp(`история: Отправлено ${at} → Доставлено ${at}$`));
  await expect(sms).toHaveText("✓");
  await expect(target.card("SMS доставлено")).not.toHaveText("0");
});
