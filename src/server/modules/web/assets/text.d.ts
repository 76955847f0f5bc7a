/** vault.css, imported as text (`with { type: "text" }`) and served by assets.ts. */
declare module "*/vault.css" {
  const text: string;
  export default text;
}
