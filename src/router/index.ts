/** The domain router's public surface (see DESIGN.md, `src/router/`). */
export type { RoutingDecision, RoutingReason, RoutableMessage, RouteOptions } from "./decision.ts";
export { routeMessages, routeText, conversationFeatures, AUTO_MODEL } from "./decision.ts";
export type { Router, ConversationContextConfig } from "./router.ts";
export { NONE_CLASS, scoreText } from "./router.ts";
export { addDomain, removeDomain, MIN_DOMAIN_EXAMPLES, MAX_DOMAIN_EXAMPLES } from "./domains.ts";
export type { RouterArtifact } from "./artifact.ts";
export { loadRouter, serialiseArtifact } from "./artifact.ts";
export { defaultRouter } from "./default-router.ts";
