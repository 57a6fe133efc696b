"""How effects and values are written into a recording (JSON, with pickled blobs) and read back."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import operator
import pickle
import re
from typing import Any

from .. import effects as E
from ..errors import location_of
from ..program import Call, Pure
from ..stack import program_frame
from .blobs import BlobStore

FORMAT_VERSION = 1


_NAME_CACHE: dict = {}


def _effect_name(t: type) -> str:
    name = _NAME_CACHE.get(t)
    return name if name is not None else type_name(t)


def type_name(t: type) -> str:
    """``module.QualName`` of a class (the name recordings store for effect types)."""
    name = _NAME_CACHE.get(t)
    if name is None:
        name = _NAME_CACHE[t] = f"{t.__module__}.{t.__qualname__}"
    return name


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _not_json(o: Any) -> Any:
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


try:  # The C encoder, made once: json.dumps builds a new encoder object per call.
    _encode_json = json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _not_json, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
except (AttributeError, TypeError):  # pragma: no cover - pure-Python json
    _py_encoder = json.JSONEncoder(separators=(",", ":"))
    _encode_json = lambda obj, _level: [_py_encoder.encode(obj)]  # noqa: E731


class _NotStorable(Exception):
    pass


def _summary(value: Any) -> str:
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__} shape={tuple(shape)} dtype={dtype}"
    if hasattr(value, "__len__"):
        try:
            return f"{type(value).__name__} len={len(value)}"
        except Exception:  # noqa: BLE001 - a summary is best effort
            pass
    return _ADDRESS.sub("", repr(value))[:80]


def _float(v: float) -> Any:
    if math.isfinite(v):
        return v
    return {"$float": repr(v)}


def encode_value(value: Any, blobs: BlobStore) -> Any:
    """A JSON-able form of ``value`` that :func:`decode_value` turns back into an equal value."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return _float(value)
    if t is list:
        return [encode_value(v, blobs) for v in value]
    if t is tuple:
        return {"$tuple": [encode_value(v, blobs) for v in value]}
    if t is dict and all(type(k) is str and not k.startswith("$") for k in value):
        return {k: encode_value(v, blobs) for k, v in value.items()}
    try:
        digest, size = blobs.put(value)
    except Exception as err:  # noqa: BLE001 - pickling raises many types
        raise _NotStorable(f"{type(value).__module__}.{type(value).__qualname__} is neither JSON nor picklable ({type(err).__name__}: {err})") from err
    return {"$blob": digest, "$type": type_name(t), "$bytes": size, "$summary": _summary(value)}


def decode_value(data: Any, blobs: BlobStore) -> Any:
    t = type(data)
    if t is list:
        return [decode_value(v, blobs) for v in data]
    if t is dict:
        if "$blob" in data:
            return blobs.get(data["$blob"])
        if "$tuple" in data:
            return tuple(decode_value(v, blobs) for v in data["$tuple"])
        if "$float" in data:
            return float(data["$float"])
        return {k: decode_value(v, blobs) for k, v in data.items()}
    return data


def describe(value: Any) -> Any:
    """A JSON-able description of an effect field, equal for equal values across runs.

    Plain JSON stays as it is; other values become their type plus a digest of their pickle
    (arrays, objects), or a name (functions, coroutines, programs), never a memory address.
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return _float(value)
    if t is list:
        return [describe(v) for v in value]
    if t is tuple:
        return {"$tuple": [describe(v) for v in value]}
    if t is dict and all(type(k) is str and not k.startswith("$") for k in value):
        return {k: describe(v) for k, v in value.items()}
    if t is dict:
        return {"$dict": [[describe(k), describe(v)] for k, v in value.items()]}
    if t is set or t is frozenset:
        # Sorted by their JSON text: a set's iteration order (and pickle) changes between processes.
        return {"$set": sorted((describe(v) for v in value), key=lambda d: json.dumps(d, sort_keys=True))}
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, Call):
        fn = value.func
        return {"$program": f"{fn.__module__}.{fn.__qualname__}", "args": describe(list(value.args)), "kwargs": describe(dict(value.keywords))}
    if isinstance(value, Pure):
        return {"$program": "Pure", "value": describe(value.value)}
    if inspect.iscoroutine(value):
        return describe_coroutine(value)
    if inspect.isfunction(value) or inspect.isbuiltin(value) or isinstance(value, type):
        return {"$function": f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}"}
    if isinstance(value, E.EffectBase):
        return {"$effect": type_name(t), "fields": describe(effect_fields(value))}
    try:
        data = pickle.dumps(value, protocol=4)
    except Exception:  # noqa: BLE001 - not picklable: fall back to a repr without addresses
        return {"$type": type_name(t), "$repr": _ADDRESS.sub("", repr(value))[:200]}
    return {"$type": type_name(t), "$sha256": hashlib.sha256(data).hexdigest()[:32]}


def describe_coroutine(coro: Any) -> dict:
    """A coroutine by its function and the arguments it was called with (hashed): ``load("ckpt.pt")``
    and ``load("other.pt")`` are different effects, so replaying one for the other is a divergence.

    A coroutine not started yet holds exactly its arguments as the locals of its frame."""
    code = getattr(coro, "cr_code", None)
    frame = getattr(coro, "cr_frame", None)
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    out: dict = {"$coroutine": f"{module}.{coro.__qualname__}" if module else coro.__qualname__}
    if frame is not None and code is not None:
        count = code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
        arguments = {name: frame.f_locals[name] for name in code.co_varnames[:count] if name in frame.f_locals}
        text = json.dumps(describe(arguments), sort_keys=True, default=repr)
        out["args"] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return out


_FIELDS_CACHE: dict = {}


def effect_fields(effect: Any) -> dict:
    """The fields of an effect by name (dataclass fields, ``_fields`` of standard effects, or vars)."""
    t = type(effect)
    names = _FIELDS_CACHE.get(t)
    if names is None:
        if dataclasses.is_dataclass(t):
            names = tuple(f.name for f in dataclasses.fields(t))
        elif getattr(t, "_fields", None) is not None and isinstance(t._fields, tuple):
            names = t._fields
        else:
            names = ()
        _FIELDS_CACHE[t] = names
    if names:
        return {n: getattr(effect, n) for n in names}
    return dict(getattr(effect, "__dict__", {}))


_ESC = json.encoder.encode_basestring_ascii
_SITES: dict = {}
_SITE_JSON: dict = {}


def _site(gen: Any) -> str:
    """``location_of(gen)``, cached per (code, line): the same few sites perform most effects."""
    gen = program_frame(gen)
    frame = getattr(gen, "gi_frame", None)
    if frame is None:
        return location_of(gen)
    key = (frame.f_code, frame.f_lineno)
    at = _SITES.get(key)
    if at is None:
        at = _SITES[key] = location_of(gen)
    return at


_SITE_PARTS: dict = {}


def _site_parts(gen: Any) -> tuple:
    """``(at, ',"at":<at as JSON>,"answer":', code)`` for the perform site ``gen``, cached in
    ``_SITE_PARTS`` by ``(id(code), instruction offset)``: hashing a code object or computing a line
    number costs more than the rest of a record line. ``code`` keeps the id valid; a lookup checks it."""
    gen = program_frame(gen)
    frame = getattr(gen, "gi_frame", None)
    if frame is None:
        at = location_of(gen)
        return at, ',"at":' + _ESC(at) + ',"answer":', None
    code = frame.f_code
    key = (id(code), frame.f_lasti)
    parts = _SITE_PARTS.get(key)
    if parts is None or parts[2] is not code:
        at = location_of(gen)
        parts = _SITE_PARTS[key] = (at, ',"at":' + _ESC(at) + ',"answer":', code)
    return parts


_NO_SITE = ("", ',"at":"","answer":', None)


_EFFECT_NAME_JSON: dict = {}
_EFFECT_PARTS: dict = {}


def _effect_parts(t: type) -> str:
    """``',"effect":<type name as JSON>,"fields":'``: the part of a record line fixed by the effect type."""
    text = _EFFECT_PARTS.get(t)
    if text is None:
        text = _EFFECT_PARTS[t] = ',"effect":' + _effect_name_json(t) + ',"fields":'
    return text


def _effect_name_json(t: type) -> str:
    text = _EFFECT_NAME_JSON.get(t)
    if text is None:
        text = _EFFECT_NAME_JSON[t] = _ESC(type_name(t))
    return text


def _json_text(value: Any, blobs: BlobStore) -> str:
    """JSON text of ``encode_value(value)``, with the common scalars written directly."""
    t = type(value)
    if t is int:
        return str(value)
    if t is str:
        return _ESC(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is float and math.isfinite(value):
        return repr(value)
    return "".join(_encode_json(encode_value(value, blobs), 0))


_FIELD_TEMPLATES: dict = {}


def _value_json(value: Any) -> str:
    """JSON text of ``describe(value)``, with the common scalars written directly."""
    t = type(value)
    if t is int:
        return str(value)
    if t is str:
        return _ESC(value)
    if value is None:
        return "null"
    return "".join(_encode_json(describe(value), 0))


def _fields_json(effect: Any) -> str:
    """JSON text of ``describe_fields(effect)``: a per-type template filled with the field values."""
    t = type(effect)
    entry = _FIELD_TEMPLATES.get(t)
    if entry is None:
        effect_fields(effect)  # fills the per-type field names
        names = _FIELDS_CACHE[t]
        if names:
            template = "{" + ",".join(_ESC(n).replace("%", "%%") + ":%s" for n in names) + "}"
            entry = _FIELD_TEMPLATES[t] = (template, operator.attrgetter(*names), len(names) == 1)
        else:
            entry = _FIELD_TEMPLATES[t] = (None, None, False)
    template, getter, single = entry
    if template is None:  # fields known only per instance
        return "{" + ",".join(_ESC(n) + ":" + _value_json(v) for n, v in effect_fields(effect).items()) + "}"
    if single:
        return template % _value_json(getter(effect))
    return template % tuple(map(_value_json, getter(effect)))


_ONE_FIELD_PARTS: dict = {}


def _one_field_parts(t: type, effect: Any) -> Any:
    """For an effect type with exactly one field: ``(',"effect":<name>,"fields":{"<field>":', getter)``,
    the text before the field's value and how to read it; ``False`` for other types."""
    parts = _ONE_FIELD_PARTS.get(t)
    if parts is None:
        _fields_json(effect)  # fills the per-type template
        template, getter, single = _FIELD_TEMPLATES[t]
        if single:
            parts = (_effect_parts(t) + template.replace("%%", "%")[:-3], getter)
        else:
            parts = False
        _ONE_FIELD_PARTS[t] = parts
    return parts


def _fields_match(effect: Any, recorded: dict) -> bool:
    """``describe_fields(effect) == recorded``, without building the description for plain fields."""
    names = _FIELDS_CACHE.get(type(effect))
    if not names:
        return describe_fields(effect) == recorded
    if len(recorded) != len(names):
        return False
    for name in names:
        value = getattr(effect, name)
        try:
            r = recorded[name]
        except KeyError:
            return False
        t = type(value)
        if t is str or t is int or value is None:
            if type(r) is not t or r != value:
                return False
        elif describe(value) != r:
            return False
    return True


def describe_fields(effect: Any) -> dict:
    out = {}
    for name, value in effect_fields(effect).items():
        t = type(value)
        if t is str or t is int or t is bool or value is None:
            out[name] = value
        else:
            out[name] = describe(value)
    return out
