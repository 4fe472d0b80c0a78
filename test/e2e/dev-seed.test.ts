/**
 * `npm run dev:worker`'s seeding of a base whose domain adapters are not bundled (tools/dev-seed.ts):
 * against the bundled Worker in workerd with an empty local R2/D1, the domain folders go in through
 * the admin API as `lora-edge push --domain` would, `auto` then routes to them, and a second run on
 * the now non-empty registry changes nothing. The demo's adapter folder stands in for SmolLM2's
 * (same layout; the SmolLM2 package is not built in this suite).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedOverHttp } from "../../tools/dev-seed.ts";
import { startBundledWorker, type BundledWorker } from "../support/bundled-worker.ts";

const TOKEN = "e2e-token";
let worker: BundledWorker;
const io = () => {
  const out: string[] = [];
  return { out, io: { env: {}, stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) }, fetch } };
};
const admin = async (path: string) => (await (await fetch(new URL(path, worker.url), { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { data: Array<Record<string, unknown>> };

beforeAll(async () => {
  worker = await startBundledWorker({ vars: { ADMIN_TOKEN: TOKEN } });
}, 300_000);

afterAll(async () => {
  await worker?.dispose();
});

describe("seedOverHttp (npm run dev:worker on a base with unbundled adapters)", () => {
  it("pushes each domain's folder into an empty registry and maps the domain to it; auto routes there", async () => {
    const url = worker.url.toString().replace(/\/$/, "");
    expect((await admin("/v1/adapters")).data).toEqual([]);
    const { io: cli } = io();
    expect(await seedOverHttp(url, TOKEN, "models/demo-adapters", cli)).toEqual(["sales", "support", "technical"]);
    expect((await admin("/v1/adapters")).data.map((a) => a["id"]).sort()).toEqual(["sales-demo@1", "support-demo@1", "technical-demo@1"]);
    expect((await admin("/v1/domains")).data.map((d) => [d["domain"], d["adapter"], d["version"]]).sort()).toEqual([
      ["sales", "sales-demo", 1],
      ["support", "support-demo", 1],
      ["technical", "technical-demo", 1],
    ]);
    const chat = await fetch(new URL("/v1/chat/completions", worker.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "auto", max_tokens: 2, messages: [{ role: "user", content: "How much does the Pulse plan cost per seat?" }] }),
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get("x-lora-adapter")).toBe("sales-demo@1");
  }, 120_000);

  it("leaves a registry that already holds adapters as it is", async () => {
    const before = await admin("/v1/adapters");
    const { io: cli } = io();
    expect(await seedOverHttp(worker.url.toString().replace(/\/$/, ""), TOKEN, "models/demo-adapters", cli)).toBeUndefined();
    expect(await admin("/v1/adapters")).toEqual(before);
  });
});
