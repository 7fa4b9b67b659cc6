#!/usr/bin/python3
"""New TCP connections per second, for the packet-path benchmark.

connect-rate.py ADDR PORT SECONDS

Opens connections to ADDR:PORT one after the other for SECONDS. Each one completes the handshake,
waits for the listener to close it (the lab's listener accepts and closes), then resets, so no
TIME_WAIT state piles up on the client. Prints JSON: {"connections", "failures", "seconds"}.
A connection that gets no answer within 1 s counts as a failure.
"""
import json
import socket
import struct
import sys
import time

RESET_ON_CLOSE = struct.pack('ii', 1, 0)


def main(addr, port, duration):
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
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
