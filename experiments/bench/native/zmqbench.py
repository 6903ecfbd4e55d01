"""The pyzmq side of the bench: the baseline users of PyZMP know.

The same roles, command lines and stdin/stdout protocol as zmqbench.c (read
its opening comment), written the way pyzmq's own perf scripts
(perf/perf.py) are: plain blocking ``send`` / ``recv`` of ``bytes`` on one
socket, default high-water marks; the sinks drain with ``NOBLOCK`` and poll
only when the socket is empty, so reading the control pipe costs nothing per
message. Runs on Debian's python3-zmq (``/usr/bin/python3``).
"""

import json
import math
import os
import sys
import time

import zmq


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def now_ms():
    return time.time_ns() / 1e6


def mono_ms():
    return time.monotonic_ns() / 1e6


def set_curve(socket, args):
    if not args:
        return
    if args[0] == "curve-server":
        socket.curve_server = True
        socket.curve_secretkey = args[1].encode()
    elif args[0] == "curve-client":
        socket.curve_serverkey = args[1].encode()
        socket.curve_publickey = args[2].encode()
        socket.curve_secretkey = args[3].encode()


def sink(socket, frames):
    recv = socket.recv
    recv_multipart = socket.recv_multipart
    noblock = zmq.NOBLOCK
    again = zmq.Again
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    poller.register(0, zmq.POLLIN)
    count = 0
    stamped = -1
    last = 0.0
    last_seen = mono_ms()
    collecting = False
    expected = -1
    quiet_ms = 50.0
    deadline = 0.0
    pending = b""
    while True:
        before = count
        drained = False
        try:
            if frames == 1:
                for _ in range(4096):
                    recv(noblock)
                    count += 1
            else:
                for _ in range(4096):
                    recv_multipart(noblock)
                    count += 1
        except again:
            drained = True
        got = count != before
        if got:
            last_seen = mono_ms()
            if drained:
                last = now_ms()
                stamped = count
        if collecting:
            if expected >= 0:
                done = (count >= expected and stamped == count) or mono_ms() > deadline
            else:
                done = mono_ms() - last_seen >= quiet_ms
            if done:
                if stamped != count:
                    last = now_ms()
                reply({"count": count, "last": last if count > 0 else 0})
                collecting = False
        timeout = 0 if got else (2 if expected >= 0 else quiet_ms) if collecting else None
        events = dict(poller.poll(timeout))
        if 0 in events:
            data = os.read(0, 4096)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode().split()
                if not words:
                    continue
                if words[0] == "reset":
                    count, stamped, last = 0, -1, 0.0
                    reply({})
                elif words[0] == "collect":
                    quiet_ms, expected = float(words[1]), int(words[2])
                    collecting = True
                    last_seen = mono_ms()
                    deadline = mono_ms() + 60000


def echo(socket):
    recv_multipart = socket.recv_multipart
    send_multipart = socket.send_multipart
    noblock = zmq.NOBLOCK
    again = zmq.Again
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    poller.register(0, zmq.POLLIN)
    while True:
        try:
            while True:
                send_multipart(recv_multipart(noblock))
        except again:
            pass
        events = dict(poller.poll())
        if 0 in events and not os.read(0, 256):
            return


def produce(socket, topic, size):
    payload = b"\x5a" * size
    send = socket.send
    sndmore = zmq.SNDMORE
    for line in sys.stdin:
        words = line.split()
        ms = -1.0 if words[0] == "probe" else float(words[1])
        t0 = now_ms()
        end = mono_ms() + ms
        sent = 0
        while True:
            for _ in range(64):
                if topic is not None:
                    send(topic, sndmore)
                send(payload)
            sent += 64
            if ms < 0 or mono_ms() >= end:
                break
        reply({"t0": t0, "sent": sent})


def rank(values, q):
    k = min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))
    return values[k]


def call(socket, size):
    payload = b"\x5a" * size
    send = socket.send
    recv = socket.recv
    for line in sys.stdin:
        words = line.split()
        ms = float(words[1])
        if words[0] == "calls":
            concurrency = int(words[2])
            t0 = mono_ms()
            end = t0 + ms
            calls = 0
            outstanding = concurrency
            for _ in range(concurrency):
                send(payload)
            while outstanding > 0:
                recv()
                calls += 1
                if mono_ms() < end:
                    send(payload)
                else:
                    outstanding -= 1
            reply({"calls": calls, "ms": mono_ms() - t0})
        else:
            times = []
            end = mono_ms() + ms
            while mono_ms() < end:
                t = time.perf_counter_ns()
                send(payload)
                recv()
                times.append((time.perf_counter_ns() - t) / 1000)
            times.sort()
            reply({"count": len(times), "p50": rank(times, 0.5), "p99": rank(times, 0.99)})


def main(argv):
    role, endpoint, size = argv[0], argv[1], int(argv[2])
    topical = role in ("pub", "sub")
    topic = argv[3].encode() if topical else None
    curve = argv[4:] if topical else argv[3:]
    kinds = {
        "pull": zmq.PULL,
        "push": zmq.PUSH,
        "pub": zmq.PUB,
        "sub": zmq.SUB,
        "echo": zmq.ROUTER,
        "dealer": zmq.DEALER,
    }
    context = zmq.Context()
    socket = context.socket(kinds[role])
    socket.linger = 0
    set_curve(socket, curve)
    if role in ("pull", "echo", "pub"):
        socket.bind(endpoint)
        print("ready", socket.last_endpoint.decode(), flush=True)
    else:
        socket.connect(endpoint)
        if role == "sub":
            socket.setsockopt(zmq.SUBSCRIBE, topic)
        print("ready", flush=True)
    if role in ("pull", "sub"):
        sink(socket, 2 if role == "sub" else 1)
    elif role == "echo":
        echo(socket)
    elif role in ("push", "pub"):
        produce(socket, topic, size)
    else:
        call(socket, size)
    socket.close()
    context.term()


if __name__ == "__main__":
    main(sys.argv[1:])
