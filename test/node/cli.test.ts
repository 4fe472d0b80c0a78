/**
 * The `lora-edge` CLI, unchanged (the real `bin/lora-edge.mjs` in a child process), against the real
 * Node host on a port: push (with --domain), list, map, route and chat (JSON and streamed) do what
 * the same calls over HTTP do, and a refusal exits 1 with the server's code.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, peftFiles } from "../http/support.ts";
import { startNodeHost } from "./host.ts";

const BIN = fileURLToPath(new URL("../../bin/lora-edge.mjs", import.meta.url));
const host = await startNodeHost();
const QUESTION = "My parcel never arrived and I want a refund for the order";

/** Run `lora-edge <args>` against the host, with the token in the environment (as a user would). */
function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, LORA_EDGE_URL: host.url, LORA_EDGE_TOKEN: ADMIN_TOKEN }, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** A PEFT folder as `save_pretrained` writes it. */
function peftDir(seed: number): string {
  const dir = mkdtempSync(join(tmpdir(), "lora-edge-cli-"));
  const files = peftFiles({ r: 4, seed });
  writeFileSync(join(dir, "adapter_config.json"), files.config);
  writeFileSync(join(dir, "adapter_model.safetensors"), files.weights);
  return dir;
}

async function chatOverHttp(body: object): Promise<string> {
  const res = await host.fetch(new Request("http://lora-edge/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
}

describe("the lora-edge CLI against the Node host", () => {
  it("push --domain, push again, list, map, route, chat and chat --stream", async () => {
    const first = await cli("push", peftDir(31), "--name", "helpdesk", "--domain", "support");
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ id: "helpdesk@1", name: "helpdesk", version: 1, rank: 4 });
    expect(first.stderr).toContain("mapped domain support → helpdesk@1");
    const second = await cli("push", peftDir(32), "--name", "helpdesk");
    expect(JSON.parse(second.stdout)).toMatchObject({ id: "helpdesk@2" });

    const list = await cli("list");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/helpdesk@1[\s\S]*helpdesk@2/);
    expect(list.stdout).toMatch(/support\s+helpdesk@1/);
    const snapshot = await host.storageSnapshot();
    expect(snapshot.rows["adapters"]).toHaveLength(2);

    const map = await cli("map", "support", "helpdesk");
    expect(map.code, map.stderr).toBe(0);
    expect(JSON.parse(map.stdout)).toMatchObject({ domain: "support", adapter: "helpdesk", version: 2 });

    const route = await cli("route", QUESTION);
    expect(route.code, route.stderr).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ domain: "support", reason: "classifier", adapter: "helpdesk@2" });

    const body = { model: "auto", messages: [{ role: "user", content: QUESTION }], max_tokens: 8, seed: 5 };
    const want = await chatOverHttp(body);
    const chat = await cli("chat", QUESTION, "--max-tokens", "8", "--seed", "5");
    expect(chat.code, chat.stderr).toBe(0);
    expect(chat.stderr).toMatch(/^\[helpdesk@2 · domain support · confidence [\d.]+ · classifier\]/);
    expect(chat.stdout).toBe(`${want}\n`);
    const streamed = await cli("chat", QUESTION, "--max-tokens", "8", "--seed", "5", "--stream");
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stdout).toBe(`${want}\n`);
  });

  it("a refusal exits 1 with one line naming the status and code, and a wrong token is refused", async () => {
    const chat = await cli("chat", "hi", "--model", "no-such-adapter");
    expect(chat.code).toBe(1);
    expect(chat.stderr).toMatch(/404.*model_not_found/);
    const list = await cli("list", "--token", "wrong");
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/401.*invalid_api_key/);
  });
});
