/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS entry that esbuild bundles in place of undici's index */
// The part of undici the CLI uses (single deliveries: Agent, EnvHttpProxyAgent and the request
// API), bundled in place of undici's index, which also loads fetch, WebSocket, caches and mocks.
'use strict';

// undici parses responses with llhttp compiled to WebAssembly. V8 then recompiles its hot functions
// with TurboFan on background threads, and a process that exits right after one delivery waits
// for those compile jobs (~300 ms on a busy two-core machine). The baseline compiler is plenty for
// a few responses, so the CLI keeps to it; the library (plain `undici`) is left alone.
require('node:v8').setFlagsFromString('--liftoff-only');
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
const api = require('undici/lib/api');

// As undici's index does: gives every dispatcher request(), stream(), pipeline()…
Object.assign(Dispatcher.prototype, api);

module.exports.Agent = require('undici/lib/dispatcher/agent');
module.exports.EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent');
