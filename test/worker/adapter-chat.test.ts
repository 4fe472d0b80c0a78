// The adapter chat suite (test/http/adapter-chat.suite.ts) against the Worker inside workerd.
import { adapterChatSuite } from "../http/adapter-chat.suite.ts";
import { workerHost } from "./host.ts";

adapterChatSuite(workerHost);
