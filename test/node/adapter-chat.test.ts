// The adapter chat suite (test/http/adapter-chat.suite.ts) against the Node host over HTTP.
import { adapterChatSuite } from "../http/adapter-chat.suite.ts";
import { startNodeHost } from "./host.ts";

adapterChatSuite(await startNodeHost());
