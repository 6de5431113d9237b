"""SARSense Processing algorithms: one thin QgsProcessingAlgorithm per file."""

from .apply_model import ApplyModelAlgorithm
from .build_stack import BuildStackAlgorithm
from .convert_units import ConvertUnitsAlgorithm
from .despeckle import DespeckleAlgorithm
from .multitemporal_despeckle import MultitemporalDespeckleAlgorithm

ALGORITHMS = (ConvertUnitsAlgorithm, DespeckleAlgorithm, MultitemporalDespeckleAlgorithm, BuildStackAlgorithm,
              ApplyModelAlgorithm)
