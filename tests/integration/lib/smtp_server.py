#!/usr/bin/env python3
"""A real SMTP server for the notification tests (Debian python3-aiosmtpd).

Listens on 127.0.0.1 on a free port, offers STARTTLS with the given
certificate and requires it before AUTH; AUTH PLAIN/LOGIN with one user name
and password is required before MAIL. Each accepted message is written to
DIR/<n>.eml (the bytes as received) with DIR/<n>.json beside it (envelope,
whether TLS and AUTH were used, which SMTP session carried it). Prints
"READY <port>" once listening.

How it answers is read from DIR/mode before each recipient, so one server
serves every case of a test file:
  ok    accept
  4xx   451 (a temporary failure) to RCPT
  5xx   550 (a permanent failure) to RCPT
  hang  accept RCPT, then never answer DATA (a provider that hangs); DIR/hung
        counts the sends hanging so
"""
import argparse
import asyncio
import json
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dir', required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--user', required=True)
    ap.add_argument('--password', required=True)
    a = ap.parse_args()

    counter = {'n': 0}
    lock = threading.Lock()

    def mode():
        try:
            with open(os.path.join(a.dir, 'mode')) as f:
                return f.read().strip() or 'ok'
        except FileNotFoundError:
            return 'ok'

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            m = mode()
            if m == '4xx':
                return '451 4.3.0 try again later'
            if m == '5xx':
                return '550 5.1.1 no such mailbox'
            envelope.rcpt_tos.append(address)
            return '250 OK'

        async def handle_DATA(self, server, session, envelope):
            if mode() == 'hang':
                # Tells the test a send is under way (DIR/hung holds how many are).
                with lock:
                    counter['hung'] = counter.get('hung', 0) + 1
                    with open(os.path.join(a.dir, 'hung'), 'w') as f:
                        f.write(str(counter['hung']))
                await asyncio.sleep(3600)
            with lock:
                counter['n'] += 1
                n = counter['n']
            base = os.path.join(a.dir, str(n))
            with open(base + '.eml.part', 'wb') as f:
                f.write(envelope.original_content or envelope.content)
            meta = {
                'mail_from': envelope.mail_from,
                'rcpt_tos': envelope.rcpt_tos,
                'tls': session.ssl is not None,
                'authenticated': bool(session.authenticated),
                'session': id(session),
            }
            with open(base + '.json', 'w') as f:
                json.dump(meta, f)
            # The .eml appears last, whole: a test that sees it sees both files.
            os.rename(base + '.eml.part', base + '.eml')
            return '250 Message accepted'

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == a.user
              and auth_data.password.decode() == a.password)
        return AuthResult(success=ok)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname='127.0.0.1', port=port, tls_context=ctx, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True,
                            ready_timeout=10)
    controller.start()
    sys.stdout.write('READY %d\n' % port)  # one write: the test reads it from a pipe
    sys.stdout.flush()
    try:
        sys.stdin.read()  # until the test closes our stdin (or exits)
    finally:
        controller.stop()


if __name__ == '__main__':
    main()
