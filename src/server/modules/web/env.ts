/**
 * Opening an environment for a page: the same decisions as the API's
 * secrets routes (projectAccess, environmentNamed, requirePermission), in
 * the same order, so that a page refuses whom the API refuses, with the
 * same error.
 */
import type { Environment, Permission, Project } from "../../../appdb";
import { environmentNamed, type ProjectAccess, projectAccess, requirePermission } from "../../auth/access";
import type { AppContext } from "../../context";
import type { Session } from "./guard";
import type { Crumb } from "./layout";
import { envHref, projectHref, projectIdParam } from "./paths";

export interface OpenEnvironment {
  access: ProjectAccess;
  project: Project;
  env: Environment;
  permission: Permission;
}

export async function openEnvironment(
  ctx: AppContext,
  session: Session,
  params: Record<string, string>,
  needed: "read" | "write",
): Promise<OpenEnvironment> {
  const access = await projectAccess(ctx, session, projectIdParam(params.projectId));
  const env = environmentNamed(access, params.env ?? "");
  requirePermission(access, env, needed);
  return { access, project: access.project, env, permission: access.permission(env.id) };
}

/** Projects › project › environment (› this page). */
export function envCrumbs(project: Project, env: Environment, last?: string): Crumb[] {
  const crumbs: Crumb[] = [
    { label: "Projects", href: "/" },
    { label: project.name, href: projectHref(project.id) },
    { label: env.name, href: envHref(project.id, env.name) },
  ];
  if (last) crumbs.push({ label: last });
  return crumbs;
}
