#!/usr/bin/env bash
# Refreshes the GraphiQL files the service serves itself (src/spendlimits/static/graphiql/vendor/).
#
# Run by hand when upgrading, with npm pointed at its usual registry; the output is committed, so
# neither the service nor its tests ever need the network. GraphiQL 3 is the last major release
# with a standalone (UMD) build that runs from plain <script> tags with React 18's UMD builds; 4
# dropped it and 5 needs a bundler. The licences gathered are those of graphiql's whole dependency
# tree, because graphiql.min.js bundles that tree (React and ReactDOM are loaded beside it).
set -euo pipefail

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

cd "$(dirname "$0")/.."
dest=src/spendlimits/static/graphiql/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(
  cd "$work"
  npm init --yes >/dev/null
  npm install --ignore-scripts --no-audit --no-fund --save-exact \
    "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
)
modules="$work/node_modules"

rm -rf "$dest"
mkdir -p "$dest"
# The source map is not shipped (4 MB): drop the comment that would make DevTools ask for it.
sed '/^\/\/# sourceMappingURL=/d' "$modules/graphiql/graphiql.min.js" >"$dest/graphiql.min.js"
cp "$modules/graphiql/graphiql.min.css" "$dest/graphiql.min.css"
cp "$modules/react/umd/react.production.min.js" "$dest/react.production.min.js"
cp "$modules/react-dom/umd/react-dom.production.min.js" "$dest/react-dom.production.min.js"

node - "$work" "$dest" <<'JS'
// VERSIONS.txt: what was vendored, with npm's integrity hashes. LICENSES.txt: every package
// installed (the bundled tree plus React), with its licence text.
const fs = require("fs");
const path = require("path");
const [work, dest] = process.argv.slice(2);
const lock = JSON.parse(fs.readFileSync(path.join(work, "package-lock.json"), "utf8"));
const entries = Object.entries(lock.packages)
  .filter(([p]) => p.startsWith("node_modules/"))
  .map(([p, meta]) => ({ dir: path.join(work, p), name: p.replace(/^.*node_modules\//, ""), ...meta }))
  .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));

const vendored = ["graphiql", "react", "react-dom"].map((name) => {
  const meta = lock.packages[`node_modules/${name}`];
  return `${name}@${meta.version} ${meta.integrity}`;
});
fs.writeFileSync(
  path.join(dest, "VERSIONS.txt"),
  "Vendored by scripts/vendor_graphiql.sh from the npm packages:\n" + vendored.join("\n") + "\n",
);

const licenceFile = (dir) =>
  fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
let text = "Licences of the packages in vendor/ and of everything graphiql.min.js bundles.\n";
for (const e of entries) {
  const file = licenceFile(e.dir);
  text += `\n${"=".repeat(78)}\n${e.name}@${e.version} (${e.license || "see below"})\n${"=".repeat(78)}\n`;
  text += file ? fs.readFileSync(path.join(e.dir, file), "utf8").trim() + "\n" : "(no licence file in the package: its package.json declares the licence named above)\n";
}
fs.writeFileSync(path.join(dest, "LICENSES.txt"), text);
JS

ls -l "$dest"
