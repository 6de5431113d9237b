"""Model cards: every bundled model has ``<name>.md`` beside it, whose sha256 the file must match."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .contract import ModelError

#: Bundled ONNX models live here (the repository's ``models/``), each with its card ``<name>.md`` giving its sha256.
BUNDLED_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
_SHA_LINE = re.compile(r"sha256\W{0,6}([0-9a-f]{64})", re.IGNORECASE)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for piece in iter(lambda: fh.read(2**20), b""):
            h.update(piece)
    return h.hexdigest()


def card_path(model_path: str | Path) -> Path:
    """The model card that goes with a model: ``<name>.md`` beside ``<name>.onnx``."""
    return Path(model_path).with_suffix(".md")


def card_sha256(card: str | Path) -> str | None:
    """The sha256 a model card gives (a line such as ``sha256: <64 hex>``), or None."""
    try:
        match = _SHA_LINE.search(Path(card).read_text(encoding="utf-8"))
    except OSError:
        return None
    return match.group(1).lower() if match else None


def is_bundled(model_path: str | Path) -> bool:
    """True for a model shipped in the plugin's ``models/`` folder."""
    try:
        return Path(model_path).resolve().parent == BUNDLED_MODELS_DIR
    except OSError:
        return False


def verify_hash(model_path: str | Path) -> str:
    """Check the model file against its card; return its sha256.

    A bundled model must have a card with a sha256 and match it. A user model is
    checked only when a card with a sha256 sits beside it.
    """
    digest = file_sha256(model_path)
    card = card_path(model_path)
    expected = card_sha256(card)
    if expected is None:
        if is_bundled(model_path):
            raise ModelError(f"bundled model '{Path(model_path).name}' has no sha256 in its card '{card.name}'; "
                             "the plugin installation is incomplete: reinstall it")
        return digest
    if digest != expected:
        raise ModelError(f"'{Path(model_path).name}' does not match its card '{card.name}' (sha256 {digest[:12]}… "
                         f"instead of {expected[:12]}…): the file was changed or damaged. Reinstall the plugin, "
                         "or rebuild the model (make models) and update the card")
    return digest


# --------------------------------------------------------------------------------------------
# onnxruntime
