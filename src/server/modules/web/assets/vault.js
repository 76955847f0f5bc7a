/*
 * vault.js: the web app's one script, written by hand, served from the server's own origin
 * (script-src 'self'). Every page works without it: it only makes them quicker to use.
 *
 * - Confirm dialogs: a form with data-confirm="question" asks in a <dialog> before it is sent.
 * - Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
 * - Filter as you type: <input data-filter="ID"> hides the rows of table ID whose data-name
 *   does not contain the text (the rows of the page shown; the server filters with ?q=).
 * - Script-made requests (send) carry the page's CSRF token in the x-csrf-token header and ask
 *   for JSON; the server answers them {error} or the fields the page needs.
 *
 * Text from the server is only ever put in the page with textContent, never as HTML.
 */
(() => {
  const csrf = () => document.querySelector('meta[name="csrf"]')?.getAttribute("content") ?? "";

  /** POSTs fields to url with the CSRF header; resolves to the parsed JSON answer, or throws its message. */
  async function send(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "x-csrf-token": csrf(), accept: "application/json" },
      body: new URLSearchParams(fields),
    });
    let body = {};
    try {
      body = await response.json();
    } catch {
      // not JSON: the message below says so
    }
    if (!response.ok) {
      const message = body?.error?.message ?? `the server answered ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      error.hint = body?.error?.hint;
      throw error;
    }
    return body;
  }

  /** Announces a short message in the page's live region. */
  function announce(message, bad = false) {
    const area = document.getElementById("notices");
    if (!area) return;
    const p = document.createElement("p");
    p.className = bad ? "notice bad" : "notice";
    p.textContent = message;
    area.replaceChildren(p);
  }

  // Confirm dialogs -------------------------------------------------------------------------
  let dialog;
  function confirmDialog(question, action) {
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.setAttribute("aria-labelledby", "confirm-question");
      const p = document.createElement("p");
      p.id = "confirm-question";
      const row = document.createElement("div");
      row.className = "row";
      const yes = document.createElement("button");
      yes.type = "button";
      yes.className = "danger";
      yes.dataset.answer = "yes";
      const no = document.createElement("button");
      no.type = "button";
      no.className = "secondary";
      no.textContent = "Cancel";
      no.dataset.answer = "no";
      row.append(yes, no);
      dialog.append(p, row);
      document.body.append(dialog);
    }
    dialog.querySelector("p").textContent = question;
    const yes = dialog.querySelector('[data-answer="yes"]');
    yes.textContent = action || "Yes";
    return new Promise((resolve) => {
      const done = (answer) => {
        dialog.removeEventListener("click", onClick);
        dialog.removeEventListener("cancel", onCancel);
        dialog.close();
        resolve(answer);
      };
      const onClick = (event) => {
        const answer = event.target?.dataset?.answer;
        if (answer) done(answer === "yes");
      };
      const onCancel = (event) => {
        event.preventDefault();
        done(false);
      };
      dialog.addEventListener("click", onClick);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      dialog.querySelector('[data-answer="no"]').focus();
    });
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    const submitter = event.submitter;
    if (await confirmDialog(form.dataset.confirm, form.dataset.confirmAction)) {
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter ?? undefined);
    }
  });

  // Copy buttons ----------------------------------------------------------------------------
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    event.preventDefault();
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    try {
      await navigator.clipboard.writeText(source.textContent ?? "");
      announce("Copied to the clipboard.");
    } catch {
      announce("This browser did not allow copying: select the text and copy it yourself.", true);
    }
  });
  // A copy button only does something with the script, so it is shown only then.
  for (const button of document.querySelectorAll("button[data-copy][hidden]")) button.hidden = false;

  // Filter as you type ----------------------------------------------------------------------
  for (const input of document.querySelectorAll("input[data-filter]")) {
    const table = document.getElementById(input.dataset.filter);
    if (!table) continue;
    const rows = [...table.querySelectorAll("tr[data-name]")];
    const count = input.dataset.count ? document.getElementById(input.dataset.count) : null;
    input.addEventListener("input", () => {
      const q = input.value.trim().toLowerCase();
      let shown = 0;
      for (const row of rows) {
        const match = q === "" || row.dataset.name.toLowerCase().includes(q);
        row.hidden = !match;
        if (match) shown++;
      }
      if (count) count.textContent = q === "" ? "" : `${shown} of ${rows.length} on this page match`;
    });
  }

  window.vault = { send, announce, confirmDialog };
})();
