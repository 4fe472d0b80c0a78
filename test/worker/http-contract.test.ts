// The HTTP contract suite (test/http/http-contract.suite.ts) against the Worker inside workerd.
import { httpContractSuite } from "../http/http-contract.suite.ts";
import { workerHost } from "./host.ts";

httpContractSuite(workerHost);
