// The chat endpoint suite (test/http/chat.suite.ts) against the Node host over HTTP.
import { chatSuite } from "../http/chat.suite.ts";
import { startNodeHost } from "./host.ts";

chatSuite(await startNodeHost());
