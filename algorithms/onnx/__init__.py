"""SARSense model runtime: the model contract, its checks, and inference with onnxruntime.

A SARSense model is one ``.onnx`` file. Its ``metadata_props`` hold, under the key ``sarsense``, a JSON
*contract* (models/README.md documents every field) that says what the network expects and returns. The
runtime reads it, checks it against itself and the graph, refuses anything missing or contradictory, and
never executes anything taken from metadata. Rooms: :mod:`.contract` (parse, check, attach), :mod:`.cards`
(bundled models and their sha256), :mod:`.session` (:class:`Model`: onnxruntime, imported lazily),
:mod:`.apply` (:func:`apply_model`: block-wise or tiled over rasters). Callers import this package
(``from sarsense.algorithms import onnx as rt``) and use the names below.
"""

from .apply import apply_model, class_map_finish, extra_outputs, output_layout, record_nonfinite
from .cards import (
    BUNDLED_MODELS_DIR,
    CARD_STATUSES,
    DEMONSTRATION,
    Card,
    card_path,
    card_sha256,
    file_sha256,
    is_bundled,
    read_card,
    verify_hash,
)
from .contract import (
    ACTIVATIONS,
    CONTRACT_FORMAT,
    CONTRACT_KEY,
    CONTRACT_VERSION,
    DEFAULT_MEMORY_PER_PIXEL,
    NORMALISATIONS,
    SPATIAL_TASKS,
    TASK_ALIASES,
    TASKS,
    UNITS_DB,
    UNITS_LINEAR,
    Contract,
    ModelClass,
    ModelError,
    attach_contract,
    check_graph,
    halo_warnings,
    parse_contract,
)
from .session import DEVICES, NONFINITE_REFUSE, PIXEL_CHUNK, Model, import_onnxruntime

__all__ = [
    "ACTIVATIONS", "BUNDLED_MODELS_DIR", "CARD_STATUSES", "DEMONSTRATION", "Card", "read_card",
    "CONTRACT_FORMAT", "CONTRACT_KEY", "CONTRACT_VERSION",
    "DEFAULT_MEMORY_PER_PIXEL", "DEVICES", "NONFINITE_REFUSE", "NORMALISATIONS", "PIXEL_CHUNK", "SPATIAL_TASKS",
    "TASKS", "TASK_ALIASES",
    "UNITS_DB", "UNITS_LINEAR", "Contract", "Model", "ModelClass", "ModelError", "apply_model", "attach_contract",
    "card_path", "card_sha256", "check_graph", "class_map_finish", "extra_outputs", "file_sha256", "halo_warnings",
    "import_onnxruntime", "is_bundled", "output_layout", "record_nonfinite", "parse_contract", "verify_hash",
]
