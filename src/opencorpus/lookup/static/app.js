// The canonical hash (docs/ARCHITECTURE.md "Contracts"), computed in the browser, then GET /v1/documents/{sha256}.
"use strict";

const ASCII_WS = "[ \\t\\n\\x0B\\x0C\\r]";
const TRIM = new RegExp(`^${ASCII_WS}+|${ASCII_WS}+$`, "g");

// Strict UTF-8 (invalid bytes throw, never replaced); keep the BOM so exactly one is dropped below.
function decode(bytes) {
  return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
}

function canonicalText(text) {
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  text = text.replace(/\r\n/g, "\n").replace(/\r/g, "\n");
  return text.normalize("NFC").replace(TRIM, "");
}

async function canonicalHash(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalText(text)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function evidenceLines(evidence) {
  const list = el("ul", undefined, "evidence");
  for (const item of evidence || []) {
    const parts = [item.method, item.where, item.matched || item.text].filter(Boolean);
    list.append(el("li", parts.length ? parts.join(" · ") : JSON.stringify(item)));
  }
  return list;
}

function showMatch(match) {
  const card = el("article", undefined, "match");
  card.append(el("h2", match.license || "NOASSERTION", "license"));
  const facts = el("dl");
  const rows = [["id", match.id], ["source", match.source], ["url", match.url], ["path", match.path],
                ["shard, line", match.part !== undefined ? `part ${match.part}, line ${match.line}` : undefined],
                ["matched", (match.matched || []).join(", ")]];
  if (match.duplicate_of) rows.push(["duplicate of", match.duplicate_of]);
  if (match.removed) rows.push(["removed copy", `${match.removed.id} (${match.removed.stage}: ${match.removed.reason})`]);
  for (const [key, value] of rows) {
    if (value === undefined || value === "") continue;
    facts.append(el("dt", key), el("dd", String(value)));
  }
  card.append(facts);
  if (match.evidence && match.evidence.length) card.append(el("h3", "Evidence"), evidenceLines(match.evidence));
  return card;
}

function setState(state, message) {
  document.getElementById("result").dataset.state = state;
  document.getElementById("status").textContent = message;
}

async function lookUp(getText) {
  const matches = document.getElementById("matches");
  matches.replaceChildren();
  document.getElementById("hash").textContent = "—";
  setState("busy", "Hashing…");
  if (!window.crypto || !crypto.subtle) {
    setState("error", "This browser offers Web Crypto only on https:// or localhost pages; open the page there.");
    return;
  }
  let hash;
  try {
    hash = await canonicalHash(await getText());
  } catch (err) {
    setState("error", err instanceof TypeError ? "The file is not valid UTF-8 text, so it has no canonical hash." : String(err));
    return;
  }
  document.getElementById("hash").textContent = hash;
  setState("busy", "Looking up…");
  const response = await fetch(`/v1/documents/${hash}`);
  const answer = await response.json();
  if (response.status === 404) {
    const removed = (answer.matches || []).find((m) => m.removed);
    const taken = answer.taken_down;
    const older = answer.older_versions_with_it || [];
    setState("done", taken ? `Not in the corpus: taken down in ${taken.version} (${taken.reason}; request ${taken.request}).`
                             + (older.length ? ` Older versions that still hold it: ${older.join(", ")}.` : "")
                     : removed ? `Not in the corpus: removed (${removed.removed.stage}: ${removed.removed.reason}).`
                     : "Not in the corpus: no document of this snapshot has this hash.");
    if (removed) matches.append(showMatch(removed));
    return;
  }
  if (!response.ok) {
    setState("error", `The server answered ${response.status}.`);
    return;
  }
  const n = answer.matches.length;
  setState("done", `Found: ${n} match${n === 1 ? "" : "es"}. License: ${answer.license}.`);
  for (const match of answer.matches) matches.append(showMatch(match));
}

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("form");
  const text = document.getElementById("text");
  const file = document.getElementById("file");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp(async () => text.value);
  });
  file.addEventListener("change", () => {
    if (file.files.length) lookUp(async () => decode(await file.files[0].arrayBuffer()));
  });
  try {
    const info = (await (await fetch("/v1/snapshots")).json()).snapshots[0];
    document.getElementById("snapshot").textContent =
      `Snapshot ${info.corpus} ${info.version} (${info.date}), ${info.documents.toLocaleString("en")} documents, ` +
      `manifest sha256 ${info.digest.slice(0, 16)}…`;
  } catch (err) {
    document.getElementById("snapshot").textContent = "Snapshot details unavailable.";
  }
});
