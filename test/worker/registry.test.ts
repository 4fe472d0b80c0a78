// The registry suite (test/http/registry.suite.ts) against the Worker, on miniflare's R2 and D1.
import { registrySuite } from "../http/registry.suite.ts";
import { workerHost } from "./host.ts";

registrySuite(workerHost);
