// Calls the official twilio-node SDK's Compliance Signals check,
// `client.accounts.v1.complianceSignalsCheck.create(params)`, once per case against a local
// emulator, and prints what twilio-node read back, as JSON, on stdout.
//
// Usage: node compliance_signals.js <node_modules dir> <cases.json>
//
// cases.json: {"baseUrl": "http://127.0.0.1:PORT", "accountSid": "AC…", "authToken": "…",
//              "cases": [{"name": "…", "params": {…}}, …]}
// stdout:     [{"name": "…", "ok": <instance.toJSON()>} | {"name": "…", "error": {status, code, message}}, …]
//
// twilio-node always calls https://accounts.twilio.com; a custom httpClient maps that host to
// the emulator's http URL and refuses any other, so nothing leaves 127.0.0.1.
"use strict";

const fs = require("fs");
const path = require("path");

async function main() {
  const [modulesDir, casesFile] = process.argv.slice(2);
  if (!modulesDir || !casesFile) {
    throw new Error("usage: node compliance_signals.js <node_modules dir> <cases.json>");
  }
  const twilio = require(path.join(path.resolve(modulesDir), "twilio"));
  const version = require(path.join(path.resolve(modulesDir), "twilio", "package.json")).version;
  const input = JSON.parse(fs.readFileSync(casesFile, "utf8"));
  const emulator = new URL(input.baseUrl);
  if (emulator.hostname !== "127.0.0.1") {
    throw new Error(`the emulator must listen on 127.0.0.1, not ${emulator.hostname}`);
  }

  const transport = new twilio.RequestClient();
  const httpClient = {
    request(opts) {
      const url = new URL(opts.uri);
      if (url.hostname !== "accounts.twilio.com") {
        return Promise.reject(new Error(`refusing a request to ${url.hostname}`));
      }
      url.protocol = emulator.protocol;
      url.host = emulator.host;
      return transport.request({ ...opts, uri: url.toString() });
    },
  };
  const client = twilio(input.accountSid, input.authToken, { httpClient });

  const results = [];
  for (const { name, params } of input.cases) {
    try {
      const check = await client.accounts.v1.complianceSignalsCheck.create(params);
      results.push({ name, ok: JSON.parse(JSON.stringify(check.toJSON())) });
    } catch (e) {
      if (e.status === undefined) {
        throw e; // not an HTTP error answer: a broken set-up, fail loudly
      }
      results.push({ name, error: { status: e.status, code: e.code, message: e.message } });
    }
  }
  process.stdout.write(JSON.stringify({ twilioNodeVersion: version, results }) + "\n");
}

main().catch((e) => {
  process.stderr.write(`twilio-node proof failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
