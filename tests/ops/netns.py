"""Hosts of the scale-out drill: Linux network namespaces on this machine, each joined to the
machine's own namespace by a veth pair, so a process inside one has its own network stack and
reaches the others only over its link (``ip netns``, ``ip link``; root only).

PostgreSQL and Redis listen on loopback only here (and the drill must not reconfigure the shared
servers), so the machine's side of each link relays their ports to them (:class:`Relay`), as a
router or a cloud load balancer in front of managed servers would: a namespace host connects to
``<its link's machine address>:5432`` and ``:6379``, never to ``127.0.0.1``, which inside the
namespace is its own, empty loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading


def netns_unavailable() -> str | None:
    """Why namespaces cannot be made here (``None`` when they can)."""
    if shutil.which("ip") is None:
        return "needs iproute2's ip (Debian package iproute2)"
    if os.geteuid() != 0:
        return "needs root to make network namespaces (ip netns add)"
    probe = f"custos-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()[:200]}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


class NetnsHost:
    """One namespace ``name`` with a veth link: the machine's end ``host_address``, the
    namespace's end ``address`` (a /30 of its own)."""

    def __init__(self, name: str, subnet: int, index: int):
        self.name = name
        tag = f"{os.getpid() % 10000}{index}"
        self.host_if, self.ns_if = f"cxh{tag}"[:15], f"cxn{tag}"[:15]
        prefix = f"10.231.{subnet}"
        self.host_address, self.address = f"{prefix}.{index * 4 + 1}", f"{prefix}.{index * 4 + 2}"
        _ip("netns", "add", name)
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _ip("link", "set", self.ns_if, "netns", name)
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("-n", name, "addr", "add", f"{self.address}/30", "dev", self.ns_if)
            _ip("-n", name, "link", "set", self.ns_if, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        except subprocess.CalledProcessError:
            self.close()
            raise

    def popen(self, command: list[str], **kwargs) -> subprocess.Popen:
        """``command`` run inside this namespace."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, *command], **kwargs)  # noqa: S603,S607

    def close(self) -> None:
        """Delete the namespace (its end of the link goes with it, and so the pair)."""
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, check=False)


class Relay:
    """Accept TCP connections on ``(address, port)`` and relay each to ``target`` (a thread per
    direction). Counts the connections it relayed (the drill checks each host used its link)."""

    def __init__(self, address: str, port: int, target: tuple[str, int]):
        self.target = target
        self.connections = 0
        self._server = socket.create_server((address, port))
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.close()
