"""What /proc says about a process tree: its processes, listening sockets, memory and threads.

Used by the security tests (every server binds loopback only) and the memory
benchmark (RSS of a host and its children); no psutil.

``/proc/net/tcp`` and ``tcp6`` list every socket of the network namespace with
its local address (hex, little-endian per 32-bit word), its state (``0A`` is
LISTEN) and its inode; ``/proc/PID/fd/*`` links name ``socket:[INODE]``.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

LISTEN = "0A"


def _decode_v4(hex_addr: str) -> str:
    return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_addr, 16)))


def _decode_v6(hex_addr: str) -> str:
    words = [struct.pack("<I", int(hex_addr[i:i + 8], 16)) for i in range(0, 32, 8)]
    return socket.inet_ntop(socket.AF_INET6, b"".join(words))


def listening_sockets() -> dict[int, tuple[str, int]]:
    """inode -> (address, port) for every LISTEN socket in this namespace."""
    found: dict[int, tuple[str, int]] = {}
    for table, decode in (("/proc/net/tcp", _decode_v4), ("/proc/net/tcp6", _decode_v6)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            addr, port = fields[1].split(":")
            found[int(fields[9])] = (decode(addr), int(port, 16))
    return found


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in entries:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listening_of(pids: list[int]) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every socket the given processes (and children) listen on."""
    table = listening_sockets()
    out = []
    for root in pids:
        for pid in descendants(root):
            for inode in socket_inodes(pid):
                if inode in table:
                    out.append((pid, *table[inode]))
    return out


def is_loopback(address: str) -> bool:
    if address.startswith("::ffff:"):  # IPv4-mapped (gRPC binds this way)
        address = address[len("::ffff:"):]
    return address.startswith("127.") or address == "::1"


def process_tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants (kB)."""
    total = 0
    for current in descendants(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def thread_count(pid: int) -> int:
    """Threads of process ``pid`` (0 when /proc does not say)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def peak_while_waiting(pid: int, samples: int = 10, interval_s: float = 0.3) -> tuple[int, int]:
    """Peak tree VmRSS (kB) and peak thread count of ``pid`` over ``samples`` readings.

    A measurement, not a wait: the caller has already polled until the load it
    wants to measure is in place; the readings only catch the peak.
    """
    peak_kb, threads = 0, 0
    for _ in range(samples):
        peak_kb = max(peak_kb, process_tree_rss_kb(pid))
        threads = max(threads, thread_count(pid))
        time.sleep(interval_s)
    return peak_kb, threads
