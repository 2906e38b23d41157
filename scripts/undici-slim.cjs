// The part of undici the CLI uses (single deliveries: Agent, EnvHttpProxyAgent and the request
// API), bundled in place of undici's index, which also loads fetch, WebSocket, caches and mocks.
'use strict';
const Dispatcher = require('undici/lib/dispatcher/dispatcher');
const api = require('undici/lib/api');

// As undici's index does: gives every dispatcher request(), stream(), pipeline()…
Object.assign(Dispatcher.prototype, api);

module.exports.Agent = require('undici/lib/dispatcher/agent');
module.exports.EnvHttpProxyAgent = require('undici/lib/dispatcher/env-http-proxy-agent');
