"""Typed parameters from plain mappings (YAML, papermill): unknown keys, wrong types and values out of
range, at any depth, are one error naming where (file, run) and the key path (`arms[0].scope`, `train.lr`).

A value's range comes from its field's metadata (`ge`, `gt`, `lt`, `choices`; `TrainConfig`'s fields carry
theirs), else from `SHARED_RULES` for the parameters every notebook names alike. The notebook's `Run.start`
resolves its parameters through `build` too, so a profile and a notebook refuse the same values.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

from ..data.splits import DATASETS
from ..train.config import TrainConfig, bounds_of, describe, out_of_bounds


class ParamsError(ValueError):
    """A bad parameter file or value: the message names the profile, run and key."""


_TRAIN = {f.name: f for f in dataclasses.fields(TrainConfig)}
# Parameters the notebooks' dataclasses (`study.experiments`) declare without a rule of their own: a
# top-level seed and image_size become TrainConfig's, every rate of an lr_grid is a TrainConfig.lr, a
# subset size of 0 would silently mean "all" (`data.splits.subsample`), a dataset is one load_splits reads.
# A rule in a field's own metadata wins over this table. A list's rule applies to each item.
SHARED_RULES = {
    "seed": bounds_of(_TRAIN["seed"]),
    "image_size": bounds_of(_TRAIN["image_size"]),
    "lr_grid": bounds_of(_TRAIN["lr"]),
    "max_train": {"ge": 1},
    "max_eval": {"ge": 1},
    "dataset": {"choices": DATASETS},
    "datasets": {"choices": DATASETS},
}


def rule_of(f: dataclasses.Field) -> dict:
    """The range of a dataclass field: its metadata's bounds and choices, else the shared rule of its name."""
    rule = {k: f.metadata[k] for k in ("ge", "gt", "lt", "choices") if k in f.metadata}
    return rule or SHARED_RULES.get(f.name, {})


def check_rule(value, rule: dict, where: str, key: str) -> None:
    """ParamsError naming the key (and item) when a typed value breaks its field's rule."""
    items = enumerate(value) if isinstance(value, list) else [(None, value)]
    bounds = {k: v for k, v in rule.items() if k != "choices"}
    for i, v in items:
        at = key if i is None else f"{key}[{i}]"
        if "choices" in rule and v not in rule["choices"]:
            raise ParamsError(f"{where}: key '{at}' is {v!r}; valid: {', '.join(map(str, rule['choices']))}")
        if out_of_bounds(bounds, v):
            raise ParamsError(f"{where}: key '{at}' is {v!r}; valid: {describe(bounds)}")


def _type_name(tp) -> str:
    if get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if tp is type(None):
        return "null"
    if get_origin(tp) is list:
        return f"a list of {_type_name(get_args(tp)[0])}" if get_args(tp) else "a list"
    if dataclasses.is_dataclass(tp):
        return f"a mapping ({', '.join(f.name for f in dataclasses.fields(tp))})"
    return getattr(tp, "__name__", str(tp))


def check_value(value, tp, where: str, key: str):
    """`value` converted to type `tp` (ints are floats where a float is asked for), or ParamsError."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return None
        for arm in get_args(tp):
            if arm is type(None):
                continue
            try:
                return check_value(value, arm, where, key)
            except ParamsError:
                continue
    elif tp is Any:
        return value
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is list or tp is list:
        if isinstance(value, (list, tuple)):
            inner = get_args(tp)[0] if get_args(tp) else Any
            return [check_value(v, inner, where, f"{key}[{i}]") for i, v in enumerate(value)]
    elif origin is dict or tp is dict:
        if isinstance(value, dict):
            return dict(value)
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if isinstance(value, dict):
            return build(tp, value, where, prefix=f"{key}.")
    raise ParamsError(f"{where}: key '{key}' must be {_type_name(tp)}, got {type(value).__name__} {value!r}")


def build(cls, mapping: dict, where: str, prefix: str = ""):
    """An instance of dataclass `cls` from `mapping` (missing keys keep their defaults).

    A field whose metadata names a `config` dataclass holds a mapping of that dataclass's fields:
    the given keys are checked against it and merged over the field's default mapping.
    """
    if not isinstance(mapping, dict):
        raise ParamsError(f"{where}: {prefix.rstrip('.') or 'the parameters'} must be a mapping, got {mapping!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    out = {}
    for key, value in mapping.items():
        if key not in fields:
            raise ParamsError(f"{where}: unknown key '{prefix}{key}'; valid: {', '.join(fields)}")
        config = fields[key].metadata.get("config")
        if config is not None:
            out[key] = config_mapping(config, value, where, f"{prefix}{key}", _default(fields[key]),
                                      fields[key].metadata.get("reserved", ()))
        else:
            out[key] = check_value(value, hints[key], where, f"{prefix}{key}")
            check_rule(out[key], rule_of(fields[key]), where, f"{prefix}{key}")
    try:
        return cls(**out)
    except (TypeError, ValueError) as e:
        raise ParamsError(f"{where}: {prefix.rstrip('.') or 'parameters'}: {e}") from e


def _default(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return {} if f.default is dataclasses.MISSING else f.default


def config_mapping(config, value, where: str, key: str, base: dict | None = None, reserved=()) -> dict:
    """`base` updated with `value`, every key a field of dataclass `config` with the right type; the
    merged mapping must build a valid `config` (its own checks, e.g. known optimizer names, run)."""
    if not isinstance(value, dict):
        raise ParamsError(f"{where}: key '{key}' must be a mapping of {config.__name__} settings, got {value!r}")
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = get_type_hints(config)
    merged = dict(base or {})
    for k, v in value.items():
        if k in reserved:
            raise ParamsError(f"{where}: key '{key}.{k}' is set at the top level of the run's parameters, not here")
        if k not in fields:
            valid = ", ".join(sorted(set(fields) - set(reserved)))
            raise ParamsError(f"{where}: unknown key '{key}.{k}'; valid: {valid}")
        merged[k] = check_value(v, hints[k], where, f"{key}.{k}")
        check_rule(merged[k], rule_of(fields[k]), where, f"{key}.{k}")
    try:
        config(**merged)
    except (TypeError, ValueError) as e:
        raise ParamsError(f"{where}: key '{key}': {e}") from e
    return merged
