#!/usr/bin/env python3
"""A real SMTP server on loopback for postamt-smtp's tests (aiosmtpd).

Plaintext, STARTTLS or implicit TLS; AUTH PLAIN/LOGIN with one account, and with
--oauth-secret AUTH XOAUTH2 with signed test access tokens (see verify_token); rejections
and stalls on purpose. Prints "READY <port>" on stdout once it listens, then serves until
killed. Every AUTH attempt and delivered message (with --log-sessions also every new
connection, EHLO/HELO with the client's name, RSET and QUIT; with --record-close how each
connection ended) is appended as one JSON line to --events, so a test can check what the
server saw (and that a probe delivered nothing); each carries the number of its connection
("conn").
"""

import argparse
import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import ssl
import sys
import time

try:
    from aiosmtpd.smtp import MISSING, SMTP, AuthResult
except ImportError:  # pragma: no cover - reported to the test, which fails with this text
    print("MISSING aiosmtpd: pip install aiosmtpd", flush=True)
    sys.exit(3)


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--mechanisms", default="PLAIN,LOGIN", help="AUTH mechanisms offered (PLAIN, LOGIN, XOAUTH2)")
    p.add_argument("--no-auth", action="store_true", help="offer no AUTH at all")
    p.add_argument("--auth-require-tls", action="store_true", help="offer AUTH only after STARTTLS (else 538)")
    p.add_argument("--auth-required", action="store_true", help="530 to MAIL FROM before AUTH")
    p.add_argument(
        "--auth-fail-reply",
        help='reply to wrong credentials or a rejected token, e.g. "535 5.7.139 ..." '
        "(for XOAUTH2 it replaces the --oauth-style reply)",
    )
    p.add_argument(
        "--auth-reply",
        help="reply to every AUTH, whatever the credentials (after reading them), e.g. "
        '"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant"',
    )
    p.add_argument(
        "--oauth-secret",
        help="accept XOAUTH2 with access tokens signed with this HMAC-SHA256 secret (see verify_token)",
    )
    p.add_argument(
        "--oauth-style",
        choices=["microsoft", "google"],
        default="microsoft",
        help="how a rejected XOAUTH2 token is answered: microsoft 535 5.7.3; google a 334 JSON error "
        "challenge, then 535 5.7.8 after the client's empty line",
    )
    p.add_argument("--reject-mail", help='reply to MAIL FROM, e.g. "550 5.7.1 Sender rejected"')
    p.add_argument("--reject-rcpt", help='reply to RCPT TO, e.g. "451 4.7.1 Greylisted"')
    p.add_argument(
        "--reject-rcpt-times",
        type=int,
        help="reject only the first N RCPT TO (over all connections), then accept; "
        'the reply is --reject-rcpt or "451 4.7.1 Greylisted, try again later"',
    )
    p.add_argument(
        "--reject-rcpt-address",
        action="append",
        default=[],
        help='answer "550 5.1.1 <ADDR>: User unknown" to RCPT TO of this address (repeatable)',
    )
    p.add_argument("--pipelining", action="store_true", help="offer PIPELINING in EHLO")
    p.add_argument(
        "--log-sessions", action="store_true", help="also log every new connection, EHLO/HELO, RSET and QUIT as events"
    )
    p.add_argument(
        "--record-close",
        action="store_true",
        help="after QUIT leave closing to the client, and log how every connection ended (event closed): "
        'with TLS, "error" is set when the client closed without close_notify',
    )
    p.add_argument(
        "--close-after-messages",
        type=int,
        help="close the connection (without a word) right after the N-th message on it was accepted",
    )
    p.add_argument("--reject-data", help='reply after the message, e.g. "554 5.7.1 Spam"')
    p.add_argument(
        "--reject-data-containing",
        action="append",
        default=[],
        help='TEXT=REPLY: reply REPLY after a message that contains TEXT (repeatable); '
        "after a 421 reply the connection is closed",
    )
    p.add_argument("--stall", action="append", default=[], help="STAGE:SECONDS, STAGE one of mail, rcpt, data, noop")
    p.add_argument("--events", required=True, help="JSON lines file for auth attempts and deliveries")
    return p.parse_args()


# RFC 4954 §4: a SASL response line may be up to 12,288 octets (Microsoft access tokens
# exceed 4,096 characters); aiosmtpd reads lines with a limit of 1,001.
AUTH_LINE_MAX = 12288 + 2

MICROSOFT_REJECT = "535 5.7.3 Authentication unsuccessful"
GOOGLE_CHALLENGE = {"status": "400", "schemes": "Bearer", "scope": "https://mail.google.com/"}
GOOGLE_REJECT = (
    "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials"
)


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_nopad(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def verify_token(secret, token, user):
    """Checks a test access token; returns (ok, reason).

    The format is shared with the loopback OAuth test provider, keep it exactly:
        token = "pa-at." + B + "." + base64url_nopad(HMAC-SHA256(SECRET, "pa-at." + B))
    where B = base64url_nopad(JSON) and JSON has "sub" (the mailbox), "exp" (unix seconds),
    "scp" (scope), "jti" (random id) and optionally "pad" (filler). Accepted when the
    signature matches, exp is in the future and sub equals the XOAUTH2 user (any case).
    """
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "pa-at":
        return False, "malformed"
    signed = "pa-at." + parts[1]
    expected = b64url_nopad(hmac.new(secret.encode("utf-8"), signed.encode("ascii"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, parts[2]):
        return False, "bad_signature"
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return False, "malformed"
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= time.time():
        return False, "expired"
    if str(claims.get("sub", "")).lower() != user.lower():
        return False, "user_mismatch"
    return True, None


def parse_xoauth2(blob):
    """(user, token) from "user=U\x01auth=Bearer T\x01\x01", or None."""
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields = dict(f.split("=", 1) for f in text.split("\x01") if "=" in f)
    user, auth = fields.get("user"), fields.get("auth", "")
    if user is None or not auth.startswith("Bearer ") or not text.endswith("\x01\x01"):
        return None
    return user, auth[len("Bearer ") :]


class Handler:
    def __init__(self, args):
        self.args = args
        self.stalls = {}
        for spec in args.stall:
            stage, seconds = spec.split(":")
            self.stalls[stage] = float(seconds)
        mechanisms = {m.strip().upper() for m in args.mechanisms.split(",") if m.strip()}
        self.exclude = [m for m in ("PLAIN", "LOGIN", "XOAUTH2") if m not in mechanisms]
        self.rcpt_rejections_left = args.reject_rcpt_times
        self.rejected_addresses = {a.lower() for a in args.reject_rcpt_address}
        self.connections = 0
        # Connections open now (for tests of the concurrent-sessions limit).
        self.open = 0

    def event(self, **fields):
        # When, in seconds since the epoch: tests of sending limits count per window.
        fields["at"] = time.time()
        with open(self.args.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(fields) + "\n")

    async def stall(self, stage):
        seconds = self.stalls.get(stage)
        if seconds:
            await asyncio.sleep(seconds)

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        if self.args.log_sessions:
            self.event(event="ehlo", conn=getattr(session, "postamt_conn", None), command="HELO", name=hostname)
        return "250 {}".format(server.hostname)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.log_sessions:
            self.event(
                event="ehlo",
                conn=getattr(session, "postamt_conn", None),
                command="EHLO",
                name=hostname,
                tls=self.args.tls == "implicit" or session.ssl is not None,
            )
        if self.args.no_auth:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        if self.args.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RSET(self, server, session, envelope):
        if self.args.log_sessions:
            self.event(event="rset", conn=getattr(session, "postamt_conn", None))
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.args.log_sessions:
            self.event(
                event="quit",
                conn=getattr(session, "postamt_conn", None),
                tls=self.args.tls == "implicit" or session.ssl is not None,
            )
        return "221 2.0.0 Bye"

    async def handle_NOOP(self, server, session, envelope, arg):
        await self.stall("noop")
        return "250 2.0.0 OK"

    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2 with the initial response inline or after an empty 334."""
        conn = getattr(server.session, "postamt_conn", None)
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except binascii.Error:
                await server.push("501 5.5.2 Can't decode base64")
                return None
            inline = True
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return None  # aiosmtpd has answered already ('*' or bad base64)
            inline = False
        parsed = parse_xoauth2(blob)
        user, token = parsed if parsed else ("", "")
        if self.args.auth_reply:
            ok, reason = False, "fixed_reply"
        elif parsed is None:
            ok, reason = False, "malformed"
        elif not self.args.oauth_secret:
            ok, reason = False, "no_oauth_secret"
        else:
            ok, reason = verify_token(self.args.oauth_secret, token, user)
        # Never the token itself: only what a test needs to tell the cases apart.
        self.event(
            event="auth",
            conn=conn,
            mechanism="XOAUTH2",
            login=user,
            ok=ok,
            reason=reason,
            expired=reason == "expired",
            bad_signature=reason == "bad_signature",
            inline=inline,
            token_length=len(token),
        )
        if ok:
            server.session.postamt_login = user
            return AuthResult(success=True, handled=False, auth_data=user)
        if self.args.auth_reply or self.args.auth_fail_reply:
            return AuthResult(success=False, handled=False, message=self.args.auth_reply or self.args.auth_fail_reply)
        if self.args.oauth_style == "google":
            challenge = json.dumps(GOOGLE_CHALLENGE, separators=(",", ":"))
            answer = await server.challenge_auth(challenge)
            if answer is MISSING:
                return None
            await server.push(GOOGLE_REJECT)
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message=MICROSOFT_REJECT)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self.stall("mail")
        if self.args.reject_mail:
            self.event(event="mail_rejected", conn=getattr(session, "postamt_conn", None), reply=self.args.reject_mail)
            return self.args.reject_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self.stall("rcpt")
        if address.lower() in self.rejected_addresses:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.rcpt_rejections_left is not None:
            if self.rcpt_rejections_left > 0:
                self.rcpt_rejections_left -= 1
                return self.args.reject_rcpt or "451 4.7.1 Greylisted, try again later"
        elif self.args.reject_rcpt:
            return self.args.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope):
        await self.stall("data")
        if self.args.reject_data:
            return self.args.reject_data
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, bytes):
            content = content.decode("utf-8", "replace")
        for spec in self.args.reject_data_containing:
            text, reply = spec.split("=", 1)
            if text in content:
                self.event(event="rejected", conn=getattr(session, "postamt_conn", None), reply=reply)
                if reply.startswith("421"):
                    # After the 421 has been written, as for --close-after-messages.
                    asyncio.get_running_loop().call_soon(server.transport.close)
                return reply
        session.postamt_messages = getattr(session, "postamt_messages", 0) + 1
        self.event(
            event="delivered",
            conn=getattr(session, "postamt_conn", None),
            mail_from=envelope.mail_from,
            rcpt_tos=envelope.rcpt_tos,
            mail_options=envelope.mail_options,
            login=getattr(session, "postamt_login", None),
            tls=self.args.tls == "implicit" or session.ssl is not None,
            content=content,
        )
        if self.args.close_after_messages and session.postamt_messages >= self.args.close_after_messages:
            # After the 250 has been written: the loop runs this once the handler returned.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 2.0.0 Message accepted for delivery"

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = login == self.args.user and password == self.args.password and not self.args.auth_reply
        self.event(event="auth", conn=getattr(session, "postamt_conn", None), mechanism=mechanism, login=login, ok=ok)
        if ok:
            session.postamt_login = login
            return AuthResult(success=True, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False, message=self.args.auth_reply or self.args.auth_fail_reply)


async def main():
    args = parse_args()
    # aiosmtpd logs a deprecation warning on every AUTH ("Session.login_data"): not ours.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = Handler(args)
    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    class RecordingSMTP(SMTP):
        # Only with XOAUTH2 on, so the other tests keep aiosmtpd's usual limits. The
        # command line itself stays limited to 512 octets (command_size_limit).
        if args.oauth_secret:
            line_length_limit = AUTH_LINE_MAX

        def connection_made(self, transport):
            # aiosmtpd calls this again after STARTTLS, with a new session: same connection.
            upgrade = self._original_transport is not None
            super().connection_made(transport)
            if not upgrade:
                handler.connections += 1
                handler.open += 1
                self.postamt_conn = handler.connections
                if args.log_sessions:
                    handler.event(event="connect", conn=self.postamt_conn, open=handler.open)
            self.session.postamt_conn = self.postamt_conn

        async def smtp_QUIT(self, arg):
            if arg or not args.record_close:
                return await super().smtp_QUIT(arg)
            status = await self._call_handler_hook("QUIT")
            await self.push(status)
            # Unlike aiosmtpd, wait for the client to close (at most 5 s): only then does
            # connection_lost show whether it ended TLS with close_notify.
            self.postamt_quit = True
            self._reset_timeout(5)

        def eof_received(self):
            # asyncio's TLS reports the client's close_notify (read with the data) before
            # the end of the TCP stream; a connection closed without it (what Exim logs as
            # "TLS connection was non-properly terminated") reaches here only after.
            tls = getattr(self.transport, "_ssl_protocol", None)
            if tls is not None:
                self.postamt_close_notify = not tls._eof_received
            return super().eof_received()

        def connection_lost(self, error):
            handler.open -= 1
            if args.record_close:
                handler.event(
                    event="closed",
                    conn=getattr(self, "postamt_conn", None),
                    after_quit=getattr(self, "postamt_quit", False),
                    # None without TLS, or when the client did not close first.
                    close_notify=getattr(self, "postamt_close_notify", None),
                    error=None if error is None else f"{type(error).__name__}: {error}",
                )
            super().connection_lost(error)

    def factory():
        return RecordingSMTP(
            handler,
            hostname="postamt-test.localhost",
            tls_context=context if args.tls == "starttls" else None,
            # On an implicit-TLS socket aiosmtpd does not know it is encrypted.
            auth_require_tls=args.auth_require_tls and args.tls == "starttls",
            auth_required=args.auth_required,
            auth_exclude_mechanism=handler.exclude,
            authenticator=handler.authenticator,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host=args.host, port=args.port, ssl=context if args.tls == "implicit" else None
    )
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
