"""Recompute the held-out figures of ``models/sea_ice_concentration.md`` from the shipped ONNX file.

``.venv/bin/python -m models.training.check_sea_ice_card`` (onnxruntime only, no torch; about a minute on 2 cores)
simulates the card's 6 held-out test scenes (the recipe's seeds, :data:`.sea_ice_concentration.SIC_SPLITS`),
runs the bundled model on each whole scene as the recipe scored it (no patching, §III of Stokholm et al. 2022),
and prints the pooled R² (eq. 7), class-weighted F1 and accuracy, and the R² of each scene, beside the card's;
then the same on one fresh simulated scene (:data:`FRESH_SEED`), which the card also states.
It exits 1 when a figure differs from the card's by more than :data:`TOLERANCE`.

The level study's table (other level counts) cannot be recomputed from the shipped file: only the 5-level net
is shipped; ``python -m models.training.build sea_ice_levels`` retrains them (``.venv-train``).
"""

from __future__ import annotations

import re
import sys

import numpy as np

from sarsense.algorithms import metrics
from sarsense.algorithms import onnx as rt
from sarsense.algorithms.sea_ice import classes as sic_classes
from sarsense.algorithms.sea_ice import pipeline as sic_pipeline

from .paths import MODELS
from .sea_ice import simulated_scenes
from .sea_ice_concentration import (
    FRESH_SEED,
    FRESH_SIDE,
    SIC_SCENE_SIDE,
    SIC_SPLITS,
    TOLERANCE,
    fresh_scene_figures,
    predict,
)

NAME = "sea_ice_concentration"
# FRESH_SEED, FRESH_SIDE: a fresh simulated scene the card also scores, never in training, validation or test (the
# seed of ``make demo`` and of issue #27's desktop run, at the simulator's default 1024² at 40 m).
# TOLERANCE: the largest difference accepted between a recomputed figure and the card's (the card rounds to 4 and
# 3 decimals; onnxruntime and torch differ by ~1e-6 in the logits, which can flip a handful of arg-max pixels).


def held_out_figures(model_path=MODELS / f"{NAME}.onnx"):
    """``{"r2", "f1_weighted", "accuracy", "r2_per_scene"}`` of the model on the recipe's held-out test scenes."""
    model = rt.Model(model_path)
    seed, n = SIC_SPLITS["test"]
    total = np.zeros((sic_classes.N_SIC_CLASSES,) * 2, np.int64)
    per_scene = []
    for scene in simulated_scenes(n, seed=seed, shape=(SIC_SCENE_SIDE, SIC_SCENE_SIDE)):
        m = metrics.confusion_counts(scene.y, predict(model, scene.x), sic_classes.N_SIC_CLASSES)
        total += m
        per_scene.append(metrics.r2_from_confusion(m, sic_classes.SIC_PERCENT))
    s = sic_pipeline.skill(total)
    return {"r2": s["r2"], "f1_weighted": s["f1_weighted"], "accuracy": s["accuracy"], "r2_per_scene": per_scene}


def card_figures(card=MODELS / f"{NAME}.md"):
    """The held-out figures the card states (its 'Held-out metrics' item)."""
    text = card.read_text(encoding="utf-8")
    item = text[text.index("**Held-out metrics**"):]
    item = item[:item.index("\n- ")]
    number = r"(-?\d+\.\d+)"
    figures = {key: float(re.search(label + r"\s+" + number, item).group(1))
               for key, label in (("r2", "R²"), ("f1_weighted", "F1"), ("accuracy", "accuracy"))}
    per = re.search(r"per scene R²\s*((?:-?\d+\.\d+,?\s*)+)", item).group(1)
    figures["r2_per_scene"] = [float(v) for v in per.replace(",", " ").split()]
    fresh = re.search(r"seed " + str(FRESH_SEED) + r".*?R² " + number + r".*?F1 " + number + r".*?accuracy " + number,
                      item, re.DOTALL)
    figures["fresh"] = dict(zip(("r2", "f1_weighted", "accuracy"), (float(v) for v in fresh.groups()))) \
        if fresh else None
    return figures


def main(argv=None):
    got, card = held_out_figures(), card_figures()
    worst = 0.0
    for key in ("r2", "f1_weighted", "accuracy"):
        worst = max(worst, abs(got[key] - card[key]))
        print(f"{key:12s} recomputed {got[key]:.4f}   card {card[key]:.4f}")
    print("R² per scene recomputed " + ", ".join(f"{v:.3f}" for v in got["r2_per_scene"]))
    print("R² per scene card       " + ", ".join(f"{v:.3f}" for v in card["r2_per_scene"]))
    if len(got["r2_per_scene"]) != len(card["r2_per_scene"]):
        print("the card gives another number of scenes")
        return 1
    worst = max(worst, *(abs(a - b) for a, b in zip(got["r2_per_scene"], card["r2_per_scene"])))
    fresh = fresh_scene_figures()
    print(f"fresh scene (seed {FRESH_SEED}, {FRESH_SIDE}²): recomputed R² {fresh['r2']:.4f}, F1 "
          f"{fresh['f1_weighted']:.4f}, accuracy {fresh['accuracy']:.4f}; card {card['fresh']}")
    if card["fresh"] is None:
        print("the card does not give the fresh scene's figures")
        return 1
    worst = max(worst, *(abs(fresh[k] - card["fresh"][k]) for k in fresh))
    print(f"largest difference {worst:.4f} (tolerance {TOLERANCE})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
