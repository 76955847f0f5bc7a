/**
 * The secrets table: masked values, reveal after a confirmation, filter,
 * sort, and editing as pending changes that a review saves as one version
 * (with the version it was based on: a conflict is refused and can be
 * reloaded and reapplied). Only the visible rows are drawn.
 *
 * Opening the table reads names, not values (a diff from the empty version
 * 0). A value is read from the server only when it is revealed (one audited
 * read of that key; "reveal all" reads the version), or when a rename needs
 * it, and is forgotten when the table moves to another version.
 *
 * Layers: a revealed value is shown resolved, as `vault run` gets it
 * (references followed, a branch merged, your personal override on top),
 * while an edit starts from, and a rename keeps, the value as written (so a
 * reference is never flattened). Keys you hold a personal override of are
 * marked `yours` in the CHANGED column; a key that only your override has is
 * listed too, and is changed with `vault set --personal`, not here.
 */
import { Box, Text } from "ink";
import { type ReactNode, useEffect, useMemo, useState } from "react";
import { ClientError } from "../../client";
import {
  ConfirmLine,
  describeError,
  ErrorBox,
  Loading,
  MultilineEditor,
  moveCursor,
  pad,
  TextField,
  Title,
  useScreenKeys,
  VirtualList,
  windowStart,
} from "../components";
import { type EnvRef, type ProjectRef, useTui } from "../context";
import {
  buildRows,
  changeOf,
  emptyPending,
  filterRows,
  KEY_NAME,
  lastChangedOf,
  type Pending,
  pendingCount,
  type Row,
  SORT_LABEL,
  SORTS,
  type SortKey,
  shown,
  sortRows,
} from "../model";
import { useLoad, useReturns } from "../use-load";
import { MARK, MARK_COLOR, Review } from "./Review";

type Mode =
  | { kind: "table" }
  | { kind: "filter" }
  | { kind: "reveal"; name: string }
  | { kind: "reveal-all" }
  | { kind: "add-name" }
  | { kind: "add-value"; name: string }
  | { kind: "edit"; name: string }
  | { kind: "multiline"; name: string; isNew: boolean }
  | { kind: "rename"; name: string }
  | { kind: "review" }
  | { kind: "saving" }
  | { kind: "conflict"; message: string }
  | { kind: "quit" };

export function Secrets(props: {
  project: ProjectRef;
  env: EnvRef;
  active: boolean;
  onTop: boolean;
  height: number;
  width: number;
}): ReactNode {
  const tui = useTui();
  const { project, env, active, height, width } = props;
  const writable = env.permission === "write";
  // Back from the history (a rollback makes a version): the latest version, pending changes kept.
  const returns = useReturns(props.onTop);
  const loaded = useLoad(async () => {
    const [names, versions, overrides] = await Promise.all([
      tui.api.secrets.diff(project.id, env.name, { from: 0 }),
      tui.api.secrets.versions(project.id, env.name, { limit: 1000 }),
      // A service token has none (and may not ask); a server before issue 15 has no such route.
      tui.api.overrides.list(project.id).catch(() => []),
    ]);
    const personal = new Set(overrides.filter((o) => o.environment === env.name).map((o) => o.name));
    const stored = new Set(names.added);
    return {
      names: [...names.added, ...[...personal].filter((n) => !stored.has(n))],
      stored,
      personal,
      version: names.to.version,
      lastChanged: lastChangedOf(versions.versions),
    };
  }, [project.id, env.name, returns]);
  const data = loaded.data;
  /** Values read so far, of `data.version`, as written (what an edit starts from). */
  const [known, setKnown] = useState<Readonly<Record<string, string>>>({});
  /** The same values resolved, as shown on reveal (references followed, your overrides on top). */
  const [resolved, setResolved] = useState<Readonly<Record<string, string>>>({});
  const [pending, setPending] = useState<Pending>(emptyPending);
  const [revealed, setRevealed] = useState<ReadonlySet<string>>(new Set());
  const [revealAll, setRevealAll] = useState(false);
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<SortKey>("name");
  const [cursor, setCursor] = useState(0);
  const [top, setTop] = useState(0);
  const [mode, setMode] = useState<Mode>({ kind: "table" });
  const [text, setText] = useState("");
  const [notice, setNotice] = useState<{ text: string; color: string } | undefined>(undefined);
  const [reviewTop, setReviewTop] = useState(0);

  useEffect(() => {
    if (active) tui.setVersion(data?.version);
  }, [active, data?.version, tui]);

  // Another version: what was read and revealed belongs to the old one.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when the version changes, on purpose.
  useEffect(() => {
    setKnown({});
    setResolved({});
    setRevealed(new Set());
    setRevealAll(false);
  }, [data?.version]);

  /** Reads stored values (audited by the server); undefined names: the whole version. */
  const read = async (names?: string[]): Promise<Record<string, string> | undefined> => {
    if (!data) return undefined;
    try {
      const answer =
        names === undefined
          ? await tui.api.secrets.pullValues(project.id, env.name, data.version, { written: true })
          : names.length === 1
            ? await tui.api.secrets.getKey(project.id, env.name, names[0]!, data.version, { written: true })
            : { values: {} as Record<string, string>, written: {} as Record<string, string | null> };
      // As written: a value whose written form differs (a reference, your override) keeps that form.
      const values: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.values)) {
        const written = answer.written?.[name];
        if (written === null) continue;
        values[name] = written ?? value;
      }
      setKnown((k) => ({ ...k, ...values }));
      setResolved((r) => ({ ...r, ...answer.values }));
      return values;
    } catch (error) {
      tui.report(error);
      say(`could not read the value: ${describeError(error).message}`, "red");
      return undefined;
    }
  };
  const allRows = useMemo(
    () => (data ? sortRows(buildRows(data.names, known, pending, data.lastChanged), sort) : []),
    [data, known, pending, sort],
  );
  const rows = useMemo(() => filterRows(allRows, filter), [allRows, filter]);
  const row = rows[Math.min(cursor, rows.length - 1)];
  const count = pendingCount(pending);
  const isRevealed = (name: string) => revealAll || revealed.has(name);

  // title, filter/notice line, header, and a prompt line below the table
  const tableHeight = Math.max(1, height - 4);
  const nameWidth = Math.max(
    12,
    Math.min(
      Math.floor(width * 0.4),
      Math.max(4, ...rows.slice(top, top + tableHeight).map((r) => r.name.length)) + 1,
    ),
  );
  const versionWidth = 7;
  const valueWidth = Math.max(8, width - nameWidth - versionWidth - 6);

  const say = (t: string, color = "green") => setNotice({ text: t, color });
  const readOnly = () => say(`read-only: your access to ${env.name} is ${env.permission}`, "yellow");
  const setValue = (name: string, value: string) => {
    setPending((p) => {
      const unset = p.unset.filter((n) => n !== name);
      if (known[name] === value && !(name in p.renamed)) {
        const { [name]: _, ...set } = p.set;
        return { ...p, set, unset };
      }
      return { ...p, set: { ...p.set, [name]: value }, unset };
    });
  };
  const undo = (r: Row) => {
    setPending((p) => {
      const { [r.name]: _, ...set } = p.set;
      const from = p.renamed[r.name];
      const { [r.name]: __, ...renamed } = p.renamed;
      return { set, renamed, unset: p.unset.filter((n) => n !== r.name && n !== from) };
    });
  };
  const save = async () => {
    if (!data) return;
    setMode({ kind: "saving" });
    try {
      const answer = await tui.api.secrets.change(
        project.id,
        env.name,
        changeOf(pending, data.stored),
        data.version,
      );
      setPending(emptyPending());
      setMode({ kind: "table" });
      const s = answer.summary;
      say(
        answer.request
          ? `${env.name} is protected: change request #${answer.request.number} opened; an approver must approve it (R on the environments screen)`
          : answer.unchanged
            ? "nothing changed: no new version"
            : `saved as version ${answer.version} (+${s.added.length} ~${s.changed.length} -${s.removed.length})`,
      );
      loaded.reload();
    } catch (error) {
      tui.report(error);
      if (error instanceof ClientError && error.code === "VERSION_CONFLICT") {
        setMode({
          kind: "conflict",
          message: `${env.name} moved on since version ${data.version}: someone else saved meanwhile. Nothing was saved.`,
        });
      } else {
        setMode({ kind: "review" });
        say(`not saved: ${describeError(error).message}`, "red");
      }
    }
  };

  const capture = mode.kind !== "table";
  useScreenKeys(
    active,
    "capture",
    (input, key) => {
      switch (mode.kind) {
        case "table":
          break;
        case "reveal":
          if (input === "y") {
            const r = allRows.find((x) => x.name === mode.name);
            if (r && r.value === undefined) void read([r.from ?? r.name]);
            setRevealed((s) => new Set([...s, mode.name]));
          }
          return setMode({ kind: "table" });
        case "reveal-all":
          if (input === "y") {
            void read();
            setRevealAll(true);
          }
          return setMode({ kind: "table" });
        case "quit":
          if (input === "y") tui.back();
          return setMode({ kind: "table" });
        case "review":
          if (key.return || input === "y") return void save();
          if (key.escape || input === "q" || input === "n") return setMode({ kind: "table" });
          if (key.downArrow || input === "j") return setReviewTop((t) => t + 1);
          if (key.upArrow || input === "k") return setReviewTop((t) => Math.max(0, t - 1));
          return;
        case "conflict":
          if (input === "r") {
            loaded.reload();
            say(
              "reloaded: your changes are reapplied on the latest version; review and save again",
              "yellow",
            );
            return setMode({ kind: "review" });
          }
          if (key.escape || input === "q") return setMode({ kind: "table" });
          return;
        case "saving":
        case "multiline":
          return;
        default:
          // text fields: Esc cancels, the field handles the rest
          if (key.escape) {
            if (mode.kind === "filter") setFilter("");
            setMode({ kind: "table" });
          }
          return;
      }
      setNotice(undefined);
      if (input === "?") return tui.help();
      if (input === "q" || key.escape) {
        if (filter !== "" && key.escape) return setFilter("");
        return count > 0 ? setMode({ kind: "quit" }) : tui.back();
      }
      if (input === "/") {
        setText(filter);
        return setMode({ kind: "filter" });
      }
      if (input === "s") return setSort((s) => SORTS[(SORTS.indexOf(s) + 1) % SORTS.length]!);
      if (input === "r") return loaded.reload();
      if (input === "h") return tui.push({ kind: "history", project, env });
      if (input === "V") {
        if (revealAll || revealed.size > 0) {
          setRevealAll(false);
          return setRevealed(new Set());
        }
        return setMode({ kind: "reveal-all" });
      }
      if ((key.return || input === " ") && row) {
        if (isRevealed(row.name)) {
          setRevealAll(false);
          return setRevealed((s) => new Set([...s].filter((n) => n !== row.name)));
        }
        return setMode({ kind: "reveal", name: row.name });
      }
      if (input.length === 1 && "aemndwu".includes(input) && !writable) return readOnly();
      const onlyPersonal =
        row && data && row.state === "same" && data.personal.has(row.name) && !data.stored.has(row.name);
      if (onlyPersonal && input.length === 1 && "emnd".includes(input))
        return say(
          `${row.name} is only your personal override: vault set --personal ${row.name}=... --env ${env.name}`,
          "yellow",
        );
      if (input === "a") {
        setText("");
        return setMode({ kind: "add-name" });
      }
      if (input === "w") {
        if (count === 0) return say("no pending changes", "yellow");
        setReviewTop(0);
        return setMode({ kind: "review" });
      }
      if (row) {
        if (input === "e" && row.state !== "removed") {
          setText(isRevealed(row.name) ? (row.value ?? "") : "");
          return setMode({ kind: "edit", name: row.name });
        }
        if (input === "m" && row.state !== "removed")
          return setMode({ kind: "multiline", name: row.name, isNew: false });
        if (input === "n" && row.state !== "removed") {
          setText(row.name);
          return setMode({ kind: "rename", name: row.name });
        }
        if (input === "d") {
          if (row.state === "added" || row.state === "renamed" || row.state === "removed") return undo(row);
          return setPending((p) => {
            const { [row.name]: _, ...set } = p.set;
            return { ...p, set, unset: [...p.unset, row.name] };
          });
        }
        if (input === "u") return undo(row);
      }
      const next = moveCursor(cursor, rows.length, input, key, tableHeight);
      setCursor(next);
      setTop((t) => windowStart(next, rows.length, tableHeight, t));
    },
    { ready: loaded.ready },
  );

  async function rename(from: string, name: string): Promise<void> {
    // The value moves to the new name: a stored one is read first (one audited read).
    let value = pending.set[from] ?? known[from];
    if (value === undefined && data?.stored.has(pending.renamed[from] ?? from)) {
      value = (await read([from]))?.[from];
      if (value === undefined) return;
    }
    setPending((p) => {
      const old = p.renamed[from] ?? from;
      const { [from]: _, ...set } = p.set;
      const { [from]: __, ...renamed } = p.renamed;
      const isStored = data ? data.stored.has(old) : false;
      return {
        set: { ...set, [name]: value ?? "" },
        unset: isStored && !p.unset.includes(old) ? [...p.unset, old] : p.unset,
        renamed: isStored ? { ...renamed, [name]: old } : renamed,
      };
    });
  }

  const submitName = (name: string, then: (name: string) => void) => {
    const trimmed = name.trim();
    if (!KEY_NAME.test(trimmed)) {
      say(
        `"${trimmed.slice(0, 40)}" is not a key name (letters, digits, _ . -; not starting with a digit)`,
        "red",
      );
      return setMode({ kind: "table" });
    }
    then(trimmed);
  };

  const keyExists = (name: string) => allRows.some((r) => r.name === name && r.state !== "removed");

  let prompt: ReactNode = null;
  switch (mode.kind) {
    case "filter":
      prompt = (
        <Text>
          /{" "}
          <TextField
            key={mode.kind}
            value={text}
            focus={active}
            onChange={(v) => {
              setText(v);
              setFilter(v);
              setCursor(0);
              setTop(0);
            }}
            onSubmit={() => setMode({ kind: "table" })}
          />
        </Text>
      );
      break;
    case "reveal":
      prompt = <ConfirmLine question={`Show the value of ${mode.name} on screen?`} />;
      break;
    case "reveal-all":
      prompt = <ConfirmLine question={`Show all ${rows.length} values on screen?`} />;
      break;
    case "quit":
      prompt = <ConfirmLine question={`Leave and drop ${count} pending change${count === 1 ? "" : "s"}?`} />;
      break;
    case "add-name":
      prompt = (
        <Text>
          new key name:{" "}
          <TextField
            key={mode.kind}
            value={text}
            focus={active}
            onChange={setText}
            onSubmit={(v) =>
              submitName(v, (name) => {
                if (keyExists(name)) {
                  say(`${name} exists already: edit it with e`, "red");
                  return setMode({ kind: "table" });
                }
                setText("");
                setMode({ kind: "add-value", name });
              })
            }
          />
        </Text>
      );
      break;
    case "add-value":
    case "edit":
      prompt = (
        <Text>
          {mode.kind === "edit" ? "new " : ""}value of {mode.name}:{" "}
          <TextField
            key={mode.kind}
            value={text}
            focus={active}
            masked={!isRevealed(mode.name)}
            onChange={setText}
            onSubmit={(v) => {
              setValue(mode.name, v);
              setMode({ kind: "table" });
            }}
          />
          <Text dimColor> (Enter keeps, Esc cancels)</Text>
        </Text>
      );
      break;
    case "rename":
      prompt = (
        <Text>
          rename {mode.name} to:{" "}
          <TextField
            key={mode.kind}
            value={text}
            focus={active}
            onChange={setText}
            onSubmit={(v) =>
              submitName(v, (name) => {
                setMode({ kind: "table" });
                if (name === mode.name) return;
                if (keyExists(name)) return say(`${name} exists already`, "red");
                void rename(mode.name, name);
              })
            }
          />
        </Text>
      );
      break;
    case "saving":
      prompt = <Text color="yellow">saving…</Text>;
      break;
    default:
      prompt = null;
  }

  if (mode.kind === "multiline") {
    return (
      <Box flexDirection="column">
        <Title>
          {env.name} <Text dimColor>editing {mode.name}</Text>
        </Title>
        <MultilineEditor
          label={`value of ${mode.name}${isRevealed(mode.name) ? "" : " (the current value stays hidden: type the new one)"}`}
          initial={isRevealed(mode.name) ? (rows.find((r) => r.name === mode.name)?.value ?? "") : ""}
          masked={!isRevealed(mode.name)}
          active={active}
          onDone={(v) => {
            setValue(mode.name, v);
            setMode({ kind: "table" });
          }}
          onCancel={() => setMode({ kind: "table" })}
        />
      </Box>
    );
  }

  if (mode.kind === "review" || mode.kind === "saving" || mode.kind === "conflict") {
    return (
      <Review
        rows={allRows.filter((r) => r.state !== "same")}
        stored={known}
        isRevealed={isRevealed}
        envName={env.name}
        base={data?.version}
        top={reviewTop}
        height={height}
        width={width}
        footer={
          mode.kind === "conflict" ? (
            <Box flexDirection="column">
              <Text color="red">{mode.message}</Text>
              <Text color="yellow">
                r: reload the latest version and reapply your changes · Esc: back to the table
              </Text>
            </Box>
          ) : mode.kind === "saving" ? (
            <Text color="yellow">saving…</Text>
          ) : (
            <Box flexDirection="column">
              {notice ? <Text color={notice.color}>{notice.text}</Text> : null}
              <Text color="yellow">Enter/y: save as one new version · Esc: back to editing</Text>
            </Box>
          )
        }
      />
    );
  }

  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        <Title>{env.name}</Title>
        {data ? (
          <Text dimColor>
            {" "}
            v{data.version} ·{" "}
            {rows.length === allRows.length
              ? `${allRows.length} keys`
              : `${rows.length} of ${allRows.length} keys`}
          </Text>
        ) : null}
        <Text dimColor> · sort: {SORT_LABEL[sort]}</Text>
        {writable ? null : <Text color="yellow"> [read-only: editing disabled]</Text>}
        {count > 0 ? <Text color="magenta"> · {count} pending (w: review and save)</Text> : null}
      </Text>
      {notice ? (
        <Text color={notice.color}>{notice.text}</Text>
      ) : (
        <Text dimColor>{filter ? `filter: ${filter}` : " "}</Text>
      )}
      {loaded.error ? <ErrorBox error={loaded.error} retry /> : null}
      {loaded.loading && !data ? <Loading what="secrets" /> : null}
      {data ? (
        <>
          <Text dimColor>
            {"   "}
            {pad("NAME", nameWidth)} {pad("VALUE", valueWidth)} {pad("CHANGED", versionWidth)}
          </Text>
          <Box height={tableHeight} flexDirection="column">
            <VirtualList
              items={rows}
              cursor={cursor}
              top={top}
              height={tableHeight}
              empty={filter ? `no key matches "${filter}"` : "no keys yet (a: add one)"}
              row={(r, _i, selected) => (
                <Text inverse={selected}>
                  {selected ? "›" : " "}
                  <Text color={MARK_COLOR[r.state]}>{MARK[r.state]}</Text>{" "}
                  <Text strikethrough={r.state === "removed"}>{pad(r.name, nameWidth)}</Text>{" "}
                  {pad(
                    shown(
                      r.state === "same" ? (resolved[r.name] ?? r.value) : r.value,
                      isRevealed(r.name),
                      valueWidth,
                    ),
                    valueWidth,
                  )}{" "}
                  <Text dimColor>
                    {pad(
                      data.personal.has(r.name) && r.state === "same"
                        ? "yours"
                        : r.version === undefined
                          ? r.state === "added"
                            ? "new"
                            : ""
                          : `v${r.version}`,
                      versionWidth,
                    )}
                  </Text>
                </Text>
              )}
            />
          </Box>
        </>
      ) : null}
      {capture ? prompt : null}
    </Box>
  );
}
