#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A raw HTTP/1.1 origin for the reverse proxy's integration test: it sees
and answers exactly the bytes on the wire, which a framework would hide.

  http_origin.py serve ADDR PORT LOGFILE
      every request head received is appended to LOGFILE (raw, then a line
      "----"), so a test can count and inspect what reached the origin.
      GET  /headers        200, the request head as received as the body
      POST /sha256         reads the body (Content-Length or chunked) and
                           answers "sha256 length"
      GET  /hang           reads the head, never answers
      GET  /ws             101 to an Upgrade: websocket request, then echoes
      GET  /close          200 without Content-Length, body ends at close
      GET  /chunked        200 chunked, three chunks
      GET  /short          200 Content-Length: 100, 10 bytes, then close
      anything else        200 "origin PORT PATH"
  http_origin.py raw ADDR PORT FILE [TIMEOUT]
      sends FILE's bytes as they are, prints what comes back until the peer
      closes or TIMEOUT (2 s) passes without a byte
  http_origin.py slowhead ADDR PORT SECONDS
      sends a request head one byte every 100 ms for SECONDS, never ending
      it; prints the response it gets and the seconds it took
  http_origin.py ws ADDR PORT N
      upgrades /ws, sends N messages through the tunnel, checks each echo;
      prints "ws ok N" or "ws fail ..."
Standard library only.
"""
import hashlib
import socket
import sys
import threading
import time


def read_head(f):
    lines = []
    while True:
        line = f.readline(65537)
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            k, v = line.split(b":", 1)
            if k.strip().lower() == name:
                return v.strip()
    return None


def read_body(f, head):
    """Yields the body's data; Content-Length or chunked."""
    te = header(head, b"transfer-encoding")
    if te is not None and te.lower() == b"chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            left = size
            while left:
                d = f.read(min(left, 1 << 20))
                if not d:
                    raise EOFError
                left -= len(d)
                yield d
            f.readline()
    cl = header(head, b"content-length")
    left = int(cl) if cl is not None else 0
    while left:
        d = f.read(min(left, 1 << 20))
        if not d:
            raise EOFError
        left -= len(d)
        yield d


def serve(addr, port, logfile):
    lock = threading.Lock()
    log = open(logfile, "ab", buffering=0)

    def reply(conn, status, body, extra=b""):
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: " +
                     str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)

    def handle(conn):
        f = conn.makefile("rb")
        try:
            while True:
                head = read_head(f)
                if head is None:
                    return
                if head.startswith(b"PROXY "):
                    # PROXY protocol v1: one line, then the request
                    pp, head = head.split(b"\r\n", 1)
                    if not head or head in (b"\r\n", b"\n"):
                        head = read_head(f)
                        if head is None:
                            return
                    head = head.replace(b"\r\n", b"\r\nX-Origin-Proxy-Line: " + pp + b"\r\n", 1)
                with lock:
                    log.write(head + b"----\n")
                line = head.split(b"\r\n", 1)[0].split(b" ")
                meth, path = line[0], line[1]
                if path == b"/hang":
                    time.sleep(3600)
                    return
                if path == b"/ws" and (header(head, b"upgrade") or b"").lower() == b"websocket":
                    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                 b"Connection: Upgrade\r\n\r\n")
                    while True:
                        d = f.read1(65536)
                        if not d:
                            conn.shutdown(socket.SHUT_WR)
                            return
                        conn.sendall(d)
                if meth == b"POST" and path == b"/sha256":
                    h, n = hashlib.sha256(), 0
                    for d in read_body(f, head):
                        h.update(d)
                        n += len(d)
                    reply(conn, b"200 OK", ("%s %d\n" % (h.hexdigest(), n)).encode())
                    continue
                for _ in read_body(f, head):
                    pass
                if path == b"/headers":
                    reply(conn, b"200 OK", head)
                elif path == b"/close":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited body\n")
                    return
                elif path == b"/short":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
                    return
                elif path == b"/chunked":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"4\r\nabc \r\n4\r\ndef \r\n4\r\nghi\n\r\n0\r\n\r\n")
                else:
                    reply(conn, b"200 OK", b"origin %d %s\n" % (port, path))
        except (OSError, EOFError, ValueError):
            pass
        finally:
            conn.close()

    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(512)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def connect(addr, port, timeout):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def read_all(s):
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            break
        if not d:
            break
        out += d
    return out


def raw(addr, port, path, timeout=2.0):
    data = open(path, "rb").read()
    s = connect(addr, port, timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    sys.stdout.buffer.write(read_all(s))


def slowhead(addr, port, seconds):
    s = connect(addr, port, seconds + 5)
    t0 = time.monotonic()
    head = b"GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 10000
    out = b""
    for b in head:
        if time.monotonic() - t0 > seconds:
            break
        try:
            s.sendall(bytes([b]))
        except OSError:
            break
        s.settimeout(0.1)
        try:
            d = s.recv(65536)
            if not d:
                break
            out += d
            if b"\r\n\r\n" in out:
                break
        except socket.timeout:
            pass
    s.settimeout(2)
    out += read_all(s)
    print("took %.2f" % (time.monotonic() - t0))
    sys.stdout.buffer.write(out + b"\n")


def ws(addr, port, n):
    s = connect(addr, port, 5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    resp = b""
    while b"\r\n\r\n" not in resp:
        d = s.recv(4096)
        if not d:
            print("ws fail: closed before 101")
            return
        resp += d
    head, rest = resp.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        print("ws fail: " + head.split(b"\r\n")[0].decode(errors="replace"))
        return
    got = rest
    want = b""
    for i in range(n):
        msg = ("message %d " % i).encode() * 50
        want += msg
        s.sendall(msg)
        while len(got) < len(want):
            d = s.recv(65536)
            if not d:
                print("ws fail: closed after %d bytes" % len(got))
                return
            got += d
    if got != want:
        print("ws fail: echo differs")
        return
    s.shutdown(socket.SHUT_WR)
    if s.recv(10):
        print("ws fail: bytes after the end")
        return
    print("ws ok %d" % n)


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "raw":
        raw(sys.argv[2], int(sys.argv[3]), sys.argv[4],
            float(sys.argv[5]) if len(sys.argv) > 5 else 2.0)
    elif cmd == "slowhead":
        slowhead(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "ws":
        ws(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
