// (b) The WASM build (web/pkg/) in Node: every corpus case's verdict, written as JSON to the file
// named by the first argument ({version, verdicts: {name: verdict}}).
//
//   node tests/wasm/parity-node.mjs target/parity/node.json

import { readFileSync, writeFileSync } from 'node:fs';

import * as api from '../../web/pkg/validator.js';
import { verdictsOf } from './verdicts.mjs';

const root = new URL('../../', import.meta.url);
api.initSync({ module: readFileSync(new URL('web/pkg/validator_bg.wasm', root)) });
const cases = JSON.parse(readFileSync(new URL('tests/fixtures/accounts-corpus.json', root), 'utf8'));
writeFileSync(process.argv[2], JSON.stringify(verdictsOf(api, cases)));
