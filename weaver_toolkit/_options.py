"""Keyword arguments -> a stage's config dataclass, checked the way the CLIs check their flags.

Each stage declares its options once, as dataclass fields (``GenerationConfig``,
``EvaluationConfig``, ``ScoringConfig``; selection keys in ``selection.config``). The Python API
accepts exactly those names as keyword arguments (plus a few documented aliases). An unknown
name is an ``InputError`` naming it and the closest valid names; a value of the wrong type is an
``InputError`` too, before any work starts. Only the standard library is imported here.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import os
from typing import Any, Iterable, Mapping

from toolkit.errors import InputError


def closest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(name, list(valid), n=n, cutoff=0.5)


def unknown_option(where: str, name: str, valid: Iterable[str]) -> InputError:
    valid = sorted(valid)
    close = closest(name, valid)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return InputError(f"{where}: unknown option {name!r}.{hint} Valid options: {', '.join(valid)}")


def _type_text(f: dataclasses.Field) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


def _base_type(f: dataclasses.Field) -> str:
    parts = [p.strip() for p in _type_text(f).split("|")]
    return next((p for p in parts if p != "None"), "Any")


def coerce(where: str, f: dataclasses.Field, value: Any, joinable: bool = False) -> Any:
    """Check ``value`` against the field's declared type; lists of names become the CLI's comma lists."""
    nullable = "None" in _type_text(f) or f.default is None
    if value is None:
        if nullable:
            return None
        raise InputError(f"{where}: option {f.name} cannot be None")
    kind = _base_type(f)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise InputError(f"{where}: option {f.name} must be True or False, got {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InputError(f"{where}: option {f.name} must be an integer, got {value!r}")
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise InputError(f"{where}: option {f.name} must be a number, got {value!r}")
    if kind == "str":
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if joinable and isinstance(value, (list, tuple)) and all(isinstance(v, (str, os.PathLike)) for v in value):
            return ",".join(os.fspath(v) for v in value)
        if isinstance(value, str):
            return value
        expected = "a string or a list of strings" if joinable else "a string"
        raise InputError(f"{where}: option {f.name} must be {expected}, got {value!r}")
    return value


def build_config(cls, where: str, options: Mapping[str, Any], managed: Mapping[str, str],
                 fixed: Mapping[str, Any], aliases: Mapping[str, str] | None = None,
                 joinable: Iterable[str] = ()):
    """``cls(**fixed, **options)`` after checking every option name and value.

    ``managed`` maps field names the Run sets itself to the reason the caller may not set them;
    ``aliases`` maps extra keyword names to field names (e.g. ``k`` -> ``samples_per_instruction``).
    """
    aliases = dict(aliases or {})
    joinable = set(joinable)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    valid = [n for n in by_name if n not in managed] + list(aliases)
    values: dict[str, Any] = {}
    for key, value in options.items():
        name = aliases.get(key, key)
        if name in managed:
            raise InputError(f"{where}: option {key!r} is set by the Run ({managed[name]})")
        if name not in by_name:
            raise unknown_option(where, key, valid)
        if name in values:
            raise InputError(f"{where}: option {name!r} given twice (once as {key!r})")
        values[name] = coerce(where, by_name[name], value, joinable=name in joinable)
    return cls(**{**values, **fixed})


# -- selection overrides ------------------------------------------------------------------------
def selection_overrides(where: str, overrides: Mapping[str, Any]) -> tuple[list[str], set[str]]:
    """Keyword overrides -> ``key.sub=value`` strings for ``selection.config.load_config``.

    A key is written dotted (``**{"data_cfg.train_split": 1.0}``), with ``__`` for the dots
    (``data_cfg__train_split=1.0``), or as its last part when that names one key only
    (``train_split=1.0``). Returns the strings and the full keys they set.
    """
    from selection.config import KNOWN_KEYS, _FREE_FORM, _is_section

    leaves: dict[str, list[str]] = {}
    for key in KNOWN_KEYS:
        if not _is_section(key) or key in _FREE_FORM:
            leaves.setdefault(key.rsplit(".", 1)[-1], []).append(key)
    out, keys = [], set()
    for raw, value in overrides.items():
        key = raw.replace("__", ".")
        if key not in KNOWN_KEYS and not any(key.startswith(p + ".") for p in _FREE_FORM):
            found = leaves.get(key, [])
            if len(found) == 1:
                key = found[0]
            elif len(found) > 1:
                raise InputError(f"{where}: option {raw!r} is ambiguous: it could be {', '.join(found)}; "
                                 f"write it dotted, e.g. **{{{found[0]!r}: ...}} or {found[0].replace('.', '__')}=...")
            else:
                valid = sorted(set(k for k in KNOWN_KEYS if not _is_section(k) or k in _FREE_FORM) | set(leaves))
                raise unknown_option(where, raw, valid)
        if key in keys:
            raise InputError(f"{where}: option {key!r} given twice")
        keys.add(key)
        out.append(f"{key}={yaml_flow(value)}")
    return out, keys


def yaml_flow(value: Any) -> str:
    """A value as YAML flow text, as OmegaConf reads an override's right-hand side."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        import json

        return json.dumps(value)  # a double-quoted YAML scalar
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_flow(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{yaml_flow(str(k))}: {yaml_flow(v)}" for k, v in value.items()) + "}"
    raise InputError(f"cannot pass a {type(value).__name__} as a selection option: {value!r}")
