// The browser reads suite (test/http/browser-reads.suite.ts) against the Node host over HTTP.
import { browserReadsSuite } from "../http/browser-reads.suite.ts";
import { startNodeHost } from "./host.ts";

browserReadsSuite(await startNodeHost());
