/** The web app's addresses, and the checks of what they carry. */
import { ApiError } from "../../errors";
import { PROJECT_ID } from "./text";

export const projectHref = (projectId: string) => `/p/${projectId}`;

export const envHref = (projectId: string, env: string) => `${projectHref(projectId)}/e/${env}`;

/** The project id of a URL, or a 404 page (the same answer as a project one cannot see). */
export function projectIdParam(value: unknown): string {
  if (typeof value !== "string" || !PROJECT_ID.test(value)) {
    throw new ApiError(
      "NOT_FOUND",
      "no such project",
      "check the link, or ask the project's owner for access",
    );
  }
  return value;
}
