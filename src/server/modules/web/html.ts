/**
 * Server-rendered HTML: every piece of text that came from outside (names,
 * emails, messages, query parameters) goes through `esc`, by way of the
 * `html` tagged template, which escapes whatever is not itself `Html`.
 */
export function esc(text: unknown): string {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** A trusted fragment of HTML (built only from literals and `esc`). */
export class Html {
  constructor(readonly text: string) {}
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? "");
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return esc(value);
}

/** Many fragments as one, without the cost of nesting templates (a 200-row table). */
export function join(parts: readonly Html[]): Html {
  let out = "";
  for (const part of parts) out += part.text;
  return new Html(out);
}
