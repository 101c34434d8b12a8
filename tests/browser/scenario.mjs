// scimbox's status page in a real browser (issue 6 item 6): headless Chromium (Debian's
// `chromium`) driven by playwright-core over the DevTools protocol. Started by
// tests/browser/run.sh, which installs what is missing, starts `scimbox serve` on a fresh
// database seeded through the CLI (a token, an admin, accounts and roles) and passes:
//
//   SCIMBOX_ORIGIN   http://127.0.0.1:PORT     SCIMBOX_TOKEN   the bearer token
//   SCIMBOX_ADMIN    the admin's name          SCIMBOX_PASSWORD  the admin's password
//   PLAYWRIGHT_CORE  the directory playwright-core is installed in
//   AXE_CORE         axe-core's axe.min.js (every swept page must have no axe violation)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   ARTIFACTS        where a failed check leaves a screenshot and the page's HTML
//   SCREENSHOTS      if set, a full-page screenshot of every page at every width goes there too
//
// This script first provisions users over SCIM (one with a userName of <script>alert(1)</script>)
// and one refused payload, then walks the pages like an admin would. Every check runs even when
// an earlier one failed (when it can); the last line is `browser: N passed, M failed`, and the
// exit status is 1 when any check failed.

import { createRequire } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) {
    console.error(`scenario.mjs: ${name} is not set (run tests/browser/run.sh)`);
    process.exit(2);
  }
  return v;
};
const origin = env("SCIMBOX_ORIGIN");
const token = env("SCIMBOX_TOKEN");
const adminName = env("SCIMBOX_ADMIN");
const password = env("SCIMBOX_PASSWORD");
const artifacts = env("ARTIFACTS", "target/browser");
const { chromium } = createRequire(join(resolve(env("PLAYWRIGHT_CORE")), "/"))("playwright-core");
const axeSource = readFileSync(env("AXE_CORE"), "utf8");

const USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User";
const XSS_NAME = "<script>alert(1)</script>";
const XSS_DISPLAY = `"><img src=x onerror="document.title='pwned'">`;

// ------------------------------------------------------------------------------ SCIM seeding

async function scim(method, path, body) {
  const res = await fetch(`${origin}/scim/v2${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      "User-Agent": "Okta SCIM Client 1.0.0",
      ...(body ? { "Content-Type": "application/scim+json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let groupId;

async function seed() {
  const users = {};
  const make = async (userName, extra) => {
    const r = await scim("POST", "/Users", { schemas: [USER_URN], userName, active: true, ...extra });
    if (r.status !== 201) throw new Error(`creating ${userName}: ${r.status} ${JSON.stringify(r.body)}`);
    users[userName] = r.body.id;
  };
  await make("ada.lovelace@acme.example", {
    name: { givenName: "Ada", familyName: "Lovelace" },
    displayName: "Ada Lovelace",
    emails: [{ primary: true, type: "work", value: "ada.lovelace@acme.example" }],
    password: "hunter2-Secret!",
    accounts: ['{"accountId":"ACME","roles":"Viewer"}', '{"accountId":"ACME-EU","roles":"Editor"}'],
  });
  await make("grace.hopper@acme.example", {
    name: { givenName: "Grace", familyName: "Hopper" },
    accounts: ['{"accountId":"ACME-US","roles":"Editor"}'],
  });
  await make(XSS_NAME, { displayName: XSS_DISPLAY, title: "</title><script>alert(2)</script>" });
  const deact = await scim("PATCH", `/Users/${users["grace.hopper@acme.example"]}`, {
    schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    Operations: [{ op: "replace", value: { active: false } }],
  });
  if (deact.status !== 200 && deact.status !== 204) throw new Error(`deactivating: ${deact.status}`);
  const group = await scim("POST", "/Groups", {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    displayName: "Acme Engineering",
    members: [{ value: users["ada.lovelace@acme.example"] }],
  });
  if (group.status !== 201) throw new Error(`creating the group: ${group.status}`);
  groupId = group.body.id;
  // The refused one: an attribute mapping that misspells accountId.
  const bad = await scim("POST", "/Users", {
    schemas: [USER_URN],
    userName: "pat.typo@acme.example",
    accounts: ['{"acountId":"ACME-US"}'],
  });
  if (bad.status !== 400) throw new Error(`the misspelt payload answered ${bad.status}, not 400`);
  return users;
}

// ------------------------------------------------------------------------------ checks

const results = [];
let page;

class CheckFailed extends Error {}

function expect(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

async function check(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`  ok    ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`  FAIL  ${name}: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
    try {
      mkdirSync(artifacts, { recursive: true });
      const file = join(artifacts, name.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, ""));
      await page.screenshot({ path: `${file}.png`, fullPage: true });
      writeFileSync(`${file}.html`, await page.content());
      console.log(`        at ${page.url()}; screenshot and HTML in ${file}.{png,html}`);
    } catch {
      // The page may be gone; the message above says what failed.
    }
  }
}

/** The visible text of the first element matching `selector`. */
async function text(selector) {
  return (await page.locator(selector).first().innerText({ timeout: 5000 })).trim();
}

/** Fails when the page's title changed or markup from a userName got in. */
async function assertNoInjection(path) {
  const title = await page.title();
  expect(title.endsWith("· scimbox") && !title.includes("pwned"), `${path}: document.title is ${JSON.stringify(title)}`);
  const injected = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => /alert\(/.test(s.textContent)).length,
    imgs: document.querySelectorAll("img[onerror]").length,
  }));
  expect(injected.scripts === 0 && injected.imgs === 0, `${path}: markup was injected: ${JSON.stringify(injected)}`);
}

/** Waits for a load of `path` (the origin's) to finish and the page to be the one expected. */
async function go(path) {
  const res = await page.goto(`${origin}${path}`, { waitUntil: "load" });
  expect(res && res.status() < 400, `GET ${path} answered ${res && res.status()}`);
  return res;
}

// ------------------------------------------------------------------------------ the scenario

const started = Date.now();
let users, browser;
try {
  users = await seed();
  browser = await chromium.launch({
    executablePath: env("CHROMIUM", "/usr/bin/chromium"),
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
} catch (e) {
  console.log(`  FAIL  set-up (seeding over SCIM, starting chromium): ${e.stack || e}`);
  console.log("browser: 0 passed, 1 failed");
  process.exit(1);
}
console.log(`browser: ${browser.version()}, driven by playwright-core`);
const context = await browser.newContext();
context.setDefaultTimeout(10_000);
page = await context.newPage();
const dialogs = [];
const pageErrors = [];
page.on("dialog", (d) => {
  dialogs.push(`${d.type()}: ${d.message()}`);
  d.dismiss().catch(() => {});
});
page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(`${page.url()}: ${m.text()}`);
});
const failedLoads = [];
page.on("response", (r) => {
  if (r.status() >= 400) failedLoads.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
});
const requests = [];
page.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));

await check("an admin page without a session goes to the login form", async () => {
  await page.goto(`${origin}/users`);
  expect(new URL(page.url()).pathname === "/login", `at ${page.url()}, not /login`);
  expect(await page.locator("input[name=password]").count() === 1, "no password field");
});

await check("a wrong password is refused with a message", async () => {
  await page.fill("input[name=name]", adminName);
  await page.fill("input[name=password]", "not the password");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button[type=submit]")]);
  const body = await text("main");
  expect(/wrong name or password/i.test(body), `no refusal message in: ${body.slice(0, 300)}`);
});

await check("log in (and land on the page asked for)", async () => {
  await page.goto(`${origin}/users`);
  await page.fill("input[name=name]", adminName);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForNavigation(), page.click("form[action='/login'] button[type=submit]")]);
  expect(new URL(page.url()).pathname === "/users", `after login at ${page.url()}`);
  expect((await text("header")).includes(adminName), "the header does not name the admin");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "scimbox_session");
  expect(session && session.httpOnly && session.sameSite === "Strict", `session cookie: ${JSON.stringify(session)}`);
});

await check("overview: users and the connection's requests", async () => {
  await go("/");
  const main = await text("main");
  const [active, inactive] = [await text("#users-active"), await text("#users-inactive")];
  expect(active === "2" && inactive === "1", `users active/inactive: ${active}/${inactive}, not 2/1`);
  expect(main.includes("browser"), "the token's connection is not listed");
  expect(main.includes("Okta SCIM Client 1.0.0"), "the connection's client is not shown");
});

await check("list users, search and filter", async () => {
  await go("/users");
  const table = await text("main table");
  for (const name of ["ada.lovelace@acme.example", "grace.hopper@acme.example", XSS_NAME]) {
    expect(table.includes(name), `${name} not listed`);
  }
  await page.fill("input[name=q]", "ada");
  await Promise.all([page.waitForNavigation(), page.press("input[name=q]", "Enter")]);
  const found = await text("main table");
  expect(found.includes("ada.lovelace") && !found.includes("grace.hopper"), `search "ada": ${found}`);
  await go("/users?status=inactive");
  const inactive = await text("main table");
  expect(inactive.includes("grace.hopper") && !inactive.includes("ada.lovelace"), `inactive: ${inactive}`);
});

await check("open a user: attributes, effective access over the tree, groups", async () => {
  await go("/users");
  await Promise.all([page.waitForNavigation(), page.click("a:has-text('ada.lovelace@acme.example')")]);
  expect(new URL(page.url()).pathname === `/users/${users["ada.lovelace@acme.example"]}`, `at ${page.url()}`);
  const main = await text("main");
  for (const want of ["Ada", "Lovelace", "ACME", "ACME-EU", "ACME-US", "Editor", "Viewer", "Acme Engineering"]) {
    expect(main.includes(want), `"${want}" missing from the user's page`);
  }
  expect(!main.includes("hunter2"), "the password shows on the user's page");
});

await check("journal: failures first, the refusal with its reason and fix", async () => {
  await go("/journal");
  await Promise.all([page.waitForNavigation(), page.click("a[href='/journal?failures=1']")]);
  const first = page.locator("main table tbody tr").first();
  const row = (await first.innerText()).trim();
  expect(/\b400\b/.test(row), `the first row is not the 400: ${row}`);
  expect(row.includes("acountId"), `the reason does not name the misspelt key: ${row}`);
  await Promise.all([page.waitForNavigation(), first.locator("a").first().click()]);
  const entry = await text("main");
  expect(/Why it failed/i.test(entry) && /fix/i.test(entry), `no reason/fix on the entry page: ${entry.slice(0, 500)}`);
  expect(entry.includes("line 1, column 2"), "the fix does not point at line 1, column 2");
  expect(entry.includes("Okta SCIM Client 1.0.0"), "the client is not shown");
});

await check("journal: a failure opens /check with its payload and the same verdict", async () => {
  await go("/journal?failures=1");
  await Promise.all([page.waitForNavigation(), page.locator("main table tbody tr").first().locator("a").first().click()]);
  const reason = await text(".notice.error");
  expect(/<code>|scimbox account list/.test(await page.locator(".notice.error").innerHTML()), "the fix's code is not code");
  const marked = await page.locator("#body .line.bad").allInnerTexts();
  expect(marked.length === 1 && marked[0].includes("acountId"), `marked lines: ${JSON.stringify(marked)}`);
  const sent = await text("#sent");
  expect(sent.includes("invalidValue") && sent.includes("acountId"), `the error sent back: ${sent}`);
  const body = (await text("#body")).trim();
  await Promise.all([page.waitForNavigation(), page.click("#open-check")]);
  expect(new URL(page.url()).pathname === "/check" && new URL(page.url()).searchParams.has("from"), `at ${page.url()}`);
  await page.waitForSelector("body[data-checker=ready]", { timeout: 15_000 });
  const value = await page.inputValue("#payload");
  expect(value.includes('"pat.typo@acme.example"') && value.includes("acountId"), `the textarea: ${value}`);
  expect(value.replace(/\s+/g, "") === body.replace(/\s+/g, ""), "the textarea is not the entry's body");
  const verdict = (await text("#verdict")).replace(/\s+/g, " ");
  expect(verdict.includes("1 fault") && verdict.includes('did you mean "accountId"'), `verdict: ${verdict}`);
  expect(reason.includes('did you mean "accountId"'), `the journal's reason: ${reason}`);
});

await check("overview: the trend charts show the traffic", async () => {
  await go("/");
  const charts = await page.locator("#trends svg[role=img]").count();
  expect(charts >= 2, `${charts} charts`);
  const caption = await text("#trend-h-0 figcaption");
  const m = caption.match(/(\d+) requests?/);
  expect(m && Number(m[1]) >= 5, `the 24-hour caption: ${caption}`);
  const bars = await page.locator("#trend-h-0 rect.ok").count();
  expect(bars === 24, `${bars} hourly bars`);
  // Local time: the script rewrote the UTC text and kept it in the tooltip.
  const t = page.locator("#trend-h-0 time[data-local]").first();
  expect((await t.getAttribute("title")).endsWith("UTC") && !(await t.innerText()).endsWith("UTC"), "the time is not local");
});

await check("users: filtered by account (direct or inherited) and sorted", async () => {
  await go("/accounts");
  await Promise.all([page.waitForNavigation(), page.click("a.count[href='/users?account=ACME-EU']")]);
  const rows = await text("main table");
  expect(rows.includes("ada.lovelace") && !rows.includes("grace.hopper"), `ACME-EU: ${rows}`);
  await Promise.all([page.waitForNavigation(), page.click("#sort-userName")]);
  expect(new URL(page.url()).searchParams.get("sort") === "userName", `at ${page.url()}`);
  expect((await page.getAttribute("#sort-userName", "href")).includes("sort=-userName"), "the next click is not descending");
});

await check("journal: the filter form narrows the rows and its address can be shared", async () => {
  await go("/journal");
  const before = await page.locator("main table.entries tbody tr").count();
  await page.selectOption("#f-outcome", "failed");
  await page.fill("#f-user", "pat.typo@acme.example");
  await Promise.all([page.waitForNavigation(), page.click("#journal-filters button[type=submit]")]);
  const url = new URL(page.url());
  expect(url.searchParams.get("outcome") === "failed" && url.searchParams.get("user") === "pat.typo@acme.example", `at ${page.url()}`);
  const rows = await page.locator("main table.entries tbody tr").allInnerTexts();
  expect(rows.length === 1 && rows.length < before && /\b400\b/.test(rows[0]) && rows[0].includes("pat.typo@acme.example"), `filtered rows: ${JSON.stringify(rows)} of ${before}`);
  const shared = await browser.newContext();
  try {
    const other = await shared.newPage();
    await other.goto(url.href);
    expect(new URL(other.url()).pathname === "/login", "a shared link still needs a login");
  } finally {
    await shared.close();
  }
  await go(`${url.pathname}${url.search}`);
  expect((await page.locator("main table.entries tbody tr").count()) === 1, "the same address, the same rows");
  expect((await page.inputValue("#f-user")) === "pat.typo@acme.example", "the form shows the filter in force");
  await go("/journal?connection=browser&outcome=succeeded");
  const ok = await page.locator("main table.entries .status").allInnerTexts();
  expect(ok.length > 0 && ok.every((s) => Number(s) < 400), `succeeded: ${ok.join(",")}`);
  const names = await page.locator("main table.entries .subject").allInnerTexts();
  expect(names.includes("ada.lovelace@acme.example") && names.includes("Acme Engineering"), `rows name their user or group: ${names.join(", ")}`);
});

await check("overview: a connection's failure count opens its failed requests", async () => {
  await go("/");
  await Promise.all([page.waitForNavigation(), page.click("#connections a.bad")]);
  const url = new URL(page.url());
  expect(url.pathname === "/journal" && url.searchParams.get("connection") === "browser" && url.searchParams.get("outcome") === "failed", `at ${page.url()}`);
  const statuses = await page.locator("main table.entries .status").allInnerTexts();
  expect(statuses.length === 1 && statuses[0] === "400", `rows: ${statuses.join(",")}`);
});

await check("journal: every entry's page, bodies redacted and escaped", async () => {
  await go("/journal");
  const links = await page.locator("main table tbody tr a[href^='/journal/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  let seenAda = false;
  for (const href of links) {
    await go(href);
    const body = await page.locator("main").innerText();
    expect(!body.includes("hunter2"), `${href} shows the password`);
    await assertNoInjection(href);
    if (body.includes("ada.lovelace@acme.example") && body.includes("POST")) seenAda = true;
  }
  expect(seenAda, "no journal entry shows Ada's create");
});

await check("escaping: a <script> userName stays text everywhere", async () => {
  for (const path of ["/users", `/users/${encodeURIComponent(users[XSS_NAME])}`, `/users?q=${encodeURIComponent("<script>alert(3)</script>")}`, "/journal"]) {
    await go(path);
    await page.waitForTimeout(50);
    await assertNoInjection(path);
  }
  await go(`/users/${encodeURIComponent(users[XSS_NAME])}`);
  const main = await page.locator("main").innerText();
  expect(main.includes(XSS_NAME), "the literal userName is not shown as text");
  expect(main.includes(XSS_DISPLAY), "the literal displayName is not shown as text");
  await go(`/users?q=${encodeURIComponent("<script>alert(3)</script>")}`);
  expect((await page.locator("main").innerText()).includes("<script>alert(3)</script>"), "the search is not echoed as text");
  expect(dialogs.length === 0, `dialogs opened: ${dialogs.join("; ")}`);
});


// ------------------------------------------------------------------------------ every page, two widths

const WIDTHS = [1280, 390];

/** Every page an admin can open once the data above exists. */
async function adminPages() {
  await page.setViewportSize({ width: 1280, height: 800 });
  await go("/journal?failures=1");
  const entry = await page.locator("main table tbody tr a[href^='/journal/']").first().getAttribute("href");
  // A userName wider than a phone in the page's h1 font (the demo's are about this long).
  const long = await scim("POST", "/Users", { schemas: [USER_URN], userName: "frances.elizabeth.allen@research.acme.example" });
  if (long.status !== 201) throw new Error(`creating the long userName: ${long.status}`);
  return [
    `/users/${encodeURIComponent(long.body.id)}`,
    "/", "/?refresh=30", "/users", "/users?account=ACME-EU&sort=-changed",
    `/users/${encodeURIComponent(users["ada.lovelace@acme.example"])}`, "/accounts", "/groups",
    `/groups/${encodeURIComponent(groupId)}`, "/tokens", "/journal", "/journal?failures=1", entry,
    `/check?from=${entry.split("/").pop()}`, "/check", "/webhooks",
  ];
}

/**
 * axe rules a page may break on purpose, with the reason. `meta-refresh` flags any timed
 * reload; the overview reloads only when the admin turned it on, and says so beside a link that
 * turns it off (WCAG 2.2.1 allows a time limit the user can turn off).
 */
const AXE_EXCEPT = { "/?refresh=30": ["meta-refresh"] };

/** The axe-core violations of the page shown, one line each. */
async function axeViolations(path) {
  // Evaluated over the DevTools protocol, which the page's Content-Security-Policy does not
  // govern: no inline script is added to the page.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(axeSource);
  const off = Object.fromEntries((AXE_EXCEPT[path] ?? []).map((id) => [id, { enabled: false }]));
  return page.evaluate(async (rules) => {
    const r = await window.axe.run(document, { resultTypes: ["violations"], rules });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
  }, off);
}

/**
 * Loads `path` at `width` and fails on a page wider than the screen, a console error, a failed
 * load (a missing favicon, say), or not exactly one h1. At phone width, `visible` lists selectors
 * whose every match must lie within the screen's width (status, Why/Fix, actions).
 */
async function sweep(path, width, visible = []) {
  await page.setViewportSize({ width, height: 800 });
  consoleErrors.length = 0;
  failedLoads.length = 0;
  await go(path);
  if (path.startsWith("/check")) await page.waitForSelector("body[data-checker=ready]", { timeout: 15_000 });
  await page.waitForTimeout(100); // a favicon is fetched after load
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    h1: document.querySelectorAll("h1").length,
    notTables: [...document.querySelectorAll("table")].filter((t) => getComputedStyle(t).display !== "table").length,
  }));
  // On a wide screen a table is a table; only phones get the stacked rows.
  expect(width < 600 || m.notTables === 0, `${path} at ${width}px: ${m.notTables} tables are not laid out as tables`);
  if (process.env.SCREENSHOTS) {
    const name = `${width}${path.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "")}`.slice(0, 80);
    await page.screenshot({ path: join(artifacts, `page-${name}.png`), fullPage: true });
  }
  expect(m.scroll <= m.inner, `${path} at ${width}px is ${m.scroll}px wide`);
  expect(m.h1 === 1, `${path} has ${m.h1} h1 elements`);
  const violations = await axeViolations(path);
  expect(violations.length === 0, `${path} at ${width}px: axe: ${violations.join("; ")}`);
  expect(consoleErrors.length === 0, `${path} at ${width}px: console errors: ${consoleErrors.join("; ")}`);
  expect(failedLoads.length === 0, `${path} at ${width}px: failed loads: ${failedLoads.join("; ")}`);
  for (const sel of visible) {
    const boxes = await page.locator(sel).evaluateAll((els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      return { left: r.left, right: r.right, width: r.width, shown: r.width > 0 && r.height > 0 };
    }));
    expect(boxes.length > 0, `${path}: nothing matches ${sel}`);
    for (const b of boxes) {
      expect(b.shown && b.left >= 0 && b.right <= m.inner + 0.5, `${path} at ${width}px: ${sel} is at ${b.left}..${b.right} of ${m.inner}`);
    }
  }
}

/** [`sweep`] of every path at every width; fails once, with every page's problem. */
async function sweepAll(paths, visible) {
  const problems = [];
  for (const width of WIDTHS) {
    for (const path of paths) {
      try {
        await sweep(path, width, visible(path, width));
      } catch (e) {
        if (!(e instanceof CheckFailed)) throw e;
        problems.push(e.message);
      }
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  expect(problems.length === 0, problems.join("\n        "));
}

/** What must stay on screen on a phone, per page. */
const MUST_SHOW = {
  "/": ["#connections td", "nav[aria-label=Main] a"],
  "/users": ["#users .badge", "#users th a"],
  "/tokens": ["#tokens .badge", "#tokens button", "#tokens th"],
  "/journal?failures=1": [".entries .status", ".entries .reason", ".entries .fix", ".entries .path"],
  "/webhooks": ["#webhooks .badge", "#webhooks .lag", "#webhooks .error", "#webhooks button", "#webhooks input[name=from]"],
};

await check("every admin page at 1280 and 390 px: no sideways scroll, no console error, one h1, no axe violation", async () => {
  const pages = await adminPages();
  await sweepAll(pages, (path, width) => (width < 600 ? MUST_SHOW[path] ?? [] : []));
});

await check("navigation comes before Log out in tab order, and wraps on a phone", async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await go("/");
  const order = await page.evaluate(() => {
    const all = [...document.querySelectorAll("a[href], button, input:not([type=hidden])")];
    return { nav: all.findIndex((e) => e.closest("nav[aria-label=Main]")), logout: all.findIndex((e) => e.closest("form[action='/logout']")) };
  });
  expect(order.nav >= 0 && order.nav < order.logout, `focus order: ${JSON.stringify(order)}`);
  const nav = await page.locator("nav[aria-label=Main] ul").evaluate((ul) => ({ scroll: ul.scrollWidth, client: ul.clientWidth }));
  expect(nav.scroll <= nav.client, `the navigation scrolls sideways: ${JSON.stringify(nav)}`);
  await page.setViewportSize({ width: 1280, height: 800 });
});

const GOOD = `{"accountId": "ACME-EU", "roles": ["Editor"], "teams": "Payments"}`;
const BAD = `[\n  {"accountId": "ACME"},\n  {"acountId": "GLOBEX"}\n]`;
const UNREGISTERED = `{"accountId": "NOPE-42"}`;
// A 25-line User body whose payload string on line 24 has an unknown key after escapes (`\"`,
// `\n`): the fault is on line 24 of the body, not on line 2 of the string (issue 13 item 5).
const FILLER = Array.from({ length: 20 }, (_, i) => `  "x-note-${i + 3}": "note ${i + 3}",`).join("\n");
const BODY = `{\n  "userName": "bjensen",\n${FILLER}\n  "displayName": "B. Jensen",\n  "accounts": ["{\\"accountId\\":\\"ACME\\",\\n\\"acountId\\":\\"X\\"}"]\n}`;
const BODY_LINE = BODY.split("\n")[23];
const BODY_COLUMN = Array.from(BODY_LINE.slice(0, BODY_LINE.indexOf(`\\"acountId`))).length + 1;

/** Types into the checker and waits for the verdict the page's WASM gives. */
async function verdictFor(payload) {
  await page.fill("#payload", "");
  await page.fill("#payload", payload);
  await page.waitForFunction(
    (n) => document.querySelector("#verdict-summary") && document.querySelector("#payload").value.length === n,
    payload.length,
  );
  await page.waitForTimeout(400); // the checker debounces typing (120 ms)
  return (await text("#verdict")).replace(/\s+/g, " ");
}

await check("/check: the WASM checker loads and gives a good payload's verdict", async () => {
  requests.length = 0;
  await go("/check");
  await page.waitForSelector("body[data-checker=ready]", { timeout: 15_000 });
  expect(requests.some((r) => r.endsWith("/assets/validator_bg.wasm")), `no WASM fetched: ${requests.join(", ")}`);
  const v = await verdictFor(GOOD);
  expect(/^Valid/.test(v), `verdict: ${v}`);
  expect(!requests.includes("POST /check"), "the verdict came from the server, not the browser");
});

await check("/check: a bad payload's faults with line and column", async () => {
  const v = await verdictFor(BAD);
  expect(/1 fault/.test(v), `verdict: ${v}`);
  expect(v.includes("line 3, column 4"), `no position in: ${v}`);
  expect(v.includes("acountId") && v.includes("accountId"), `no suggestion in: ${v}`);
  const bad = await page.locator("#gutter .bad").allInnerTexts();
  expect(bad.length === 1 && bad[0] === "3", `gutter marks ${JSON.stringify(bad)}`);
  expect(!requests.includes("POST /check"), "the verdict came from the server, not the browser");
});

await check("/check: a fault in a User body is marked and jumped to at its line in the body", async () => {
  expect(BODY.split("\n").length === 25, `the body has ${BODY.split("\n").length} lines`);
  const v = await verdictFor(BODY);
  const at = `line 24, column ${BODY_COLUMN}`;
  expect(/1 fault/.test(v) && v.includes(`accounts[0] (${at}): unknown key`), `verdict: ${v}`);
  const bad = await page.locator("#gutter .bad").allInnerTexts();
  expect(bad.length === 1 && bad[0] === "24", `gutter marks ${JSON.stringify(bad)}`);
  await page.click("#faults button.pos");
  const caret = await page.evaluate(() => {
    const area = document.querySelector("#payload");
    const lines = area.value.slice(0, area.selectionStart).split("\n");
    const selected = area.value.slice(area.selectionStart, area.selectionEnd);
    return { line: lines.length, column: Array.from(lines[lines.length - 1]).length + 1, selected };
  });
  expect(
    caret.line === 24 && caret.column === BODY_COLUMN && caret.selected === "\\",
    `the jump went to ${JSON.stringify(caret)}, not ${at}`,
  );
});

await check("/check: an admin's example names a registered account and role", async () => {
  const example = await text("#example");
  expect(example === `{"accountId": "ACME", "roles": ["Admin"]}`, `example: ${example}`);
  const v = await verdictFor(example);
  expect(/^Valid/.test(v), `the example's verdict: ${v}`);
});

await check("/check: an admin's check uses the registry", async () => {
  const v = await verdictFor(UNREGISTERED);
  expect(/fault/.test(v) && v.includes("NOPE-42"), `an unregistered account passed for an admin: ${v}`);
});

await check("/check: keeps working offline once loaded", async () => {
  await context.setOffline(true);
  try {
    const v = await verdictFor(GOOD.replace("Payments", "Offline"));
    expect(/^Valid/.test(v), `offline verdict: ${v}`);
  } finally {
    await context.setOffline(false);
  }
});

await check("Copy buttons: the SCIM base URL and a new token reach the clipboard", async () => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
  await go("/");
  const url = await page.inputValue("#scim-url");
  expect(url === `${origin}/scim/v2`, `the overview shows ${url}`);
  await page.click("button[data-copy=scim-url]");
  await page.waitForFunction(() => document.querySelector("#scim-url-copied").textContent.includes("Copied"));
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied === url, `the clipboard holds ${copied}`);
  await go("/tokens");
  await page.fill("#token-name", "copied");
  await Promise.all([page.waitForNavigation(), page.click("#create-token button[type=submit]")]);
  const secret = await page.inputValue("#new-token");
  await page.click("button[data-copy=new-token]");
  await page.waitForFunction(() => document.querySelector("#new-token-copied").textContent.includes("Copied"));
  const token = await page.evaluate(() => navigator.clipboard.readText());
  expect(secret.startsWith("scimbox_") && token === secret, "the new token was not copied");
});

await check("revoke needs a second, explicit step (no JavaScript involved)", async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await go("/tokens");
  await page.fill("#token-name", "doomed");
  await Promise.all([page.waitForNavigation(), page.click("#create-token button[type=submit]")]);
  await Promise.all([page.waitForNavigation(), page.click("button[aria-label='Revoke doomed']")]);
  expect(new URL(page.url()).pathname === "/tokens/doomed/revoke", `after Revoke at ${page.url()}`);
  expect((await text("main")).includes("Revoke “doomed”?"), "no confirmation asked");
  const wide = await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth);
  expect(wide, "the confirmation page is wider than a phone");
  // The box is required: submitting without it stays on the page and revokes nothing.
  await page.click("#revoke-confirm button[type=submit]");
  await page.waitForTimeout(200);
  expect(new URL(page.url()).pathname === "/tokens/doomed/revoke", "an unticked confirmation was sent");
  await page.check("#confirm-revoke");
  await Promise.all([page.waitForNavigation(), page.click("#revoke-confirm button[type=submit]")]);
  expect(new URL(page.url()).search === "?revoked=doomed", `after confirming at ${page.url()}`);
  const row = await page.locator("#tokens tr", { hasText: "doomed" }).innerText();
  expect(row.includes("revoked"), `the token is not revoked: ${row}`);
  await page.setViewportSize({ width: 1280, height: 800 });
});

await check("webhooks: state, lag and last error; replay needs a second, explicit step", async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await go("/");
  expect(await page.locator("nav[aria-label=Main] a[href='/webhooks']").count() === 1, "no Webhooks in the navigation");
  await go("/webhooks");
  const row = page.locator("#webhooks tbody tr", { hasText: "billing" });
  // The receiver is never there: the first attempt fails within a second or two.
  for (let i = 0; i < 30 && !(await row.innerText()).includes("retrying"); i++) {
    await page.waitForTimeout(500);
    await go("/webhooks");
  }
  const shown = await row.innerText();
  expect(shown.includes("retrying") && /\d+ events? behind/.test(shown) && /refused|connect/i.test(shown), `the row: ${shown}`);
  const from = await row.locator("input[name=from]").inputValue();
  await Promise.all([page.waitForNavigation(), row.locator("button[aria-label='Replay billing']").click()]);
  expect(new URL(page.url()).pathname === "/webhooks/billing/replay", `after Replay at ${page.url()}`);
  expect((await text("#replay-warning")).includes(`every kept event from ${from} on again`), "no confirmation asked");
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), "the confirmation is wider than a phone");
  await page.click("#replay-confirm button[type=submit]");
  await page.waitForTimeout(200);
  expect(new URL(page.url()).pathname === "/webhooks/billing/replay", "an unticked confirmation was sent");
  await page.check("#confirm-replay");
  await Promise.all([page.waitForNavigation(), page.click("#replay-confirm button[type=submit]")]);
  expect(new URL(page.url()).search === `?replayed=billing&from=${from}`, `after confirming at ${page.url()}`);
  expect((await text("#notice")).includes(`delivers again from event ${from}`), "the replay is not announced");
  await page.setViewportSize({ width: 1280, height: 800 });
});

await check("log out ends the session", async () => {
  await go("/");
  await Promise.all([page.waitForNavigation(), page.click("form[action='/logout'] button")]);
  await page.goto(`${origin}/users`);
  expect(new URL(page.url()).pathname === "/login", `after logout /users is at ${page.url()}`);
});

await check("the login page and the checker, logged out, at 1280 and 390 px", async () => {
  await sweepAll(["/login", "/check"], () => []);
});

await check("/check is public: a visitor gets the payload rules only", async () => {
  await go("/check");
  await page.waitForSelector("body[data-checker=ready]", { timeout: 15_000 });
  const v = await verdictFor(UNREGISTERED);
  expect(/^Valid/.test(v), `a visitor's check used the registry: ${v}`);
  const bad = await verdictFor(BAD);
  expect(bad.includes("line 3, column 4"), `visitor's bad verdict: ${bad}`);
  const example = await text("#example");
  expect(example === `{"accountId": "ACC123", "roles": ["Editor"]}`, `a visitor's example: ${example}`);
});

await check("no JavaScript errors and no dialogs on any page", async () => {
  expect(pageErrors.length === 0, pageErrors.join("; "));
  expect(dialogs.length === 0, dialogs.join("; "));
});

await browser.close();
const failed = results.filter((r) => !r.ok).length;
console.log(`browser: ${results.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
