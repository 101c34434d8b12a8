// Compares the verdicts of the parity run in DIR (scripts/parity.sh): the native crate's
// (native.json, the expected ones, written by tests/api/parity.rs), the real server's agreement
// with them (server.json, same test), and the WASM build's in Node (node.json) and in Chromium
// (chromium.json). Prints one summary line, or the cases that differ and exits 1.
//
//   node tests/wasm/compare.mjs target/parity

import { readFileSync } from 'node:fs';

const dir = process.argv[2];
const load = (f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
const { version, verdicts: native } = load('native.json');
const server = load('server.json').agreement;
const runs = { node: load('node.json'), chromium: load('chromium.json') };

const names = Object.keys(native);
const problems = [];
for (const [run, { version: v }] of Object.entries(runs)) {
    if (v !== version) problems.push(`${run}: the module says version ${v}, the crate is ${version}`);
}
for (const name of names) {
    const differ = [];
    if (!server[name]) differ.push('  server:   no agreement recorded');
    for (const [run, { verdicts }] of Object.entries(runs)) {
        if (verdicts[name] !== native[name]) differ.push(`  ${run.padEnd(9)} ${verdicts[name]}`);
    }
    if (differ.length) problems.push(`${name}\n  native:   ${native[name]}\n${differ.join('\n')}`);
}
for (const [run, { verdicts }] of Object.entries(runs)) {
    const extra = Object.keys(verdicts).filter((n) => !(n in native));
    if (extra.length) problems.push(`${run} has cases the native run has not: ${extra.join(', ')}`);
}
if (problems.length) {
    console.error(`parity: ${problems.length} problem(s) in ${names.length} cases:\n\n${problems.join('\n\n')}`);
    process.exit(1);
}
console.log(`parity: ${names.length} cases, 4 verdicts each, all identical`);
