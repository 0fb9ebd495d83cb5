// Copies GraphQL Code Generator's persisted-documents manifest to the server's trusted documents:
// src/spendlimits/static/trusted-documents.json, an object {sha256 hex of the document text: the
// text}. Each hash is checked against its text first, so a manifest built with another algorithm
// or a text changed after hashing stops here rather than at the server's start.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

const source = "src/gql/persisted-documents.json";
const target = "../../src/spendlimits/static/trusted-documents.json";

const manifest = JSON.parse(readFileSync(source, "utf8"));
const documents = {};
for (const [key, text] of Object.entries(manifest).sort(([a], [b]) => a.localeCompare(b))) {
  const hash = key.replace(/^sha256:/, "");
  const actual = createHash("sha256").update(text, "utf8").digest("hex");
  if (hash !== actual) {
    console.error(`${source}: ${key} is not the sha256 of its text (${actual})`);
    process.exit(1);
  }
  documents[hash] = text;
}
writeFileSync(target, JSON.stringify(documents, null, 2) + "\n");
console.log(`${Object.keys(documents).length} trusted documents written to ${target}`);
