// Only for tests/vectors/js_generate.mjs, which still imports this path. The code is in js/tally/,
// one module per module of tally/; js/tally/index.js re-exports their API. Delete this file once
// nothing imports it.
export * from "./tally/index.js";
