#!/usr/bin/python3
"""New TCP connections per second, for the packet-path benchmark.

connect-rate.py serve PORT               accept and close, forever; prints "ready" once listening
connect-rate.py connect ADDR PORT SECS   open connections to ADDR:PORT one after the other for SECS

Each connection completes the handshake, waits for the listener to close it, then resets, so no
TIME_WAIT state piles up on either side. `connect` prints JSON: {"connections", "failures",
"seconds"}; a connection with no answer within 1 s counts as a failure.
"""
import json
import socket
import struct
import sys
import time

RESET_ON_CLOSE = struct.pack('ii', 1, 0)


def serve(port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('0.0.0.0', port))
    listener.listen(512)
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        conn, _ = listener.accept()
        conn.close()


def connect(addr, port, duration):
    done = failed = 0
    start = time.monotonic()
    deadline = start + duration
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1.0)
        try:
            s.connect((addr, port))
            s.recv(1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
            done += 1
        except OSError:
            failed += 1
        finally:
            s.close()
    json.dump({'connections': done, 'failures': failed, 'seconds': time.monotonic() - start}, sys.stdout)


if __name__ == '__main__':
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == 'serve':
        serve(int(args[1]))
    elif len(args) == 4 and args[0] == 'connect':
        connect(args[1], int(args[2]), float(args[3]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
