"""Rebuild the bundled models: ``python -m models.training.build`` (what ``make models`` runs).

Each recipe trains from the data named in its card, exports ONNX with the
contract, checks onnxruntime against torch on held-out inputs (≤ 1e-4), scores
the model on held-out data, and writes ``models/<name>.onnx`` and its card
``models/<name>.md`` (metrics and sha256 included). Seeded: the same machine
gives the same weights.
"""

from __future__ import annotations

import argparse
import os
import sys

from .lst_study import study_lst
from .lst_superresolution import build_lst_superresolution
from .s1_despeckle_example import build_despeckle_example
from .sea_ice_concentration import build_sea_ice_concentration, study_sic_levels
from .soil_moisture_hybrid import build_soil_moisture_hybrid

RECIPES = {"s1_despeckle_example": build_despeckle_example, "lst_superresolution": build_lst_superresolution,
           "sea_ice_concentration": build_sea_ice_concentration, "soil_moisture_hybrid": build_soil_moisture_hybrid}
#: Studies a card quotes, run by name only (never by plain `make models`): they train several networks.
STUDIES = {"lst_study": study_lst, "sea_ice_levels": study_sic_levels}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"models to build (default: all of {', '.join(RECIPES)}) or "
                                                 f"studies to run ({', '.join(STUDIES)})")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (quick checks)")
    parser.add_argument("--workdir", default=None, help="checkpoints and logs (default: a temporary folder)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in RECIPES and n not in STUDIES]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}; studies: "
                     f"{', '.join(STUDIES)}")
    for name in args.names or RECIPES:
        workdir = os.path.join(args.workdir, name) if args.workdir else None
        if name in STUDIES:
            STUDIES[name](workdir=workdir)
            continue
        kw = {} if args.epochs is None else {"epochs": args.epochs}
        RECIPES[name](workdir=workdir, **kw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
