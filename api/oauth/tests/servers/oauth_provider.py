#!/usr/bin/env python3
"""A loopback double of Microsoft's and Google's OAuth 2.0 endpoints for Postamt's tests.

    python3 oauth_provider.py CONFIG.json

Listens on 127.0.0.1 (port from the config, 0 = any), prints `READY <port>` once listening
and serves until killed. Standard library only; RSA keys come from the `openssl` command.

Config (JSON, written by the test):

    {
      "port": 0,
      "token_secret": "shared with the test SMTP server",
      "events_file": "/tmp/x/events.jsonl",
      "token_lifetime": 3600,            # seconds, for access tokens
      "token_padding": 0,                # length of the "pad" filler inside access tokens
      "token_valid_seconds": null,       # exp inside tokens, if shorter than token_lifetime
      "token_delay_ms": 0,               # answer token requests this much later
      "tenants": ["contoso.onmicrosoft.com"],
      "clients": [{"id": "app-1", "secret": "s3cret", "provider": "microsoft",  # or google, generic
                   "tenant": "contoso.onmicrosoft.com", "secret_expired": false,
                   "consented": true,            # false: AADSTS65001 on every grant
                   "flows": ["client_credentials", "authorization_code", "refresh_token"],
                   "mailbox": "app@contoso.example",   # `sub` of client-credentials tokens
                   "scopes": ["smtp.send"]}],          # generic clients: allowed scopes
      "users": ["erika@contoso.example"],   # mailboxes a service account may impersonate
      "authorize": {"user": "erika@contoso.example", "deny": null},  # deny: a description
      "service_accounts": [{"client_email": "sa@p.iam.gserviceaccount.com",
                            "client_id": "1234", "key_file": "/tmp/x/sa.json",
                            "delegated_scopes": ["https://mail.google.com/"]}]
    }

Endpoints: Microsoft-shaped `POST /{tenant}/oauth2/v2.0/token`,
`GET /{tenant}/oauth2/v2.0/authorize`; Google-shaped `POST /token`, `GET /o/oauth2/v2/auth`
(also used as the "generic" provider). Control: `POST /_control/revoke` {"user"?, "client_id"?,
"refresh_token_id"?, "reason"?: "admin" (default; Microsoft 50173) | "expired" (700082)},
`POST /_control/expire-secret` {"client_id"}, `POST /_control/set` {"token_lifetime"?, "token_valid_seconds"?,
"token_delay_ms"?, "authorize"?}, `GET /_control/events`.

Access tokens: "pa-at." + B + "." + b64url(HMAC-SHA256(token_secret, "pa-at." + B)), B =
b64url(JSON {sub, exp, scp, jti, pad}). Refresh tokens rotate: each refresh revokes the old
one; presenting a revoked one is `invalid_grant` and a `reuse` event. Events (one JSON line
per request) carry ids of refresh tokens, never token values.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LOCK = threading.Lock()
STATE = {}  # config plus runtime tables, guarded by LOCK

TENANT_NAME = re.compile(r"^([0-9a-fA-F-]{36}|[A-Za-z0-9.-]+\.[A-Za-z]{2,}|common|organizations|consumers)$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def event(**fields):
    fields["ts"] = time.time()
    line = json.dumps(fields, sort_keys=True)
    with open(STATE["events_file"], "a", encoding="utf-8") as f:
        f.write(line + "\n")


def access_token(sub: str, scope: str) -> str:
    payload = {
        "sub": sub,
        # token_valid_seconds: the token dies earlier than `expires_in` says (a revoked or
        # clock-skewed token), so a client's cache still holds it when the server refuses it.
        "exp": int(time.time()) + int(STATE.get("token_valid_seconds") or STATE["token_lifetime"]),
        "scp": scope,
        "jti": secrets.token_hex(8),
        "pad": "p" * int(STATE.get("token_padding", 0)),
    }
    signed = "pa-at." + b64url(json.dumps(payload, separators=(",", ":")).encode())
    mac = hmac.new(STATE["token_secret"].encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64url(mac)


def new_refresh_token(client_id: str, user: str, scope: str) -> str:
    rt_id = "rt%d" % (len(STATE["refresh_tokens"]) + 1)
    value = "rt." + rt_id + "." + secrets.token_urlsafe(24)
    STATE["refresh_tokens"][value] = {"id": rt_id, "client_id": client_id, "user": user, "scope": scope, "revoked": None}
    return value


class OAuthFailure(Exception):
    """An error answer: HTTP status and the provider-shaped JSON body."""

    def __init__(self, status, body, outcome):
        super().__init__(outcome)
        self.status, self.body, self.outcome = status, body, outcome


def ms_error(status, error, code, text):
    trace = secrets.token_hex(16)
    return OAuthFailure(status, {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
        % (code, text, trace, secrets.token_hex(16), time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
        "error_codes": [code],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": trace,
        "correlation_id": secrets.token_hex(16),
    }, "AADSTS%d" % code)


def g_error(status, error, text):
    return OAuthFailure(status, {"error": error, "error_description": text}, error)


def find_client(client_id):
    return next((c for c in STATE["clients"] if c["id"] == client_id), None)


# --- Microsoft-shaped token endpoint ---------------------------------------------------------


def microsoft_token(tenant, form, ev):
    if not TENANT_NAME.match(tenant):
        raise ms_error(400, "invalid_request", 900023, "Specified tenant identifier '%s' is neither a valid DNS name, nor a valid external domain." % tenant)
    if tenant not in STATE["tenants"]:
        raise ms_error(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud." % tenant)
    client_id = form.get("client_id", "")
    ev["client_id"] = client_id
    client = find_client(client_id)
    if client is None or client.get("provider", "microsoft") != "microsoft" or client.get("tenant") != tenant:
        raise ms_error(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'." % (client_id, tenant))
    grant = form.get("grant_type", "")
    needs_secret = grant == "client_credentials" or "client_secret" in form
    if needs_secret:
        if form.get("client_secret") != client.get("secret"):
            raise ms_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'." % client_id)
        if client.get("secret_expired"):
            raise ms_error(401, "invalid_client", 7000222, "The provided client secret keys for app '%s' are expired." % client_id)
    if grant not in client.get("flows", []):
        raise ms_error(400, "unauthorized_client", 70002, "The client does not exist or is not enabled for %s." % grant)
    if not client.get("consented", True):
        raise ms_error(400, "invalid_grant", 65001, "The user or administrator has not consented to use the application with ID '%s'." % client_id)
    scope = form.get("scope", "")
    if grant == "client_credentials":
        if not scope.endswith("/.default"):
            raise ms_error(400, "invalid_scope", 70011, "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.")
        return {"token_type": "Bearer", "expires_in": STATE["token_lifetime"], "ext_expires_in": STATE["token_lifetime"],
                "access_token": access_token(client.get("mailbox", client_id), scope)}
    if "SMTP.Send" not in scope:
        raise ms_error(400, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
    if grant == "authorization_code":
        user, granted = redeem_code(form, client_id, lambda t: ms_error(400, "invalid_grant", 54005 if t == "used" else (501481 if t == "pkce" else 70000), {
            "used": "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            "pkce": "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        }.get(t, "Provided grant is invalid or malformed.")))
    elif grant == "refresh_token":
        user, granted = use_refresh_token(form, client_id, ev, lambda why: ms_error(400, "invalid_grant", *{
            "admin": (50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."),
            "expired": (700082, "The refresh token has expired due to inactivity. The token was issued on 2026-01-01T00:00:00Z and was inactive for 90.00:00:00."),
        }.get(why, (70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."))))
    else:
        raise ms_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'." % grant)
    body = {"token_type": "Bearer", "scope": scope.replace(" offline_access", ""), "expires_in": STATE["token_lifetime"],
            "access_token": access_token(user, scope)}
    if "offline_access" in scope:
        body["refresh_token"] = new_refresh_token(client_id, user, scope)
        ev["new_refresh_token_id"] = STATE["refresh_tokens"][body["refresh_token"]]["id"]
    return body


def redeem_code(form, client_id, fail):
    code = STATE["codes"].get(form.get("code", ""))
    if code is None or code["client_id"] != client_id or code["redirect_uri"] != form.get("redirect_uri"):
        raise fail("invalid")
    if code["used"]:
        raise fail("used")
    code["used"] = True
    verifier = form.get("code_verifier", "")
    if b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
        raise fail("pkce")
    return code["user"], code["scope"]


def use_refresh_token(form, client_id, ev, fail):
    rt = STATE["refresh_tokens"].get(form.get("refresh_token", ""))
    if rt is None or rt["client_id"] != client_id:
        raise fail("unknown")
    ev["refresh_token_id"] = rt["id"]
    if rt["revoked"]:
        ev["reuse"] = rt["revoked"] == "rotated"
        raise fail(rt["revoked"])
    rt["revoked"] = "rotated"  # rotation: the old one dies with this use
    return rt["user"], rt["scope"]


# --- Google-shaped token endpoint (also the "generic" provider) ------------------------------


def google_token(form, ev, token_url):
    grant = form.get("grant_type", "")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return jwt_bearer(form.get("assertion", ""), ev, token_url)
    client_id = form.get("client_id", "")
    ev["client_id"] = client_id
    client = find_client(client_id)
    if client is None or client.get("provider") not in ("google", "generic"):
        raise g_error(401, "invalid_client", "The OAuth client was not found.")
    if form.get("client_secret") != client.get("secret"):
        raise g_error(401, "invalid_client", "Unauthorized")
    if grant not in client.get("flows", []):
        raise g_error(400, "unauthorized_client", "Unauthorized")
    if grant == "client_credentials":
        scope = form.get("scope", "")
        if scope not in client.get("scopes", [scope]):
            raise g_error(400, "invalid_scope", "Some requested scopes were invalid.")
        return {"token_type": "Bearer", "expires_in": STATE["token_lifetime"], "access_token": access_token(client.get("mailbox", client_id), scope)}
    if grant == "authorization_code":
        user, scope = redeem_code(form, client_id, lambda t: g_error(400, "invalid_grant", "Malformed auth code." if t == "invalid" else "Bad Request"))
        body = {"token_type": "Bearer", "scope": scope, "expires_in": STATE["token_lifetime"], "access_token": access_token(user, scope),
                "refresh_token": new_refresh_token(client_id, user, scope)}
        ev["new_refresh_token_id"] = STATE["refresh_tokens"][body["refresh_token"]]["id"]
        return body
    if grant == "refresh_token":
        user, scope = use_refresh_token(form, client_id, ev, lambda why: g_error(400, "invalid_grant", "Token has been expired or revoked."))
        body = {"token_type": "Bearer", "scope": scope, "expires_in": STATE["token_lifetime"], "access_token": access_token(user, scope),
                "refresh_token": new_refresh_token(client_id, user, scope)}
        ev["new_refresh_token_id"] = STATE["refresh_tokens"][body["refresh_token"]]["id"]
        return body
    raise g_error(400, "unsupported_grant_type", "Invalid grant_type: %s" % grant)


def jwt_bearer(assertion, ev, token_url):
    parts = assertion.split(".")
    if len(parts) != 3:
        raise g_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        raise g_error(400, "invalid_grant", "Invalid JWT Signature.")
    sa = next((s for s in STATE["service_accounts"] if s["client_email"] == claims.get("iss")), None)
    ev["client_id"] = claims.get("iss")
    ev["sub"] = claims.get("sub")
    if sa is None:
        raise g_error(400, "invalid_grant", "Invalid grant: account not found")
    if header.get("alg") != "RS256" or not verify_rs256(sa["public_pem"], (parts[0] + "." + parts[1]).encode(), signature):
        raise g_error(400, "invalid_grant", "Invalid JWT Signature.")
    now = time.time()
    iat, exp = claims.get("iat", 0), claims.get("exp", 0)
    if claims.get("aud") != token_url:
        raise g_error(400, "invalid_grant", "Invalid JWT: Failed audience check.")
    if not (iat - 60 <= now < exp) or exp - iat > 3600:
        raise g_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
    scope = claims.get("scope", "")
    if not scope or any(s not in sa.get("delegated_scopes", []) for s in scope.split()):
        raise g_error(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
    if claims.get("sub") not in STATE["users"]:
        raise g_error(400, "invalid_grant", "Invalid email or User ID")
    return {"token_type": "Bearer", "expires_in": STATE["token_lifetime"], "access_token": access_token(claims["sub"], scope)}


def verify_rs256(public_pem_path, data, signature):
    with tempfile.NamedTemporaryFile(delete=False) as sig:
        sig.write(signature)
    try:
        done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public_pem_path, "-signature", sig.name],
                              input=data, capture_output=True)
        return done.returncode == 0
    finally:
        os.unlink(sig.name)


# --- authorize (no UI: signs in the configured user) -----------------------------------------


def authorize(query, tenant):
    q = {k: v[0] for k, v in parse_qs(query).items()}
    client = find_client(q.get("client_id", ""))
    redirect_uri = q.get("redirect_uri", "")
    if client is None or not redirect_uri:
        return 400, {"Content-Type": "text/html"}, b"<html>unknown client or redirect_uri</html>", "bad_client"
    if tenant is not None and tenant not in STATE["tenants"]:
        return 400, {"Content-Type": "text/html"}, b"<html>AADSTS90002</html>", "AADSTS90002"
    conf = STATE.get("authorize", {})
    state = q.get("state", "")
    sep = "&" if "?" in redirect_uri else "?"
    if conf.get("deny"):
        params = {"error": "access_denied", "error_description": conf["deny"], "state": state}
        return 302, {"Location": redirect_uri + sep + urlencode(params)}, b"", "access_denied"
    if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
        params = {"error": "invalid_request", "error_description": "PKCE S256 is required", "state": state}
        return 302, {"Location": redirect_uri + sep + urlencode(params)}, b"", "invalid_request"
    code = "code." + secrets.token_urlsafe(24)
    STATE["codes"][code] = {"client_id": client["id"], "redirect_uri": redirect_uri, "challenge": q["code_challenge"],
                            "user": conf.get("user") or q.get("login_hint", ""), "scope": q.get("scope", ""), "used": False}
    return 302, {"Location": redirect_uri + sep + urlencode({"code": code, "state": state})}, b"", "ok"


# --- control ---------------------------------------------------------------------------------


def control(path, body):
    if path == "/_control/revoke":
        n = 0
        for rt in STATE["refresh_tokens"].values():
            if (rt["revoked"] is None and body.get("user", rt["user"]) == rt["user"]
                    and body.get("client_id", rt["client_id"]) == rt["client_id"]
                    and body.get("refresh_token_id", rt["id"]) == rt["id"]):
                rt["revoked"] = "expired" if body.get("reason") == "expired" else "admin"
                n += 1
        return {"revoked": n}
    if path == "/_control/expire-secret":
        client = find_client(body.get("client_id"))
        if client is None:
            return None
        client["secret_expired"] = True
        return {"ok": True}
    if path == "/_control/set":
        for key in ("token_lifetime", "token_valid_seconds", "token_delay_ms", "token_padding", "authorize"):
            if key in body:
                STATE[key] = body[key]
        return {"ok": True}
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the events file is the log
        pass

    def answer(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        headers = headers or {"Content-Type": "application/json; charset=utf-8"}
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_control/events":
            with open(STATE["events_file"], encoding="utf-8") as f:
                events = [json.loads(line) for line in f if line.strip()]
            return self.answer(200, events)
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/authorize", url.path)
        if m or url.path == "/o/oauth2/v2/auth":
            tenant = m.group(1) if m else None
            with LOCK:
                status, headers, body, outcome = authorize(url.query, tenant)
                event(endpoint="authorize", provider="microsoft" if m else "google", tenant=tenant, outcome=outcome)
            return self.answer(status, body, headers)
        self.answer(404, {"error": "not_found"})

    def do_POST(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if url.path.startswith("/_control/"):
            with LOCK:
                result = control(url.path, json.loads(raw or "{}"))
                event(endpoint="control", path=url.path, outcome="ok" if result is not None else "not_found")
            return self.answer(200 if result is not None else 404, result or {"error": "not_found"})
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", url.path)
        if not m and url.path not in ("/token", "/generic/token"):
            return self.answer(404, {"error": "not_found"})
        delay = STATE.get("token_delay_ms", 0)
        if delay:
            time.sleep(delay / 1000)
        ev = {"endpoint": "token", "provider": "microsoft" if m else "google", "tenant": m.group(1) if m else None,
              "grant_type": form.get("grant_type")}
        with LOCK:
            try:
                if m:
                    body = microsoft_token(m.group(1), form, ev)
                else:
                    body = google_token(form, ev, "http://127.0.0.1:%d%s" % (STATE["port"], url.path))
                status, ev["outcome"] = 200, "ok"
            except OAuthFailure as f:
                status, body, ev["outcome"] = f.status, f.body, f.outcome
            event(**ev)
        self.answer(status, body)


def make_service_account(sa, port, workdir):
    key_path = os.path.join(workdir, "sa-%s.pem" % secrets.token_hex(4))
    pub_path = key_path + ".pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key_path],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", key_path, "-pubout", "-out", pub_path], check=True, capture_output=True)
    with open(key_path, encoding="ascii") as f:
        pem = f.read()
    key = {
        "type": "service_account", "project_id": "postamt-test", "private_key_id": secrets.token_hex(20),
        "private_key": pem, "client_email": sa["client_email"], "client_id": sa.get("client_id", "1"),
        "auth_uri": "http://127.0.0.1:%d/o/oauth2/v2/auth" % port, "token_uri": "http://127.0.0.1:%d/token" % port,
        "auth_provider_x509_cert_url": "", "client_x509_cert_url": "", "universe_domain": "googleapis.com",
    }
    with open(sa["key_file"], "w", encoding="utf-8") as f:
        json.dump(key, f, indent=2)
    os.unlink(key_path)  # the double keeps only the public half
    sa["public_pem"] = pub_path


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        config = json.load(f)
    STATE.update(config)
    STATE.setdefault("token_lifetime", 3600)
    STATE.setdefault("tenants", [])
    STATE.setdefault("clients", [])
    STATE.setdefault("users", [])
    STATE.setdefault("service_accounts", [])
    STATE["codes"], STATE["refresh_tokens"] = {}, {}
    server = ThreadingHTTPServer(("127.0.0.1", int(config.get("port", 0))), Handler)
    server.daemon_threads = True
    STATE["port"] = server.server_address[1]
    workdir = os.path.dirname(os.path.abspath(STATE["events_file"]))
    open(STATE["events_file"], "a").close()
    for sa in STATE["service_accounts"]:
        make_service_account(sa, STATE["port"], workdir)
    print("READY %d" % STATE["port"], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
