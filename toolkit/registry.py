"""One generic registry for benchmarks, backends, verifiers and selection methods.

Entries are registered once by name; asking for an unknown name raises an InputError
that suggests the closest names, so a typo on the command line explains itself.
"""
from __future__ import annotations

import difflib
from typing import Generic, Iterator, TypeVar

from toolkit.errors import InputError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, case_insensitive: bool = True):
        self.kind = kind
        self.case_insensitive = case_insensitive
        self._items: dict[str, T] = {}
        self._canonical: dict[str, str] = {}

    def _key(self, name: str) -> str:
        return name.lower() if self.case_insensitive else name

    def register(self, name: str, item: T) -> T:
        key = self._key(name)
        if key in self._canonical:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._canonical[key] = name
        self._items[name] = item
        return item

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._canonical

    def get(self, name: str) -> T:
        key = self._key(name)
        if key not in self._canonical:
            raise InputError(self.unknown_message(name))
        return self._items[self._canonical[key]]

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._items))}"

    def names(self) -> list[str]:
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def __len__(self) -> int:
        return len(self._items)
