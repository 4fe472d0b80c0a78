/**
 * The `lora-edge` CLI against a local Node HTTP server that records what it receives: argument
 * parsing, `--help` everywhere, request shaping (auth, multipart bytes, chat JSON), output and exit codes.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./cli.ts";

type Seen = { method: string; url: string; headers: IncomingMessage["headers"]; body: Buffer };
let server: Server;
let url = "";
const seen: Seen[] = [];
/** What the fake Worker answers, by "METHOD path". */
const answers: Record<string, { status?: number; json?: unknown; sse?: string[]; headers?: Record<string, string> }> = {};

beforeAll(async () => {
  server = createServer((req, res) => {
    // one connection per request: fetch must not reuse a socket this server's keep-alive timer closed
    res.setHeader("connection", "close");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      const a = answers[`${req.method} ${req.url}`] ?? { status: 404, json: { error: { code: "not_found", message: "no such route", type: "not_found_error", param: null } } };
      if (a.sse) {
        res.writeHead(200, { "content-type": "text/event-stream", ...a.headers });
        for (const d of a.sse) res.write(`data: ${d}\n\n`);
        res.end();
        return;
      }
      res.writeHead(a.status ?? 200, { "content-type": "application/json", ...a.headers });
      res.end(JSON.stringify(a.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => server.close());

async function run(argv: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  seen.length = 0;
  const code = await main(argv, { env: { LORA_EDGE_URL: url, ...env }, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, fetch });
  return { code, stdout, stderr };
}

describe("lora-edge CLI", () => {
  it.each(["push", "list", "map", "chat", "route", "delete"])("%s --help prints its usage and exits 0 without a request", async (cmd) => {
    const r = await run([cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: lora-edge ${cmd}`));
    expect(r.stdout).toMatch(/--url/);
    expect(seen).toHaveLength(0);
  });

  it("no command, an unknown command or a bad flag exit 2 with a reason", async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(["--help"])).code).toBe(0);
    expect(await run(["fly"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "fly"/) });
    expect(await run(["list", "--bogus"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/bogus/) });
    expect(await run(["map", "support"])).toMatchObject({ code: 2, stderr: expect.stringMatching(/expected 2 argument/) });
  });

  it("push uploads both PEFT files as multipart with the token, prints the manifest, then maps --domain", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-edge-cli-"));
    const config = Buffer.from(JSON.stringify({ peft_type: "LORA", r: 4 }));
    const weights = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    writeFileSync(join(dir, "adapter_config.json"), config);
    writeFileSync(join(dir, "adapter_model.safetensors"), weights);
    const manifest = { object: "adapter", name: "helpdesk", version: 3, id: "helpdesk@3" };
    answers["PUT /v1/adapters/helpdesk"] = { status: 201, json: manifest };
    answers["PUT /v1/domains/support"] = { json: { domain: "support", adapter: "helpdesk", version: 3 } };

    const r = await run(["push", dir, "--name", "helpdesk", "--domain", "support", "--threshold", "0.7"], { LORA_EDGE_TOKEN: "env-token" });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(manifest);
    expect(r.stderr).toMatch(/uploading \[#{30}\] 100%/);
    expect(r.stderr).toMatch(/mapped domain support → helpdesk@3/);

    const [upload, map] = seen;
    expect(upload!.headers.authorization).toBe("Bearer env-token");
    expect(Number(upload!.headers["content-length"])).toBe(upload!.body.length);
    const form = await new Response(new Uint8Array(upload!.body), { headers: { "content-type": upload!.headers["content-type"]! } }).formData();
    expect(Buffer.from(await (form.get("adapter_config.json") as Blob).arrayBuffer())).toEqual(config);
    expect(Buffer.from(await (form.get("adapter_model.safetensors") as Blob).arrayBuffer())).toEqual(weights);
    expect(JSON.parse(map!.body.toString())).toEqual({ adapter: "helpdesk", version: 3, threshold: 0.7 });
  });

  it("chat --stream sends an OpenAI request and prints the streamed text; flags beat the environment", async () => {
    answers["POST /v1/chat/completions"] = {
      sse: [JSON.stringify({ choices: [{ delta: { role: "assistant", content: "" } }] }), JSON.stringify({ choices: [{ delta: { content: "Hel" } }] }), JSON.stringify({ choices: [{ delta: { content: "lo" } }] }), "[DONE]"],
      headers: { "x-lora-adapter": "helpdesk@3", "x-lora-domain": "support", "x-router-confidence": "0.9100", "x-lora-route-reason": "classifier" },
    };
    const r = await run(["chat", "Where is my parcel?", "--stream", "--max-tokens", "16", "--seed", "7", "--url", url, "--token", "flag-token"], { LORA_EDGE_URL: "http://unused.invalid", LORA_EDGE_TOKEN: "env-token" });
    expect(r).toMatchObject({ code: 0, stdout: "Hello\n" });
    expect(r.stderr).toMatch(/helpdesk@3 · domain support · confidence 0.9100/);
    expect(seen[0]!.headers.authorization).toBe("Bearer flag-token");
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ model: "auto", messages: [{ role: "user", content: "Where is my parcel?" }], stream: true, max_tokens: 16, seed: 7 });
  });

  it("a server error exits 1 with one line naming status and code", async () => {
    answers["PUT /v1/domains/support"] = { status: 404, json: { error: { code: "adapter_not_found", message: "no adapter nope", type: "not_found_error", param: "adapter" } } };
    const r = await run(["map", "support", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("lora-edge map: 404 adapter_not_found: no adapter nope\n");
    expect(JSON.parse(seen[0]!.body.toString())).toEqual({ adapter: "nope" });
  });

  it("an unreachable endpoint exits 1 with the URL", async () => {
    const r = await run(["list", "--url", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach http:\/\/127.0.0.1:9/);
  });
});
