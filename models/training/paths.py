"""Where the training recipes read and write: the repository and its models/ folder."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
