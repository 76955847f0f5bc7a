/**
 * Where libsql's native addon sits inside a compiled binary (a `/$bunfs/...`
 * path), or undefined when vault runs from source, where libsql loads it from
 * node_modules. scripts/compile.ts replaces this module with an import of the
 * addon file; nothing else should import it but ./addon.ts.
 */
export const embeddedAddon: string | undefined = undefined;
