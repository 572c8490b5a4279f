#!/usr/bin/env python3
"""A real SMTP server on loopback for postamt-smtp's tests (aiosmtpd).

Plaintext, STARTTLS or implicit TLS; AUTH PLAIN/LOGIN with one account; rejections and
stalls on purpose. Prints "READY <port>" on stdout once it listens, then serves until
killed. Every AUTH attempt and delivered message (with --log-sessions also every new
connection and RSET) is appended as one JSON line to --events, so a test can check what the
server saw (and that a probe delivered nothing); each carries the number of its connection
("conn").
"""

import argparse
import asyncio
import json
import logging
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult
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
    p.add_argument("--auth-fail-reply", help='reply to wrong credentials, e.g. "535 5.7.139 ..."')
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
    p.add_argument("--log-sessions", action="store_true", help="also log every new connection and RSET as events")
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

    def event(self, **fields):
        with open(self.args.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(fields) + "\n")

    async def stall(self, stage):
        seconds = self.stalls.get(stage)
        if seconds:
            await asyncio.sleep(seconds)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.no_auth:
            responses = [r for r in responses if not r[4:].upper().startswith("AUTH")]
        if self.args.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RSET(self, server, session, envelope):
        if self.args.log_sessions:
            self.event(event="rset", conn=getattr(session, "postamt_conn", None))
        return "250 2.0.0 OK"

    async def handle_NOOP(self, server, session, envelope, arg):
        await self.stall("noop")
        return "250 2.0.0 OK"

    async def auth_XOAUTH2(self, server, args):
        await server.push("535 5.7.8 XOAUTH2 is not accepted by this test server")
        return None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self.stall("mail")
        if self.args.reject_mail:
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
        ok = login == self.args.user and password == self.args.password
        self.event(event="auth", conn=getattr(session, "postamt_conn", None), mechanism=mechanism, login=login, ok=ok)
        if ok:
            session.postamt_login = login
            return AuthResult(success=True, handled=False, auth_data=auth_data)
        return AuthResult(success=False, handled=False, message=self.args.auth_fail_reply)


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
        def connection_made(self, transport):
            # aiosmtpd calls this again after STARTTLS, with a new session: same connection.
            upgrade = self._original_transport is not None
            super().connection_made(transport)
            if not upgrade:
                handler.connections += 1
                self.postamt_conn = handler.connections
                if args.log_sessions:
                    handler.event(event="connect", conn=self.postamt_conn)
            self.session.postamt_conn = self.postamt_conn

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
