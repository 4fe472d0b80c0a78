/**
 * A request that names no sampling gets the package's: generation_config.json's `temperature`,
 * `top_p`, `top_k` (`do_sample: false` = greedy), as vLLM's OpenAI server applies a model's
 * generation config; what the request names wins. The tiny Q4 checkpoint in three packages that
 * differ only in generation_config.json, each behind the Node host's app (its HTTP surface, in
 * process): a reply is compared with the plain package's reply to explicit settings, same seed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModelPackage } from "../../src/builder/package.ts";
import { createApp } from "../../src/app.ts";
import { openNodeHost, type NodeHost } from "../../src/node/host.ts";
import { readLimits } from "../../src/pipeline/limits.ts";
import { nodeBackend } from "../../src/runtime/node-backend.ts";
import { q4Checkpoint, q4Package } from "../support/q4-model.ts";

const dir = mkdtempSync(join(tmpdir(), "lora-edge-sampling-defaults-"));
const hosts: NodeHost[] = [];
const apps: Record<string, ReturnType<typeof createApp>> = {};

beforeAll(async () => {
  const ckpt = q4Checkpoint();
  const packages = {
    plain: q4Package(ckpt, "fp32"),
    greedy: q4Package(ckpt, "fp32", { generation: { do_sample: false } }),
    card: q4Package(ckpt, "fp32", { generation: { do_sample: true, temperature: 0.2, top_p: 0.9 } }),
  };
  for (const [name, { files }] of Object.entries(packages)) {
    writeModelPackage(join(dir, name), files);
    const host = await openNodeHost({ modelDir: join(dir, name), dbPath: join(dir, `${name}.sqlite`), blobDir: join(dir, `${name}-blobs`), backend: nodeBackend({ threads: 1 }), limits: readLimits({}), batching: false });
    hosts.push(host);
    apps[name] = createApp(host.deps());
  }
}, 120_000);

afterAll(() => {
  for (const host of hosts) host.close();
  rmSync(dir, { recursive: true, force: true });
});

async function reply(app: string, sampling: Record<string, unknown>): Promise<string> {
  const body = { model: "base", messages: [{ role: "user", content: "Where is my order?" }], max_tokens: 16, seed: 7, ...sampling };
  const res = await apps[app]!.fetch(new Request("http://host/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { choices: [{ message: { content: string } }] }).choices[0].message.content;
}

describe("sampling a request leaves out comes from generation_config.json", () => {
  it("without sampling fields in the file, the API's defaults (temperature 1) apply", async () => {
    const atOne = await reply("plain", { temperature: 1 });
    expect(await reply("plain", {})).toBe(atOne);
    expect(atOne).not.toBe(await reply("plain", { temperature: 0 })); // the checks below can tell sampling from greedy
  });

  it("do_sample: false makes a request without temperature greedy; a temperature in the request still samples", async () => {
    expect(await reply("greedy", {})).toBe(await reply("plain", { temperature: 0 }));
    expect(await reply("greedy", { temperature: 1 })).toBe(await reply("plain", { temperature: 1 }));
  });

  it("temperature and top_p from the file; each field the request names wins on its own", async () => {
    const card = await reply("card", {});
    expect(card).toBe(await reply("plain", { temperature: 0.2, top_p: 0.9 }));
    expect(card).not.toBe(await reply("plain", {}));
    expect(await reply("card", { temperature: 1 })).toBe(await reply("plain", { temperature: 1, top_p: 0.9 }));
    expect(await reply("card", { top_p: 1 })).toBe(await reply("plain", { temperature: 0.2 }));
  });
});
