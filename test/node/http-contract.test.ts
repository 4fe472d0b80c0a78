// The HTTP contract suite (test/http/http-contract.suite.ts) against the Node host over HTTP.
import { httpContractSuite } from "../http/http-contract.suite.ts";
import { startNodeHost } from "./host.ts";

httpContractSuite(await startNodeHost());
