/**
 * What `npm run dev:worker` does once its Worker answers, for a base whose domain adapters are too
 * big to bundle (SmolLM2's, 4.9 MB each; the demo's are bundled and seeded inside the Worker): on an
 * empty registry, push each domain's PEFT folder through the admin API, as `lora-edge push <dir>
 * --name <domain>-demo --domain <domain>` would (upload validation, prepare, R2/D1, mapping). A
 * registry that already holds adapters or domains is left alone, as `npm start` leaves a persisted one.
 *
 * @example await seedOverHttp("http://localhost:8787", "dev-token", "models/adapters/smollm2", io)
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { main, type CliIo } from "./cli.ts";
import { seedName } from "../src/registry/seed.ts";

/** The domains seeded (sorted), or `undefined` when the registry was not empty (or `dir` holds none). */
export async function seedOverHttp(url: string, token: string, dir: string, io: CliIo): Promise<string[] | undefined> {
  const domains = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (!domains.length) return undefined;
  const listed: string[] = [];
  const code = await main(["list", "--json", "--url", url, "--token", token], { ...io, stdout: { write: (s: string) => listed.push(s) } });
  if (code !== 0) throw new Error(`cannot list the registry at ${url}`);
  const { adapters, domains: mapped } = JSON.parse(listed.join("")) as { adapters: unknown[]; domains: unknown[] };
  if (adapters.length || mapped.length) return undefined;
  for (const domain of domains) {
    if ((await main(["push", join(dir, domain), "--name", seedName(domain), "--domain", domain, "--url", url, "--token", token], io)) !== 0) throw new Error(`pushing ${join(dir, domain)} failed`);
  }
  return domains;
}
