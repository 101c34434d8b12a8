// One corpus case's verdict from the WASM build, as the JSON string the module returns. Shared by
// the Node run (parity-node.mjs) and the Chromium page (parity.html), so both call the module the
// same way; the native run (tests/api/parity.rs) calls the same check functions in Rust.

export function verdictOf(api, c) {
    const catalogue = c.catalogue === undefined ? undefined : JSON.stringify(c.catalogue);
    switch (c.kind) {
        case 'payloads': return api.checkPayloads(c.text, catalogue);
        case 'user': return api.checkUser(c.text, catalogue);
        case 'patch': return api.checkPatch(c.text, catalogue);
        case 'filter': return api.checkFilter(c.text);
        default: throw new Error(`${c.name}: unknown kind ${c.kind}`);
    }
}

export function verdictsOf(api, cases) {
    return { version: api.version(), verdicts: Object.fromEntries(cases.map((c) => [c.name, verdictOf(api, c)])) };
}
