"""Model cards: every bundled model has ``<name>.md`` beside it, whose sha256 the file must match."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .contract import ModelError

#: Bundled ONNX models live here (the repository's ``models/``), each with its card ``<name>.md`` giving its sha256.
BUNDLED_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
_SHA_LINE = re.compile(r"sha256\W{0,6}([0-9a-f]{64})", re.IGNORECASE)
#: What a card's ``- **Status**:`` line may say. "demonstration": trained on simulated data (or a simulation of
#: the input) to show a method end to end, not to map real scenes; every output of such a model says so in its
#: layer name, legend title (band description) and report (STYLE.md §9). "research": trained and tested on real
#: data, with the card's held-out figures and their limits.
CARD_STATUSES = ("demonstration", "research")
#: The word a demonstration model's outputs carry (band descriptions, layer names, reports).
DEMONSTRATION = "demonstration"
_FIELD_LINE = re.compile(r"^\s*-\s*\*\*(Status|Trained on)\*\*\s*:\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Card:
    """The machine-readable fields of a model card: ``status`` (one of :data:`CARD_STATUSES`, None when the card
    or the line is missing: a user's model) and ``trained_on`` (one line: what the model was trained on)."""

    status: str | None = None
    trained_on: str = ""
    path: str = ""

    @property
    def demonstration(self) -> bool:
        return self.status == DEMONSTRATION

    def label(self, text: str) -> str:
        """``text`` as an output of this model is named: '<text> (demonstration model)' for a demonstration."""
        return f"{text} ({DEMONSTRATION} model)" if self.demonstration else text

    def metadata(self) -> dict:
        """GDAL metadata items an output of this model carries (read back by the reports that score it)."""
        meta = {"SARSENSE_MODEL_STATUS": self.status} if self.status else {}
        if self.trained_on:
            meta["SARSENSE_MODEL_TRAINED_ON"] = self.trained_on
        return meta


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


def read_card(model_path: str | Path) -> Card:
    """The fields of ``model_path``'s card (:class:`Card`): its ``- **Status**: <status>`` and
    ``- **Trained on**: <one line>`` lines.

    A bundled model's card must have both, with a status of :data:`CARD_STATUSES`; a user model's card may
    lack them (or be missing), which gives an empty :class:`Card`. Raises :class:`ModelError` otherwise.
    """
    card = card_path(model_path)
    try:
        text = card.read_text(encoding="utf-8")
    except OSError:
        text = ""
    fields = {key: value.strip("`*. ") for key, value in _FIELD_LINE.findall(text)}
    status = fields.get("Status", "").split(" ")[0].strip("`*.,;:").lower() or None
    trained_on = fields.get("Trained on", "")
    if status is not None and status not in CARD_STATUSES:
        raise ModelError(f"the card '{card.name}' gives the status '{status}'; a card's Status line says one of "
                         f"{', '.join(CARD_STATUSES)}")
    if is_bundled(model_path) and (status is None or not trained_on):
        raise ModelError(f"the card '{card.name}' of a bundled model lacks its '- **Status**:' or '- **Trained "
                         "on**:' line; the plugin installation is incomplete: reinstall it")
    return Card(status=status, trained_on=trained_on, path=str(card) if text else "")


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
