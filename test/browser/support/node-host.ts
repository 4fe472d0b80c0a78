/**
 * The Node host as `npm start` runs it (`src/node/main.ts` in a child process) on a free port, with
 * its own throwaway registry, serving `model` and handing browsers `browserModel`, for end-to-end
 * tests; the demo adapters registered through the admin API and mapped to their domains.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, stopChild, type DevWorker } from "./wrangler-dev.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TOKEN = "browser-test-token";

export async function startNodeHostProcess(o: { model: string; browserModel: string }): Promise<DevWorker> {
  const data = await mkdtemp(join(tmpdir(), "lora-edge-node-e2e-"));
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/node/main.ts", "--model", o.model, "--browser-model", o.browserModel, "--port", String(port), "--data", data, "--threads", "1", "--no-seed"], {
    cwd: ROOT,
    env: { ...process.env, ADMIN_TOKEN: TOKEN, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(child);
    await rm(data, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 180_000;
    while (!output.includes(`at ${url}`)) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`npm start did not serve ${url} within 180 s:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    for (const domain of ["support", "sales", "technical"]) {
      const form = new FormData();
      for (const f of ["adapter_config.json", "adapter_model.safetensors"]) form.set(f, new File([await readFile(join(ROOT, "models/demo-adapters", domain, f))], f));
      const auth = { authorization: `Bearer ${TOKEN}` };
      const pushed = await fetch(`${url}/v1/adapters/${domain}-demo`, { method: "PUT", headers: auth, body: form });
      if (pushed.status !== 201) throw new Error(`registering ${domain}-demo: ${pushed.status} ${await pushed.text()}`);
      const mapped = await fetch(`${url}/v1/domains/${domain}`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ adapter: `${domain}-demo` }) });
      if (mapped.status !== 200) throw new Error(`mapping ${domain}: ${mapped.status} ${await mapped.text()}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
