/**
 * The web app: server-rendered pages from the app role, one module per area
 * (pages/*.ts), composed here. Every page works without JavaScript (plain
 * forms, POST-redirect-GET); /assets/vault.js makes them quicker. Pages call
 * the same services as the API, so the rules live in one place.
 */
import { Elysia } from "elysia";
import type { AppContext } from "../../context";
import { assetRoutes } from "./assets";
import { accountPages } from "./pages/account";
import { auditPages } from "./pages/audit";
import { comparePages } from "./pages/compare";
import { editorPages } from "./pages/editor";
import { handoffPages } from "./pages/handoff";
import { historyPages } from "./pages/history";
import { keyPages } from "./pages/keys";
import { projectPages } from "./pages/projects";
import { requestPages } from "./pages/requests";
import { reviewPages } from "./pages/review";
import { signinPages } from "./pages/signin";
import { teamPages } from "./pages/team";
import { tokenPages } from "./pages/tokens";
import { userPages } from "./pages/users";
import { webhookPages } from "./pages/webhooks";

export function webRoutes(ctx: AppContext) {
  return new Elysia({ name: "web" })
    .use(assetRoutes())
    .use(signinPages(ctx))
    .use(handoffPages(ctx))
    .use(projectPages(ctx))
    .use(teamPages(ctx))
    .use(tokenPages(ctx))
    .use(webhookPages(ctx))
    .use(keyPages(ctx))
    .use(auditPages(ctx))
    .use(accountPages(ctx))
    .use(userPages(ctx))
    .use(editorPages(ctx))
    .use(reviewPages(ctx))
    .use(historyPages(ctx))
    .use(requestPages(ctx))
    .use(comparePages(ctx));
}
