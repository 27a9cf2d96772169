#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""An HTTP/2 client (prior knowledge, cleartext) that can break the rules,
for the proxy's HTTP/2 integration test: what curl and h2load will not send.
Needs Debian's python3-h2 (hence /usr/bin/python3).

  h2_client.py ADDR PORT CASE
    header-crlf   a field value with CR LF and a second field in it
    upper-name    a field name with upper-case letters
    te-chunked    a transfer-encoding: chunked field
    cl-over       content-length: 10 and 20 bytes of DATA
    cl-under      content-length: 10, 5 bytes of DATA, END_STREAM
    reset-reuse   a request to /hang reset by the client, then GET /x on the
                  same connection
    rapid-reset   500 streams each opened and reset at once
    idle          one GET /x, then wait for the server to end the connection

Prints one line per outcome seen, the last "result: ..." with, per stream,
"reset:CODE", "status:NNN" or "none", and "goaway:CODE" / "closed" for the
connection. Exit status 0 unless the client itself failed.
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def connect(addr, port):
    s = socket.create_connection((addr, int(port)), timeout=5)
    cfg = h2.config.H2Configuration(client_side=True, validate_outbound_headers=False,
                                    normalize_outbound_headers=False,
                                    validate_inbound_headers=False)
    c = h2.connection.H2Connection(config=cfg)
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c


def base(path=b"/x", method=b"GET"):
    return [(b":method", method), (b":scheme", b"http"), (b":authority", b"h2.test"),
            (b":path", path)]


class Run:
    def __init__(self, addr, port):
        self.s, self.c = connect(addr, port)
        self.streams = {}
        self.conn = "open"
        self.body = {}

    def send(self):
        data = self.c.data_to_send()
        if data:
            try:
                self.s.sendall(data)
            except OSError:
                self.conn = "closed"

    def pump(self, until, secs=5.0):
        """Reads events until until() is true, the connection ends or secs pass."""
        end = time.time() + secs
        while not until() and self.conn == "open" and time.time() < end:
            self.s.settimeout(max(0.05, end - time.time()))
            try:
                data = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                data = b""
            if not data:
                self.conn = "closed"
                break
            try:
                events = self.c.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                print("protocol error from the server side:", e)
                self.conn = "closed"
                break
            for ev in events:
                self.event(ev)
            self.send()

    def event(self, ev):
        sid = getattr(ev, "stream_id", None)
        if isinstance(ev, h2.events.ResponseReceived):
            status = dict(ev.headers).get(b":status", b"?").decode()
            self.streams[sid] = "status:" + status
        elif isinstance(ev, h2.events.DataReceived):
            self.body[sid] = self.body.get(sid, b"") + ev.data
            self.c.acknowledge_received_data(ev.flow_controlled_length, sid)
        elif isinstance(ev, h2.events.StreamEnded):
            self.streams[sid] = self.streams.get(sid, "none") + "+end"
        elif isinstance(ev, h2.events.StreamReset):
            self.streams[sid] = "reset:%d" % ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.conn = "goaway:%d" % ev.error_code

    def done(self, sid):
        return lambda: sid in self.streams and (
            self.streams[sid].startswith("reset") or self.streams[sid].endswith("+end"))

    def result(self, sids):
        parts = [self.streams.get(i, "none") for i in sids]
        print("result:", " ".join(parts), self.conn)


def main():
    addr, port, case = sys.argv[1], sys.argv[2], sys.argv[3]
    r = Run(addr, port)
    c = r.c
    if case in ("header-crlf", "upper-name", "te-chunked"):
        extra = {
            "header-crlf": [(b"x-a", b"1\r\nx-injected: 1")],
            "upper-name": [(b"X-Upper", b"1")],
            "te-chunked": [(b"transfer-encoding", b"chunked")],
        }[case]
        c.send_headers(1, base(b"/headers") + extra, end_stream=True)
        r.send()
        r.pump(r.done(1))
        r.result([1])
    elif case in ("cl-over", "cl-under"):
        n = 20 if case == "cl-over" else 5
        c.send_headers(1, base(b"/sha256", b"POST") + [(b"content-length", b"10")])
        c.send_data(1, b"x" * n, end_stream=True)
        r.send()
        r.pump(r.done(1))
        r.result([1])
    elif case == "reset-reuse":
        c.send_headers(1, base(b"/hang"), end_stream=True)
        r.send()
        r.pump(lambda: False, 0.3)
        c.reset_stream(1, 8)  # CANCEL
        c.send_headers(3, base(b"/x"), end_stream=True)
        r.send()
        r.pump(r.done(3))
        r.result([3])
        print("body:", r.body.get(3, b"").decode(errors="replace").strip())
    elif case == "rapid-reset":
        sid = 1
        for _ in range(500):
            if r.conn != "open":
                break
            try:
                c.send_headers(sid, base(b"/x"), end_stream=True)
                c.reset_stream(sid, 8)
            except h2.exceptions.ProtocolError:
                break
            sid += 2
            r.send()
        r.pump(lambda: r.conn != "open", 3)
        r.result([])
    elif case == "idle":
        c.send_headers(1, base(b"/x"), end_stream=True)
        r.send()
        r.pump(r.done(1))
        r.pump(lambda: False, float(sys.argv[4]) if len(sys.argv) > 4 else 5)
        if r.conn.startswith("goaway"):
            # after the GOAWAY the server closes
            g = r.conn
            r.conn = "open"
            r.pump(lambda: False, 3)
            r.conn = g + "+" + r.conn
        r.result([1])
    else:
        print("unknown case", case)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
