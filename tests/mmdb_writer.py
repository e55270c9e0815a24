"""A minimal MaxMind DB writer, for tests: small .mmdb files in the shape the vendors publish.

Follows the MaxMind DB File Format Specification 2.0 (https://maxmind.github.io/MaxMind-DB/):
a binary search tree of 24-bit records, a 16-byte zero separator, a data section, then
``\\xab\\xcd\\xefMaxMind.com`` and the metadata map. Enough for an IPv6 (or IPv4) tree holding
a few networks with country/city/ASN records; no pointers inside the data section (each
distinct record is written once and shared by the tree).

In an IPv6 tree, IPv4 networks go under ``::/96`` (``1.2.3.0/24`` -> ``::1.2.3.0/120``), and with
``alias_ipv4=True`` the subtrees ``::ffff:0:0/96``, ``2001::/32`` (Teredo) and ``2002::/16`` (6to4)
point at the ``::/96`` node, as MaxMind's own writer does.
"""

from __future__ import annotations

import ipaddress
import json
import struct
from collections import deque
from pathlib import Path

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
IPV4_ALIASES = ("::ffff:0:0/96", "2001::/32", "2002::/16")

# Data section type numbers (spec "Output Data Section").
_STRING, _DOUBLE, _UINT16, _UINT32, _MAP, _UINT64, _ARRAY, _BOOLEAN = 2, 3, 5, 6, 7, 9, 11, 14


def _control(type_number: int, size: int) -> bytes:
    """The control byte(s) of one field: type and payload size, extended as the spec says."""
    if size < 29:
        size_bits, size_bytes = size, b""
    elif size < 285:
        size_bits, size_bytes = 29, bytes([size - 29])
    elif size < 65821:
        size_bits, size_bytes = 30, (size - 285).to_bytes(2, "big")
    else:
        size_bits, size_bytes = 31, (size - 65821).to_bytes(3, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | size_bits]) + size_bytes
    return bytes([size_bits, type_number - 7]) + size_bytes


def encode(value) -> bytes:
    """One value in the data section's encoding (maps, arrays, strings, uints, doubles, bools)."""
    if isinstance(value, bool):
        return _control(_BOOLEAN, int(value))
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(_STRING, len(raw)) + raw
    if isinstance(value, float):
        return _control(_DOUBLE, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("this writer stores unsigned integers only")
        if isinstance(value, UInt64):
            type_number = _UINT64
        elif isinstance(value, UInt32):
            type_number = _UINT32
        else:
            type_number = _UINT16 if value < 2**16 else _UINT32 if value < 2**32 else _UINT64
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return _control(type_number, len(raw)) + raw
    if isinstance(value, dict):
        out = _control(_MAP, len(value))
        for key, item in value.items():
            out += encode(str(key)) + encode(item)
        return out
    if isinstance(value, (list, tuple)):
        return _control(_ARRAY, len(value)) + b"".join(encode(item) for item in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


class UInt32(int):
    """An unsigned integer stored as uint32 whatever its size (libmaxminddb checks metadata types)."""


class UInt64(int):
    """An unsigned integer stored as uint64."""


class _Node:
    __slots__ = ("children",)

    def __init__(self):
        self.children: list = [None, None]  # None (empty), _Node, or ("data", record key)


def _tree_address(network: str, ip_version: int) -> tuple[int, int]:
    """A network as (address as an int, prefix length) in the tree's own bit width."""
    net = ipaddress.ip_network(network)
    if ip_version == 4:
        if net.version != 4:
            raise ValueError(f"{network}: an IPv4 tree cannot hold an IPv6 network")
        return int(net.network_address), net.prefixlen
    if net.version == 4:  # IPv4 space lives under ::/96 in an IPv6 tree
        return int(net.network_address), net.prefixlen + 96
    return int(net.network_address), net.prefixlen


def _insert(root: _Node, address: int, prefix_len: int, bits: int, leaf) -> None:
    node = root
    for depth in range(prefix_len):
        bit = (address >> (bits - 1 - depth)) & 1
        if depth == prefix_len - 1:
            node.children[bit] = leaf
            return
        child = node.children[bit]
        if not isinstance(child, _Node):  # split an empty or data record into a node
            split = _Node()
            split.children = [child, child]
            node.children[bit] = child = split
        node = child


def _node_at(root: _Node, address: int, prefix_len: int, bits: int) -> _Node:
    """The node that roots ``address/prefix_len``, creating empty nodes on the way."""
    node = root
    for depth in range(prefix_len):
        bit = (address >> (bits - 1 - depth)) & 1
        child = node.children[bit]
        if not isinstance(child, _Node):
            split = _Node()
            split.children = [child, child]
            node.children[bit] = child = split
        node = child
    return node


def _number_nodes(root: _Node) -> list[_Node]:
    """Nodes in breadth-first order (the root is node 0); a shared (aliased) node is listed once."""
    order, seen, queue = [], set(), deque([root])
    while queue:
        node = queue.popleft()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        queue.extend(c for c in node.children if isinstance(c, _Node))
    return order


def build_mmdb(networks: list[tuple[str, dict]], *, database_type: str, ip_version: int = 6,
               build_epoch: int = 1_700_000_000, languages: tuple[str, ...] = ("en",),
               description: dict | None = None, alias_ipv4: bool = True) -> bytes:
    """The bytes of a MaxMind DB holding ``networks`` (``[(cidr, record), ...]``)."""
    bits = 128 if ip_version == 6 else 32
    root = _Node()
    records: dict[str, dict] = {}
    for cidr, record in sorted(networks, key=lambda nr: _tree_address(nr[0], ip_version)[1]):
        key = json.dumps(record, sort_keys=True)
        records.setdefault(key, record)
        address, prefix_len = _tree_address(cidr, ip_version)
        _insert(root, address, prefix_len, bits, ("data", key))
    if ip_version == 6 and alias_ipv4:
        ipv4_root = _node_at(root, 0, 96, bits)
        for alias in IPV4_ALIASES:
            net = ipaddress.ip_network(alias)
            parent = _node_at(root, int(net.network_address), net.prefixlen - 1, bits)
            bit = (int(net.network_address) >> (bits - net.prefixlen)) & 1
            parent.children[bit] = ipv4_root

    nodes = _number_nodes(root)
    number = {id(n): i for i, n in enumerate(nodes)}
    node_count = len(nodes)
    data, offsets = b"", {}
    for key, record in records.items():
        offsets[key] = len(data)
        data += encode(record)

    def record_value(child) -> int:
        if child is None:
            return node_count
        if isinstance(child, _Node):
            return number[id(child)]
        return node_count + 16 + offsets[child[1]]

    tree = b"".join(record_value(c).to_bytes(3, "big") for n in nodes for c in n.children)
    metadata = {
        "binary_format_major_version": 2,
        "binary_format_minor_version": 0,
        "build_epoch": UInt64(build_epoch),
        "database_type": database_type,
        "description": description or {"en": f"{database_type} test database"},
        "ip_version": ip_version,
        "languages": list(languages),
        "node_count": UInt32(node_count),
        "record_size": 24,
    }
    return tree + bytes(16) + data + METADATA_MARKER + encode(metadata)


def write_mmdb(path: str | Path, networks: list[tuple[str, dict]], **kwargs) -> Path:
    """Write :func:`build_mmdb`'s bytes to ``path``; returns the path."""
    path = Path(path)
    path.write_bytes(build_mmdb(networks, **kwargs))
    return path
