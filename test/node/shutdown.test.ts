/**
 * `npm start`'s process: it serves the model `--model` names (and says which), refuses a folder
 * without one in a line, and on SIGTERM stops taking connections, lets a stream in flight run to
 * its end, then exits 0.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("npm start (src/node/main.ts)", () => {
  it("serves --model models/demo, says so on /healthz and /v1/models, and on SIGTERM finishes a stream in flight, then exits 0", async () => {
    const data = mkdtempSync(join(tmpdir(), "lora-edge-main-"));
    const child = spawn(process.execPath, ["--import", "tsx", "src/node/main.ts", "--model", "models/demo", "--port", "0", "--threads", "1", "--data", data, "--no-seed"], { stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    let log = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on("data", (b: Buffer) => {
        log += b.toString();
        const m = /at (http:\/\/\S+)/.exec(log);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`exited early: ${log}`)));
    });
    expect(log).toMatch(/serving demo \(demo, int8\) on onnxruntime-node with 1 thread/);
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: "ok", model: "demo", engine: "node", batching: false }); // the demo is int8: one by one by default
    expect(((await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] }).data[0]!.id).toBe("demo");

    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "base", messages: [{ role: "user", content: "hi" }], max_tokens: 48, stream: true }),
    });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = dec.decode((await reader.read()).value); // generation is under way
    child.kill("SIGTERM");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += dec.decode(r.value, { stream: true });
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(text).toMatch(/"finish_reason":"(length|stop)"/); // the demo's random weights may sample its end token
    expect(await exited).toBe(0);
    expect(log).toMatch(/SIGTERM: finishing requests in flight/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("a --model folder without a package fails at once with one line saying what to do", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "src/node/main.ts", "--model", "models/no-such-model", "--port", "0"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^lora-edge: models\/no-such-model holds no model package .*npm start -- --model models\/demo$/)]);
  });
});
