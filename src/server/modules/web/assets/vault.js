/*
 * vault.js: the web app's one script, written by hand, served from the server's own origin
 * (script-src 'self'). Every page works without it: it only makes them quicker to use.
 *
 * - Confirm dialogs: a form (or its submit button) with data-confirm="question" asks in a
 *   <dialog> before it is sent.
 * - Copy buttons: <button data-copy="ID"> copies the text of the element with that id.
 * - Filter as you type: <input data-filter="ID"> hides the rows of table ID whose data-name
 *   does not contain the text (the rows of the page shown; the server filters with ?q=).
 * - The editor: Reveal shows the value in its row (and Hide masks it again), Edit and Rename
 *   open a field under the row, Delete and Undo apply at once; each is one request to the
 *   same address as the form without script, and the table is then drawn again from the page.
 * - A table wider than its card (it scrolls inside it) makes the card a focusable region, so
 *   the keyboard can scroll it.
 * - Every script-made request (send) carries the page's CSRF token in the x-csrf-token
 *   header and asks for JSON; the server answers {error} or what the page needs.
 *
 * Text from the server is only ever put in the page with textContent, never as HTML; pages
 * fetched again are parsed by DOMParser (whose scripts never run) and their parts moved in.
 */
(() => {
  const csrf = () => document.querySelector('meta[name="csrf"]')?.getAttribute("content") ?? "";

  /** POSTs fields to url with the CSRF header; resolves to the parsed JSON answer, or throws its message. */
  async function send(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
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
      const error = new Error(body?.error?.message ?? `the server answered ${response.status}`);
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

  const failed = (error) => announce(`${error.message}${error.hint ? ` (${error.hint})` : ""}`, true);

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
    dialog.querySelector('[data-answer="yes"]').textContent = action || "Yes";
    const before = document.activeElement;
    return new Promise((resolve) => {
      const done = (answer) => {
        dialog.removeEventListener("click", onClick);
        dialog.removeEventListener("cancel", onCancel);
        dialog.close();
        if (before instanceof HTMLElement) before.focus();
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

  // The editor -----------------------------------------------------------------------------

  /** Draws the editor's table and pending bar again from the page as the server now shows it. */
  async function refresh(focusName) {
    const response = await fetch(location.href, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "text/html" },
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["pending", "editor-body"]) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.adoptNode(next));
    }
    const meta = fresh.querySelector('meta[name="csrf"]');
    if (meta)
      document.querySelector('meta[name="csrf"]')?.setAttribute("content", meta.getAttribute("content"));
    applyFilter();
    scrollingTables();
    if (focusName !== undefined) {
      const row = [...document.querySelectorAll("#keys tr[data-name]")].find(
        (r) => r.dataset.name === focusName,
      );
      (row?.querySelector("a, button:not([disabled])") ?? document.getElementById("q"))?.focus();
    }
  }

  /** The fields a form would send with this submit button. */
  const fieldsOf = (form, submitter) => new FormData(form, submitter);

  async function reveal(form, button) {
    const cell = document.getElementById(button.dataset.target);
    if (!cell) return;
    if (button.dataset.revealed === "yes") {
      cell.textContent = cell.dataset.mask;
      cell.classList.remove("revealed");
      button.textContent = button.dataset.label;
      button.setAttribute("aria-label", button.dataset.ariaLabel);
      button.dataset.revealed = "no";
      return;
    }
    const answer = await send(button.formAction, fieldsOf(form, button));
    cell.dataset.mask ??= cell.textContent;
    const text = document.createElement("span");
    text.id = `${cell.id}-text`;
    text.textContent = answer.value;
    const copy = document.createElement("button");
    copy.type = "button";
    copy.className = "small secondary";
    copy.dataset.copy = text.id;
    copy.textContent = "Copy";
    copy.setAttribute("aria-label", `Copy the value of ${answer.name}`);
    cell.replaceChildren(text, " ", copy);
    cell.classList.add("revealed");
    button.dataset.label ??= button.textContent;
    button.dataset.ariaLabel ??= button.getAttribute("aria-label") ?? "";
    button.textContent = "Hide";
    button.setAttribute("aria-label", `Hide the value of ${answer.name}`);
    button.dataset.revealed = "yes";
    announce(`The value of ${answer.name} is shown in its row; this read is in the audit log.`);
  }

  /** A field under a row to type a new value (Edit) or name (Rename): sent without a page load. */
  function inlineField(link) {
    const row = link.closest("tr");
    if (!row) return;
    row.parentElement.querySelector("tr.inline")?.remove();
    const what = link.dataset.action;
    const name = link.dataset.name;
    const url = new URL(link.href);
    const tr = document.createElement("tr");
    tr.className = "inline";
    const td = document.createElement("td");
    td.colSpan = 4;
    const id = `inline-${what}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = what === "edit" ? `New value of ${name}` : `New name for ${name}`;
    const input = document.createElement(what === "edit" ? "textarea" : "input");
    input.id = id;
    input.autocomplete = "off";
    input.spellcheck = false;
    if (what === "edit") {
      input.rows = 4;
    } else {
      input.type = "text";
      input.value = name;
      input.maxLength = 256;
    }
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent =
      what === "edit"
        ? "The saved value is not shown: type the whole new value (Ctrl+Enter keeps it, Escape cancels)."
        : "The key keeps its value and its line in the file (Enter keeps it, Escape cancels).";
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    const ok = document.createElement("button");
    ok.type = "button";
    ok.textContent = "Keep as a pending change";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    const buttons = document.createElement("div");
    buttons.className = "row";
    buttons.append(ok, cancel);
    td.append(label, input, hint, error, buttons);
    tr.append(td);
    row.after(tr);
    input.focus();
    const close = () => {
      tr.remove();
      link.focus();
    };
    const keep = async () => {
      ok.disabled = true;
      const fields = new URLSearchParams(url.search);
      fields.delete("name");
      if (what === "edit") {
        fields.set("name", name);
        fields.set("value", input.value);
      } else {
        fields.set("from", name);
        fields.set("to", input.value.trim());
      }
      try {
        await send(url.pathname, fields);
        const shown = what === "edit" ? name : input.value.trim();
        await refresh(shown);
        announce(
          what === "edit"
            ? `${name} changed: pending until you save.`
            : `${name} renamed to ${shown}: pending until you save.`,
        );
      } catch (e) {
        error.textContent = `${e.message}${e.hint ? ` (${e.hint})` : ""}`;
        error.hidden = false;
        ok.disabled = false;
        input.focus();
      }
    };
    ok.addEventListener("click", keep);
    cancel.addEventListener("click", close);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
      else if (event.key === "Enter" && (what !== "edit" || event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        keep();
      }
    });
  }

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[data-action]") : null;
    if (!link || !["edit", "rename"].includes(link.dataset.action)) return;
    event.preventDefault();
    inlineField(link);
  });

  // Submits: confirmations, and the editor's row actions --------------------------------------
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const submitter = event.submitter instanceof HTMLElement ? event.submitter : null;
    const action = submitter?.dataset.action;
    const inEditor = form.id === "rows" && ["reveal", "delete", "undo"].includes(action);
    const question = submitter?.dataset.confirm ?? form.dataset.confirm;
    if (form.dataset.confirmed === "yes") {
      delete form.dataset.confirmed;
      return;
    }
    if (!question && !inEditor) return;
    event.preventDefault();
    if (
      question &&
      !(await confirmDialog(question, submitter?.dataset.confirmAction ?? form.dataset.confirmAction))
    )
      return;
    if (!inEditor) {
      form.dataset.confirmed = "yes";
      form.requestSubmit(submitter ?? undefined);
      return;
    }
    try {
      if (action === "reveal") await reveal(form, submitter);
      else {
        const name = submitter.value;
        await send(submitter.formAction, fieldsOf(form, submitter));
        await refresh(name);
        announce(
          action === "delete"
            ? `${name} deleted: pending until you save.`
            : `The change of ${name} was undone.`,
        );
      }
    } catch (error) {
      failed(error);
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
  // A copy button only works with the script, so it is shown only then.
  for (const button of document.querySelectorAll("button[data-copy][hidden]")) button.hidden = false;

  // Filter as you type ----------------------------------------------------------------------
  function applyFilter() {
    for (const input of document.querySelectorAll("input[data-filter]")) {
      const table = document.getElementById(input.dataset.filter);
      const rows = table ? [...table.querySelectorAll("tr[data-name]")] : [];
      const count = input.dataset.count ? document.getElementById(input.dataset.count) : null;
      const q = input.value.trim().toLowerCase();
      // The server already filtered the page by the text it was given; only narrower text hides rows.
      const served = (input.defaultValue ?? "").trim().toLowerCase();
      let shown = 0;
      for (const row of rows) {
        const match = q === "" || q === served || row.dataset.name.toLowerCase().includes(q);
        row.hidden = !match;
        if (match) shown++;
      }
      if (count) count.textContent = q === served ? "" : `${shown} of ${rows.length} on this page match`;
    }
  }
  for (const input of document.querySelectorAll("input[data-filter]"))
    input.addEventListener("input", applyFilter);

  // Tables wider than their card -------------------------------------------------------------
  // A table that does not fit scrolls inside its card (.table-wrap); that card then takes the
  // focus, as a named region, so the keyboard can scroll it (a card that fits is no tab stop).
  function scrollingTables() {
    for (const wrap of document.querySelectorAll(".table-wrap")) {
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        const table = wrap.querySelector("table");
        const name =
          table?.getAttribute("aria-label") ??
          table?.querySelector("caption")?.textContent ??
          document.querySelector("h1")?.textContent ??
          "Table";
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", `${name.trim()} (scrolls sideways)`);
      } else if (!scrolls && wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    }
  }
  scrollingTables();
  let resizing;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(scrollingTables, 100);
  });

  window.vault = { send, announce, confirmDialog, refresh };
})();
