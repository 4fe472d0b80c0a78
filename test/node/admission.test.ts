// The admission suite (test/http/admission.suite.ts) against the Node host over HTTP.
import { admissionSuite } from "../http/admission.suite.ts";
import { startNodeHost } from "./host.ts";

admissionSuite(await startNodeHost());
