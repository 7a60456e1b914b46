// Validates every case of generate.py with twilio-node's own validator (package-lock.json pins
// twilio 6.3.1). Reads the cases as JSON on stdin, writes one boolean per case on stdout.
"use strict";
const webhooks = require("twilio/lib/webhooks/webhooks");

function nodeParams(pairs) {
  const params = {};
  for (const [name, value] of pairs) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) {
      params[name] = value;
    } else if (Array.isArray(params[name])) {
      params[name].push(value);
    } else {
      params[name] = [params[name], value];
    }
  }
  return params;
}

function validate(c) {
  // As twilio-node's express middleware: a settings header means the SharedKey secret.
  const secret = c.settings ? c.shared_key.secret : c.validator_token;
  const algorithm = webhooks.getSignatureAlgorithm(c.settings);
  try {
    if (c.body !== null) {
      return webhooks.validateRequestWithBody(secret, c.signature, c.url, c.body, algorithm);
    }
    return webhooks.validateRequest(secret, c.signature, c.url, nodeParams(c.params), algorithm);
  } catch (e) {
    return false; // new URL() throws on what it cannot parse: not accepted
  }
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const warn = console.warn; // unknown algorithms are logged; keep stdout for the verdicts
  console.warn = () => {};
  const verdicts = JSON.parse(input).map(validate);
  console.warn = warn;
  process.stdout.write(JSON.stringify(verdicts));
});
