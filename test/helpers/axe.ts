/**
 * axe-core (a pinned devDependency) run inside a page of the browser tests.
 *
 * The pages' Content-Security-Policy allows no inline script, so axe's source
 * can only be put into a page whose context was made with `bypassCSP: true`
 * (playwright then ignores the policy for that context alone; the policy
 * itself is tested elsewhere, with contexts that keep it).
 */
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";

const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export interface AxeViolation {
  id: string;
  impact: "minor" | "moderate" | "serious" | "critical" | null;
  help: string;
  nodes: { target: string[]; html: string; summary: string }[];
}

/**
 * Every axe rule on the page as it is now; the violations of at least
 * `minimum` impact (serious: serious and critical).
 */
export async function axeViolations(
  page: Page,
  minimum: "serious" | "moderate" = "serious",
): Promise<AxeViolation[]> {
  if (!(await page.evaluate("typeof window.axe === 'object'"))) {
    await page.addScriptTag({ content: AXE_SOURCE });
  }
  // A string, evaluated in the page: this file's types do not describe the page's globals.
  const all = (await page.evaluate(`
    window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String), html: n.html, summary: n.failureSummary || "" })),
      })),
    )
  `)) as AxeViolation[];
  const ranks = { minor: 0, moderate: 1, serious: 2, critical: 3 } as const;
  return all.filter((v) => v.impact !== null && ranks[v.impact] >= ranks[minimum]);
}

/** The violations in a few lines each, for a failure message. */
export function describeViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help}\n${v.nodes
          .slice(0, 5)
          .map(
            (n) =>
              `    ${n.target.join(" ")}: ${n.html.slice(0, 160)}\n      ${n.summary.replace(/\n/g, " ")}`,
          )
          .join("\n")}`,
    )
    .join("\n");
}
