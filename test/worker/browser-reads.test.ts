// The browser reads suite (test/http/browser-reads.suite.ts) against the Worker inside workerd.
import { browserReadsSuite } from "../http/browser-reads.suite.ts";
import { workerHost } from "./host.ts";

browserReadsSuite(workerHost);
