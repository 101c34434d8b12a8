// The payload checker's live verdict (/check). Loads the validator's WebAssembly build once, then
// checks the text as it is typed, entirely in the browser: nothing leaves the page, and it keeps
// working offline. Without JavaScript the form posts to /check and the server renders the same
// verdict with the same Rust function (scimbox_validator::check::check_payloads).
import init, { checkPayloads } from "/assets/validator.js";

const form = document.getElementById("check-form");
const area = document.getElementById("payload");
const gutter = document.getElementById("gutter");
const verdict = document.getElementById("verdict");
const hint = document.getElementById("check-hint");
const catalogueElement = document.getElementById("catalogue");
// The registry's accounts and roles, present when an admin is logged in.
const catalogue = catalogueElement ? catalogueElement.textContent : undefined;

/** Creates an element with a class and text (never HTML). */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Numbers the gutter's lines, marking those with a fault. */
function drawGutter(lines, bad) {
  const spans = [];
  for (let n = 1; n <= lines; n++) {
    const span = el("span", bad.has(n) ? "bad" : "", String(n));
    spans.push(span);
  }
  gutter.replaceChildren(...spans);
  gutter.scrollTop = area.scrollTop;
}

/**
 * Selects the character at a 1-based line and column of the text: the place a fault's position
 * names, the same line the gutter marks (positions inside payload strings are in the text too,
 * escapes counted, so this never lands inside a string's own numbering).
 */
function jumpTo(line, column) {
  const lines = area.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  // Columns count characters; JavaScript strings count UTF-16 units.
  const chars = Array.from(lines[line - 1] || "");
  offset += chars.slice(0, Math.max(column - 1, 0)).join("").length;
  const here = chars[column - 1] || " ";
  area.focus();
  area.setSelectionRange(offset, offset + here.length);
}

/** One fault as a list item: "line L, column C", the scimType and the detail. */
function faultItem(fault) {
  const li = el("li");
  if (fault.line) {
    const where = fault.column ? `line ${fault.line}, column ${fault.column}` : `line ${fault.line}`;
    const pos = el("button", "pos", where);
    pos.type = "button";
    pos.title = "Show this place in the text";
    pos.addEventListener("click", () => jumpTo(fault.line, fault.column || 1));
    li.append(pos, " ");
  }
  li.append(el("code", "type", fault.scimType), " ", el("span", "detail", fault.detail));
  return li;
}

/** Shows a verdict in the page, as the server would render it. */
function show(result) {
  const nodes = [];
  if (result.valid) {
    nodes.push(el("p", "verdict ok", "Valid: scimbox would accept this."));
  } else {
    const n = result.errors.length;
    nodes.push(el("p", "verdict bad", `${n} ${n === 1 ? "fault" : "faults"}: scimbox would refuse this.`));
    const list = el("ol", "faults");
    list.id = "faults";
    list.append(...result.errors.map(faultItem));
    nodes.push(list);
  }
  nodes[0].id = "verdict-summary";
  verdict.replaceChildren(...nodes);
  const bad = new Set(result.errors.map((f) => f.line).filter(Boolean));
  drawGutter(area.value.split("\n").length, bad);
}

/** Checks the text now; an empty text clears the verdict. */
function check() {
  if (area.value.trim() === "") {
    verdict.replaceChildren();
    drawGutter(area.value.split("\n").length, new Set());
    return;
  }
  show(JSON.parse(checkPayloads(area.value, catalogue)));
}

let timer;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(check, 120);
}

area.addEventListener("scroll", () => {
  gutter.scrollTop = area.scrollTop;
});

try {
  await init();
  area.addEventListener("input", schedule);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    check();
  });
  document.body.dataset.checker = "ready";
  hint.textContent = "Checked as you type, in your browser; it keeps working offline.";
  if (area.value.trim() !== "") check();
} catch (error) {
  // The form still posts to the server.
  document.body.dataset.checker = "unavailable";
  hint.textContent = "The in-browser checker could not start; the Check button asks the server instead.";
  console.error(error);
}
