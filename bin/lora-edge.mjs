#!/usr/bin/env node
// The `lora-edge` npm bin: runs tools/cli.ts through tsx's loader.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../tools/cli.ts");
process.exitCode = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, fetch });
