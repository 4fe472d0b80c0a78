// The registry suite (test/http/registry.suite.ts) against the Node host, on a SQLite file and a blob directory.
import { registrySuite } from "../http/registry.suite.ts";
import { startNodeHost } from "./host.ts";

registrySuite(await startNodeHost());
