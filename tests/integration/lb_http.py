#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""HTTP server and clients for the XDP load balancer's integration test.

  lb_http.py serve NAME PORT       HTTP/1.1 server on [::]:PORT (v4 and v6);
                                   GET /id answers NAME, keep-alive on
  lb_http.py spread URL N          N requests, each on a new connection;
                                   prints "NAME count" lines, then
                                   "errors N"
  lb_http.py hold URL SECONDS      one keep-alive connection, a request
                                   every 50 ms; prints "backend NAME" at
                                   once, then "held N NAME" or
                                   "broken N NAME: error" at the end
Standard library only.
"""
import http.client
import http.server
import socket
import socketserver
import sys
import time
import urllib.parse


def serve(name, port):
    body = (name + "\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        address_family = socket.AF_INET6
        daemon_threads = True
        allow_reuse_address = True

        def handle_error(self, request, client_address):
            pass  # resets are what the removal test provokes

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    Server(("::", port), Handler).serve_forever()


def connect(url, timeout):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout), u.path or "/"


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    data = r.read().decode().strip()
    if r.status != 200:
        raise RuntimeError("status %d" % r.status)
    return data


def spread(url, n):
    counts, errors = {}, 0
    for _ in range(n):
        conn, path = connect(url, 3)
        try:
            name = get(conn, path)
            counts[name] = counts.get(name, 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is counted
            errors += 1
            print("error", e, file=sys.stderr)
        finally:
            conn.close()
    for name in sorted(counts):
        print(name, counts[name])
    print("errors", errors)


def hold(url, seconds):
    conn, path = connect(url, 2)
    n, first = 0, None
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            name = get(conn, path)
            if first is None:
                first = name
                print("backend", name, flush=True)
            elif name != first:
                raise RuntimeError("answered by %s" % name)
            n += 1
            time.sleep(0.05)
    except Exception as e:  # noqa: BLE001 - the outcome is the report
        print("broken", n, first, ":", e.__class__.__name__, e, flush=True)
        return
    print("held", n, first, flush=True)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "serve" and len(sys.argv) == 4:
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "spread" and len(sys.argv) == 4:
        spread(sys.argv[2], int(sys.argv[3]))
    elif cmd == "hold" and len(sys.argv) == 4:
        hold(sys.argv[2], float(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
