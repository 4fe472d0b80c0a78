/**
 * `npm run dev:worker` refuses, before starting anything, a package the Worker's static assets
 * could not serve: a folder without a manifest, one that models/.assetsignore keeps out of the
 * assets, one with a file over the 25 MiB asset limit. Each case runs the real script in a scratch
 * folder laid out like the repository's `models/` (a sparse file stands in for the big weights).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCRIPT = join(import.meta.dirname, "dev-worker.ts");
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "lora-edge-dev-worker-"));
  const pkg = (name: string, files: Record<string, number>) => {
    mkdirSync(join(root, "models", name), { recursive: true });
    writeFileSync(join(root, "models", name, "manifest.json"), "{}");
    for (const [file, bytes] of Object.entries(files)) {
      writeFileSync(join(root, "models", name, file), "");
      truncateSync(join(root, "models", name, file), bytes);
    }
  };
  pkg("ignored", {});
  pkg("whole", { "model.weights": 26 * 2 ** 20 });
  mkdirSync(join(root, "models", "empty"));
  writeFileSync(join(root, "models", ".assetsignore"), "# kept out\nignored\n");
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function devWorker(...args: string[]) {
  const run = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), SCRIPT, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { status: run.status, stderr: run.stderr, stdout: run.stdout };
}

describe("npm run dev:worker refuses what the assets cannot serve", () => {
  it("without --model: the usage, exit 1", () => {
    const r = devWorker();
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/usage: npm run dev:worker -- --model <folder under models\/>/);
  });

  it("a folder with no manifest", () => {
    const r = devWorker("--model", "empty");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("dev:worker: models/empty holds no model package (manifest.json)\n");
  });

  it("a package models/.assetsignore keeps out of the assets", () => {
    const r = devWorker("--model", "models/ignored/");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("dev:worker: ignored is listed in models/.assetsignore, so the Worker's assets would not hold it\n");
  });

  it("a file over the 25 MiB asset limit, naming the fix", () => {
    const r = devWorker("--model", "whole");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("dev:worker: model.weights in models/whole are over the 25 MiB a static asset may hold; rebuild the package with --split-mib 24\n");
  });

  it("a --var that is not KEY:VALUE", () => {
    writeFileSync(join(root, "models", "whole", "model.weights"), "small now");
    const r = devWorker("--model", "whole", "--var", "MEMORY_BUDGET_BYTES");
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('dev:worker: --var takes KEY:VALUE, got "MEMORY_BUDGET_BYTES"\n');
  });
});
