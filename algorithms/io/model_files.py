"""Model and parameter files SARSense writes and reads back (``.npz`` archives, ``.json`` parameters): one reader
each that refuses a truncated, empty, damaged or foreign file with its name, the reason and the fix.

Every refusal reads ``'<file>' is not a SARSense <kind> (<reason>); <redo> it with '<algorithm>' or choose the
file it wrote`` (``ValueError``), whatever the numpy, zip or JSON layer raised underneath.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib

import numpy as np

#: What numpy's and the zip/zlib layers raise on a truncated, empty or foreign .npz.
_NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


class ModelFileError(ValueError):
    """A model or parameter file that cannot be used; the message names it, the reason and the fix."""


def refusal(path, kind: str, reason: str, algorithm: str, *, redo: str = "retrain") -> ModelFileError:
    """The one message for a model or parameter file that cannot be used (to raise)."""
    return ModelFileError(f"'{path}' is not a SARSense {kind} ({reason}); {redo} it with '{algorithm}' or choose "
                          "the file it wrote")


def _size_reason(path):
    """Why ``path`` cannot be a file at all (missing, a folder, 0 bytes), or None."""
    if not os.path.exists(path):
        return "the file does not exist"
    if not os.path.isfile(path):
        return "it is a folder, not a file"
    if os.path.getsize(path) == 0:
        return "truncated or damaged: the file is empty (0 bytes)"
    return None


def load_npz(path, keys, *, kind: str, algorithm: str, redo: str = "retrain") -> dict:
    """The arrays ``keys`` of the ``.npz`` archive ``path`` (no pickle), read whole; a file that is empty,
    truncated, not an archive or lacks one of ``keys`` raises :class:`ModelFileError` naming it."""
    reason = _size_reason(path)
    if reason is None:
        try:
            z = np.load(path, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                reason = "a single numpy array (.npy), not an .npz archive"
            else:
                try:
                    missing = [k for k in keys if k not in z.files]
                    if not missing:
                        return {k: z[k] for k in keys}
                    reason = f"it lacks {', '.join(missing)}; it holds {', '.join(z.files) or 'nothing'}"
                finally:
                    z.close()
        except _NPZ_ERRORS as err:
            text = str(err).strip() or type(err).__name__
            if "pickled data" in text:
                text = "not an .npz archive (its first bytes are no zip header)"
            elif isinstance(err, zipfile.BadZipFile):
                text = f"not a complete zip archive ({text})"
            reason = f"truncated or damaged: {text}"
    raise refusal(path, kind, reason, algorithm, redo=redo)


def json_bytes(data, path, *, kind: str, algorithm: str, redo: str = "retrain"):
    """The JSON document in ``data`` (bytes or a uint8 array, e.g. an archive's header) of file ``path``."""
    try:
        return json.loads(bytes(np.asarray(data, dtype=np.uint8)).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, TypeError) as err:
        raise refusal(path, kind, f"truncated or damaged: its header is not JSON ({err})", algorithm,
                      redo=redo) from None


def load_json(path, *, kind: str, algorithm: str, redo: str = "make") -> dict:
    """The JSON object (a dict) in file ``path``; a file that is empty, not UTF-8, not JSON (with the line and
    column where it breaks off) or not an object raises :class:`ModelFileError` naming it."""
    reason = _size_reason(path)
    if reason is None:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except UnicodeDecodeError as err:
            reason = f"truncated or damaged: not UTF-8 text ({err.reason} at byte {err.start})"
        except json.JSONDecodeError as err:
            reason = f"truncated or damaged: not JSON ({err.msg} at line {err.lineno}, column {err.colno})"
        except OSError as err:
            reason = f"it cannot be read ({err.strerror or err})"
        else:
            if isinstance(data, dict):
                return data
            reason = f"it holds a JSON {type(data).__name__}, not an object of named values"
    raise refusal(path, kind, reason, algorithm, redo=redo)


def number(data: dict, key: str, path, *, kind: str, algorithm: str, redo: str = "make") -> float:
    """``data[key]`` as a float; a missing or non-numeric value raises :class:`ModelFileError` naming the keys
    the file has."""
    try:
        return float(data[key])
    except KeyError:
        reason = f"it has no '{key}' (its keys: {', '.join(map(str, data)) or 'none'})"
    except (TypeError, ValueError):
        reason = f"its '{key}' is {data[key]!r}, not a number"
    raise refusal(path, kind, reason, algorithm, redo=redo)
