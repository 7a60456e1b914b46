"""Signs and validates webhook cases with Twilio's official validators and writes them to
crates/twilio-webhooks/tests/vectors/official.json.

Each case is a request as a server receives it (URL, signature header, settings header, form
parameters or raw body) and the verdicts of twilio-python 9.13.0 (`RequestValidator.validate`,
in this process) and twilio-node 6.3.1 (`validateRequest` / `validateRequestWithBody`, through
validate_node.js). Signatures are made with twilio-python's `compute_signature` over the URL
Twilio would have requested (which for the URL-variant cases differs from the request URL).
The Rust tests (tests/official_vectors.rs) must accept exactly what at least one official
validator accepts.

Run through regenerate.sh, which installs the pinned packages under .tools/ (git-ignored).
"""

import hashlib
import json
import os
import random
import subprocess
import sys

from twilio.request_validator import RequestValidator, get_signature_algorithm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "vectors", "official.json")

TOKEN = "0123456789abcdef0123456789abcdef"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
SHARED = {"id": "webhooks_sharedkey_0a1b2c3d", "secret": "shared-secret-7f3a9c2e5d1b8a64"}

rng = random.Random(20261128)


class MultiDict(dict):
    """A form with repeated names, as Flask's MultiDict (twilio-python calls getall)."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs
        for name, value in pairs:
            self.setdefault(name, value)

    def getall(self, name):
        return [v for n, v in self.pairs if n == name]


def sign(secret, url, params, algorithm=None):
    return RequestValidator(secret).compute_signature(url, MultiDict(params), algorithm)


cases = []


def case(name, url, signature, params=None, body=None, settings=None, token=TOKEN):
    cases.append(
        {
            "name": name,
            "url": url,
            "params": params if params is not None else [],
            "body": body,
            "settings": settings,
            "validator_token": token,
            "shared_key": SHARED,
            "signature": signature,
        }
    )


# Text pieces that exercise the encoding: Unicode (BMP and astral; nothing in U+E000..U+FFFF,
# where Python's code-point order and JavaScript's UTF-16 order disagree), `+`, spaces, `&`,
# `=`, `%`, quotes, empty strings.
PIECES = ["", "a", "Hello there", "+15551234567", "a&b=c", "x=y", "100%", "50%25", "é", "ümlaut",
          "中文", "😀", "a+b", " lead", "trail ", "'quoted'", '"dq"', "<tag>", "line\nbreak",
          "tab\tx", "#hash", "?q", "/slash", "\\back", "MM" + "0" * 32, "~!*()", "ß"]
NAMES = ["Body", "From", "To", "MessageSid", "AccountSid", "NumMedia", "MediaUrl0", "SmsStatus",
         "FromCity", "ToCountry", "a", "A", "b", "B", "_", "é", "😀", "x y", "a&b", "a=b", ""]


def random_params(n):
    return [(rng.choice(NAMES), rng.choice(PIECES) + rng.choice(PIECES)) for _ in range(n)]


SMS = [("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", "SM" + "1" * 32),
       ("NumMedia", "0"), ("ToCity", "SAN FRANCISCO"), ("FromZip", "94105"),
       ("SmsSid", "SM" + "1" * 32), ("FromState", "CA"), ("SmsStatus", "received"),
       ("FromCity", "SAN FRANCISCO"), ("Body", "Hello, world! ½ & more"), ("FromCountry", "US"),
       ("To", "+15557654321"), ("MessageSid", "SM" + "1" * 32), ("AccountSid", "AC" + "2" * 32)]

BASES = ["https://example.com/twilio/sms", "https://example.com", "https://example.com/",
         "http://example.com:8080/hooks/status", "https://hooks.example.org/a/b/c.php",
         "https://example.com/sms?tenant=7", "https://example.com/sms?a=1&a=2&b=",
         "http://127.0.0.1:3000/webhook"]

# A. Form POSTs signed with the current token, validated as sent.
for i in range(60):
    url = rng.choice(BASES)
    params = SMS if i == 0 else random_params(rng.randint(0, 8))
    if i % 7 == 3:  # repeated names with duplicate and distinct values
        params = params + [("MediaUrl", "https://x/2"), ("MediaUrl", "https://x/1"), ("MediaUrl", "https://x/2")]
    case(f"form {i}", url, sign(TOKEN, url, params), params=params)

# B. One change after signing: URL, a name, a value, the signature.
for i in range(40):
    url = rng.choice(BASES)
    params = random_params(rng.randint(1, 6))
    signature = sign(TOKEN, url, params)
    kind = i % 5
    if kind == 0:
        url = url + "x"
    elif kind == 1:
        n, v = params[0]
        params = [(n + "x", v)] + params[1:]
    elif kind == 2:
        n, v = params[-1]
        params = params[:-1] + [(n, v + "!")]
    elif kind == 3:
        c = "A" if signature[5] != "A" else "B"
        signature = signature[:5] + c + signature[6:]
    else:
        params = params + [("Extra", "1")]
    case(f"tampered {i} kind {kind}", url, signature, params=params)

# C. The signed URL differs from the request URL: the variants the validators try.
PAIRS = [
    ("https://example.com/sms", "https://example.com:443/sms"),
    ("https://example.com:443/sms", "https://example.com/sms"),
    ("https://example.com/sms", "https://example.com:8443/sms"),
    ("https://example.com:8443/sms", "https://example.com/sms"),
    ("http://example.com/sms", "http://example.com:80/sms"),
    ("http://example.com:80/sms", "http://example.com/sms"),
    ("https://example.com:80/sms", "https://example.com/sms"),
    ("http://example.com:443/sms", "http://example.com/sms"),
    ("https://example.com:8443/sms", "https://example.com:9443/sms"),
    ("https://example.com/sms", "https://example.com/sms/"),
    ("https://example.com/sms/", "https://example.com/sms"),
    ("https://example.com/", "https://example.com"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/sms", "HTTPS://example.com/sms"),
    ("https://example.com/sms", "https://EXAMPLE.com/sms"),
    ("https://example.com/sms?x=1", "https://example.com/sms?x=2"),
    ("https://example.com/sms?x=1&y=2", "https://example.com/sms?y=2&x=1"),
    ("https://example.com/sms", "https://example.com/sms?"),
    ("https://example.com/sms?q=%27a%27", "https://example.com/sms?q='a'"),
    ("https://example.com/sms?q='a'", "https://example.com/sms?q=%27a%27"),
    ("https://example.com/a%20b", "https://example.com/a b"),
    ("https://example.com/%C3%A9", "https://example.com/é"),
    ("https://example.com/é", "https://example.com/%C3%A9"),
    ("https://example.com/sms?name=%C3%A9", "https://example.com/sms?name=é"),
    ("https://example.com/b", "https://example.com/a/../b"),
    ("https://example.com/a/b", "https://example.com/a/./b"),
    ("https://example.com/sms?a=b%20c", "https://example.com/sms?a=b+c"),
    ("https://example.com/sms?a=b%20c", "https://example.com/sms?a=b%20c"),
    ("https://example.com/sms?a=1&a=2&b=", "https://example.com/sms?a=1&b&a=2"),
    ("https://example.com/sms?1=x&b=y", "https://example.com/sms?b=y&1=x"),
    ("https://example.com/sms?x=~!*()%27", "https://example.com/sms?x=~!*()'"),
    ("https://example.com/sms?x=%7B%7D", "https://example.com/sms?x={}"),
    ("https://example.com/sms?x={}", "https://example.com/sms?x={}"),
    ("https://example.com/%7B%7D", "https://example.com/{}"),
    ("https://example.com/sms?x=a%26b", "https://example.com/sms?x=a%26b"),
    ("https://example.com/sms?x=a&b", "https://example.com/sms?x=a%26b"),
    ("https://example.com/sms?x=%3D", "https://example.com/sms?x=="),
    ("https://example.com:8443/sms?q=%27", "https://example.com:8443/sms?q='"),
    ("https://example.com/sms?q=%27", "https://example.com:443/sms?q='"),
    ("https://example.com:443/sms?q=%27", "https://example.com/sms?q='"),
    ("http://127.0.0.1:3000/webhook", "http://127.0.0.1/webhook"),
    ("http://127.0.0.1/webhook", "http://127.0.0.1:3000/webhook"),
    ("https://example.com/sms#frag", "https://example.com/sms"),
    ("https://example.com/sms", "https://example.com/sms#frag"),
    ("https://example.com/sms?", "https://example.com/sms"),
    ("https://user:pass@example.com/sms", "https://user:pass@example.com:443/sms"),
    ("https://example.com/sms", "https://example.com:00443/sms"),
    ("https://example.com/sms?x=%2B", "https://example.com/sms?x=+"),
    ("https://example.com/sms?x=%20", "https://example.com/sms?x=+"),
    ("https://example.com/sms?x=%25zz", "https://example.com/sms?x=%zz"),
]
for i, (signed_url, request_url) in enumerate(PAIRS):
    params = [("Body", "hi"), ("From", "+15551234567")] if i % 2 else []
    case(f"url variant {i}: signed {signed_url} requested {request_url}", request_url,
         sign(TOKEN, signed_url, params), params=params)

# D. GETs: the URL with its query string, no parameters.
for i in range(20):
    query = "&".join(f"{rng.choice(['a', 'From', 'Body', 'x'])}={rng.choice(['1', '%2B1555', 'b+c', '%C3%A9', '', 'a%26b'])}" for _ in range(rng.randint(0, 4)))
    url = "https://example.com/voice" + ("?" + query if query else "")
    signature = sign(TOKEN, url, [])
    if i % 4 == 3:
        url = url + ("&" if "?" in url else "?") + "extra=1"
    case(f"get {i}", url, signature)

# E. JSON bodies: bodySHA256 in the URL, the signature over the URL.
for i in range(30):
    body = json.dumps({"i": i, "text": rng.choice(PIECES), "nested": {"n": [1, 2, i]}}, ensure_ascii=(i % 2 == 0))
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    base = rng.choice(["https://example.com/json", "https://example.com:8443/json?tenant=1", "http://example.com/json"])
    url = base + ("&" if "?" in base else "?") + "bodySHA256=" + digest
    signed_url = url
    kind = i % 6
    if kind == 1:
        body = body + " "
    elif kind == 2:
        url = url.replace("bodySHA256=" + digest, "bodySHA256=" + digest[:-1] + ("0" if digest[-1] != "0" else "1"))
        signed_url = url
    elif kind == 3:
        url = url.replace("example.com", "example.com:443", 1) if url.startswith("https://example.com/") else url
    elif kind == 4:
        signed_url = url + "x"
    case(f"json {i} kind {kind}", url, sign(TOKEN, signed_url, []), body=body)

# F. SharedKey: HMAC-SHA256 with the SharedKey secret, named in the settings header.
for i in range(30):
    url = rng.choice(BASES)
    params = random_params(rng.randint(0, 5))
    kind = i % 6
    settings = f"key={SHARED['id']},algorithm=HMAC_SHA256"
    secret, algorithm = SHARED["secret"], "HMAC_SHA256"
    if kind == 1:
        settings = f" key = {SHARED['id']} , algorithm = hmac_sha256 "
    elif kind == 2:  # signed with SHA-1, header says SHA-256
        algorithm = "HMAC_SHA1"
    elif kind == 3:  # signed with the Auth Token instead of the SharedKey secret
        secret = TOKEN
    elif kind == 4:  # the header names SHA-1: the SharedKey secret with HMAC-SHA1
        settings = f"key={SHARED['id']},algorithm=HMAC_SHA1"
        algorithm = "HMAC_SHA1"
    elif kind == 5:  # SharedKey signature, but no settings header: checked as the Auth Token's
        settings = None
    case(f"shared key {i} kind {kind}", url, sign(secret, url, params, algorithm), params=params, settings=settings)

# G. Unknown algorithms: rejected, never a fallback (even when the signature would match).
for i, algorithm in enumerate(["HMAC_SHA512", "MD5", "HMAC-SHA256", "SHA256", "HMAC_SHA1 ", "none"]):
    url = "https://example.com/sms"
    params = [("Body", "hi")]
    settings = f"key={SHARED['id']},algorithm={algorithm}"
    case(f"unknown algorithm {i} {algorithm!r}", url, sign(SHARED["secret"], url, params), params=params, settings=settings)
for i, settings in enumerate([f"key={SHARED['id']}", f"key={SHARED['id']},algorithm=", f"key={SHARED['id']},algorithm"]):
    url = "https://example.com/sms"
    case(f"settings without algorithm {i}", url, sign(SHARED["secret"], url, []), settings=settings)

# H. Another token, an empty or missing signature.
for i in range(10):
    url = rng.choice(BASES)
    params = random_params(3)
    signature = [sign(OTHER_TOKEN, url, params), "", sign(TOKEN, url, params).lower()][i % 3]
    case(f"wrong signature {i}", url, signature, params=params)
case("validator holds another token", BASES[0], sign(TOKEN, BASES[0], []), token=OTHER_TOKEN)

# The verdicts of both official validators.
for c in cases:
    secret = c["shared_key"]["secret"] if c["settings"] else c["validator_token"]
    algorithm = get_signature_algorithm(c["settings"])
    params = c["body"] if c["body"] is not None else MultiDict([tuple(p) for p in c["params"]])
    try:
        c["python"] = RequestValidator(secret).validate(c["url"], params, c["signature"], algorithm)
    except Exception:  # urllib refuses the URL: not accepted
        c["python"] = False

node = subprocess.run(["node", os.path.join(HERE, "validate_node.js")], input=json.dumps(cases),
                      capture_output=True, text=True, check=True, cwd=HERE)
for c, verdict in zip(cases, json.loads(node.stdout)):
    c["node"] = verdict

with open(OUT, "w", encoding="utf-8") as f:
    json.dump({"generator": "crates/twilio-webhooks/scripts/vectors/generate.py",
               "python": "twilio 9.13.0", "node": "twilio 6.3.1", "cases": cases},
              f, ensure_ascii=False, indent=1)
    f.write("\n")

accepted = sum(1 for c in cases if c["python"] or c["node"])
disagree = [c["name"] for c in cases if c["python"] != c["node"]]
print(f"{len(cases)} cases, {accepted} accepted by an official validator, {len(disagree)} where they disagree:")
for name in disagree:
    print("  ", name)
