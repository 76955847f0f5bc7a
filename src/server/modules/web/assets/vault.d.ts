/** vault.js, imported as text (`with { type: "text" }`) and served by assets.ts. */
declare const text: string;
export default text;
