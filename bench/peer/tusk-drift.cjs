// The peer in `npm run bench`: the Tusk Drift Node SDK recording locally, as its docs set it up.
// Loaded before the app (`--import` of this file), with TUSK_DRIFT_MODE=RECORD and, in the working
// directory, a .tusk/config.yaml that keeps spans local (export_spans: false) as JSONL traces.
const { register } = require('node:module');
const { pathToFileURL } = require('node:url');

// ES modules (the demo app is one) are hooked through import-in-the-middle, the SDK's loader.
register('@use-tusk/drift-node-sdk/hook.mjs', pathToFileURL(__filename));
const { TuskDrift } = require('@use-tusk/drift-node-sdk');

TuskDrift.initialize({ env: 'bench', samplingRate: 1 });
// The bench's apps do nothing before they listen: ready from the start.
TuskDrift.markAppAsReady();
