// Builds the static checker page, ballot/static/build/check-challenge.html: one self-contained
// HTML file (the checker's script inlined as a classic script) that works opened from a file,
// with no server, so that a voter or an auditor can check a challenge without trusting the
// service it checks (docs/protocol.md 12.6, docs/auditor-guide.md).
import { build } from "esbuild";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";

const result = await build({
  entryPoints: ["js/pages/checker.js"],
  bundle: true,
  format: "iife",
  target: "es2020",
  write: false,
  minify: false,
  legalComments: "inline",
});
const code = result.outputFiles[0].text.replace(/<\/script/gi, "<\\/script").replace(/<!--/g, "<\\!--");
const page = readFileSync("js/checker/check-challenge.html", "utf8");
if (!page.includes("<!-- SCRIPT -->")) throw new Error("the template has no <!-- SCRIPT --> mark");
mkdirSync("ballot/static/build", { recursive: true });
writeFileSync(
  "ballot/static/build/check-challenge.html",
  page.replace("<!-- SCRIPT -->", () => `<script>\n${code}</script>`),
);
