// The chat endpoint suite (test/http/chat.suite.ts) against the Worker inside workerd.
import { chatSuite } from "../http/chat.suite.ts";
import { workerHost } from "./host.ts";

chatSuite(workerHost);
