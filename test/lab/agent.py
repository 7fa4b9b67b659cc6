#!/usr/bin/python3
"""Namespace lab agent: `serve` listens inside an endpoint namespace, `probe` measures reachability.

serve --tcp 80,443 --udp 53     TCP: accept and close. UDP: echo every datagram back.
probe --timeout 1.0             stdin: JSON list of {"id","proto","addr","port"}; stdout: JSON {id: bool}.
                                proto is tcp, udp or icmp (echo request); addr may be IPv4 or IPv6.
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time


def serve(tcp_ports, udp_ports):
    def tcp_loop(sock):
        while True:
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                time.sleep(0.01)

    def udp_loop(sock):
        while True:
            try:
                data, peer = sock.recvfrom(65535)
                sock.sendto(data, peer)
            except OSError:
                time.sleep(0.01)

    def dual_stack(kind, port):
        """A socket bound to `port` on every IPv4 and IPv6 address of the namespace."""
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(('::', port))
        return s

    threads = []
    for port in tcp_ports:
        s = dual_stack(socket.SOCK_STREAM, port)
        s.listen(128)
        threads.append(threading.Thread(target=tcp_loop, args=(s,), daemon=True))
    for port in udp_ports:
        threads.append(threading.Thread(target=udp_loop, args=(dual_stack(socket.SOCK_DGRAM, port),), daemon=True))
    for t in threads:
        t.start()
    sys.stdout.write('ready\n')
    sys.stdout.flush()
    while True:
        time.sleep(3600)


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def probe_tcp(addr, port, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def answered(s, timeout, got_answer):
    """Calls got_answer() (one receive on s) until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.001, deadline - time.monotonic()))
        if got_answer():
            return True
    return False


def probe_udp(addr, port, timeout):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    token = os.urandom(8)
    try:
        s.connect((addr, port))
        s.send(token)
        return answered(s, timeout, lambda: s.recv(65535) == token)
    except OSError:
        return False
    finally:
        s.close()


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def probe_icmp(addr, timeout):
    v6 = ':' in addr
    ident = random.randint(1, 0xFFFF)
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        packet = struct.pack('!BBHHH', 128, 0, 0, ident, 1) + b'netpol-lab'  # kernel fills the checksum
        want_type = 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        header = struct.pack('!BBHHH', 8, 0, 0, ident, 1) + b'netpol-lab'
        packet = struct.pack('!BBHHH', 8, 0, checksum(header), ident, 1) + b'netpol-lab'
        want_type = 0
    def is_reply():
        data, peer = s.recvfrom(65535)
        if not v6:
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < 8 or peer[0] != addr:
            return False
        typ, _, _, got_id, _ = struct.unpack('!BBHHH', data[:8])
        return typ == want_type and got_id == ident

    try:
        s.sendto(packet, (addr, 0))
        return answered(s, timeout, is_reply)
    except OSError:
        return False
    finally:
        s.close()


def probe(timeout):
    requests = json.load(sys.stdin)
    results = {}
    lock = threading.Lock()
    gate = threading.Semaphore(64)

    def one(req):
        with gate:
            proto = req['proto']
            if proto == 'tcp':
                ok = probe_tcp(req['addr'], req['port'], timeout)
            elif proto == 'udp':
                ok = probe_udp(req['addr'], req['port'], timeout)
            elif proto == 'icmp':
                ok = probe_icmp(req['addr'], timeout)
            else:
                raise ValueError('unknown proto ' + proto)
        with lock:
            results[req['id']] = ok

    threads = [threading.Thread(target=one, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(results, sys.stdout)


def ports(arg):
    return [int(p) for p in arg.split(',') if p]


if __name__ == '__main__':
    args = sys.argv[1:]
    if args[:1] == ['serve']:
        opts = dict(zip(args[1::2], args[2::2]))
        serve(ports(opts.get('--tcp', '')), ports(opts.get('--udp', '')))
    elif args[:1] == ['probe']:
        opts = dict(zip(args[1::2], args[2::2]))
        probe(float(opts.get('--timeout', '1.0')))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
