"""A socket-level network blocker for tests: loopback and Unix sockets only.

``install(log)`` patches the ``socket`` module of this process: a connection, datagram, bind or
name lookup for anything other than a Unix socket or a loopback address raises ``OSError`` (or
``socket.gaierror``) and is appended to ``log`` as one JSON line (pid, call, address, where
from). The log is what a test reads: a child that swallows the exception cannot hide it.

Child processes get the same blocker through :func:`child_env`: this file is copied as
``sitecustomize.py`` into a temporary folder put first on ``PYTHONPATH``; Python imports it at
start-up, so every Python child (the CLI, each notebook's kernel) blocks and logs the same way,
and notes its start in ``<log>.started`` (the proof that the blocker ran there).

It sees what Python code does with the ``socket`` module (urllib, http.client, requests,
asyncio, ...), not C libraries that open sockets themselves (DuckDB's extension downloads,
libzmq); :func:`child_command` adds a network namespace with nothing but loopback for those
where ``unshare -rn`` is available.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import traceback
from pathlib import Path

ENV_LOG = "INVESTIGATE_NETGUARD_LOG"
_LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local_host(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_local(family, address) -> bool:
    if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, (str, bytes)):
        return True  # a Unix socket path (or an abstract name)
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and address:
        return _is_local_host(address[0])
    return False


def install(log: str | os.PathLike) -> "callable":
    """Block non-local network use in this process, logging attempts to ``log``; returns a
    function that undoes it."""
    log = str(log)
    originals = {
        "connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex,
        "sendto": socket.socket.sendto, "bind": socket.socket.bind,
        "create_connection": socket.create_connection, "getaddrinfo": socket.getaddrinfo,
        "gethostbyname": socket.gethostbyname, "gethostbyname_ex": socket.gethostbyname_ex,
        "gethostbyaddr": socket.gethostbyaddr,
    }

    def record(call: str, address) -> None:
        entry = {"pid": os.getpid(), "argv": getattr(sys, "orig_argv", sys.argv)[:4], "call": call,
                 "address": repr(address),
                 "stack": "".join(traceback.format_stack(limit=12)[:-2])}
        try:
            with open(log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
        except OSError:
            pass

    def refuse(call: str, address):
        record(call, address)
        return OSError(101, f"network blocked by the test ({call} {address!r})")  # ENETUNREACH

    def connect(self, address):
        if not _is_local(self.family, address):
            raise refuse("connect", address)
        return originals["connect"](self, address)

    def connect_ex(self, address):
        if not _is_local(self.family, address):
            raise refuse("connect_ex", address)
        return originals["connect_ex"](self, address)

    def sendto(self, data, *args):
        address = args[-1]
        if not _is_local(self.family, address):
            raise refuse("sendto", address)
        return originals["sendto"](self, data, *args)

    def bind(self, address):
        # Listening on every interface (or a public one) is network exposure too.
        if not _is_local(self.family, address):
            raise refuse("bind", address)
        return originals["bind"](self, address)

    def create_connection(address, *args, **kwargs):
        if not _is_local_host(address[0]):
            raise refuse("create_connection", address)
        return originals["create_connection"](address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            record("getaddrinfo", host)
            raise socket.gaierror(socket.EAI_NONAME, f"name lookup blocked by the test ({host!r})")
        return originals["getaddrinfo"](host, *args, **kwargs)

    def lookup(name):
        def blocked(host, *args, **kwargs):
            if not _is_local_host(host):
                record(name, host)
                raise socket.gaierror(socket.EAI_NONAME, f"name lookup blocked by the test ({host!r})")
            return originals[name](host, *args, **kwargs)
        return blocked

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.socket.bind = bind
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
    for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, name, lookup(name))

    def uninstall() -> None:
        for name in ("connect", "connect_ex", "sendto", "bind"):
            setattr(socket.socket, name, originals[name])
        for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                     "gethostbyaddr"):
            setattr(socket, name, originals[name])

    return uninstall


def attempts(log: str | os.PathLike) -> list[dict]:
    """The blocked attempts logged so far."""
    path = Path(log)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def started(log: str | os.PathLike) -> list[dict]:
    """The Python processes in which the blocker was installed at start-up."""
    return attempts(str(log) + ".started")


def child_env(folder: str | os.PathLike, log: str | os.PathLike, env: dict | None = None) -> dict:
    """An environment whose Python processes all start with the blocker installed: this file
    as ``sitecustomize.py`` in ``folder``, put first on ``PYTHONPATH``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(__file__, folder / "sitecustomize.py")
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    env[ENV_LOG] = str(log)
    return env


def _unshare_works() -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def child_command(argv: list[str]) -> list[str]:
    """``argv`` in a network namespace of its own (loopback only) when the system allows it
    (``unshare -rn``: also blocks C code the Python blocker cannot see); else ``argv``."""
    return ["unshare", "-rn", *argv] if _unshare_works() else list(argv)


def _started_here() -> None:
    """sitecustomize start-up: install the blocker when the environment names a log."""
    log = os.environ.get(ENV_LOG)
    if not log:
        return
    install(log)
    try:
        with open(log + ".started", "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "argv": getattr(sys, "orig_argv", sys.argv)[:4],
                                "executable": sys.executable}) + "\n")
    except OSError:
        pass


if __name__ == "sitecustomize":
    _started_here()
