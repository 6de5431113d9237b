"""SARSense Processing algorithms: one thin QgsProcessingAlgorithm per file."""

from .accuracy_assessment import AccuracyAssessmentAlgorithm
from .ann_moisture import AnnMoistureAlgorithm
from .apply_model import ApplyModelAlgorithm
from .build_stack import BuildStackAlgorithm
from .calibrate_vegetation_cd import CalibrateVegetationCdAlgorithm
from .change_detection import ChangeDetectionAlgorithm
from .convert_units import ConvertUnitsAlgorithm
from .degrade_lst import DegradeLstAlgorithm
from .despeckle import DespeckleAlgorithm
from .extract_stations import ExtractStationsAlgorithm
from .ice_chart_classes import IceChartClassesAlgorithm
from .image_quality import ImageQualityAlgorithm
from .import_ismn import ImportIsmnAlgorithm
from .import_sentinel1 import ImportSentinel1Algorithm
from .interpolate_time import InterpolateTimeAlgorithm
from .lst_superresolution import LstSuperResolutionAlgorithm
from .multitemporal_despeckle import MultitemporalDespeckleAlgorithm
from .ndvi import NdviAlgorithm
from .polarisation_ratio import PolarisationRatioAlgorithm
from .regress_moisture import RegressMoistureAlgorithm
from .rice_threshold import RiceThresholdAlgorithm
from .sea_ice_concentration import SeaIceConcentrationAlgorithm
from .sea_ice_skill import SeaIceSkillAlgorithm
from .separability import SeparabilityAlgorithm
from .svm_apply import SvmApplyAlgorithm
from .svm_classify import SvmClassifyAlgorithm
from .terrain_flatten import TerrainFlattenAlgorithm
from .train_ann_moisture import TrainAnnMoistureAlgorithm
from .unet_receptive_field import UnetReceptiveFieldAlgorithm
from .validate_moisture import ValidateMoistureAlgorithm
from .vegetation_cd import VegetationCdAlgorithm
from .water_cloud import WaterCloudAlgorithm
from .water_normalized import WaterNormalizedAlgorithm

ALGORITHMS = (ConvertUnitsAlgorithm, DespeckleAlgorithm, MultitemporalDespeckleAlgorithm, BuildStackAlgorithm,
              PolarisationRatioAlgorithm, ImportSentinel1Algorithm,
              ApplyModelAlgorithm, NdviAlgorithm, InterpolateTimeAlgorithm, ChangeDetectionAlgorithm,
              VegetationCdAlgorithm, TerrainFlattenAlgorithm, WaterCloudAlgorithm, WaterNormalizedAlgorithm,
              SeparabilityAlgorithm, SvmClassifyAlgorithm, SvmApplyAlgorithm, RiceThresholdAlgorithm,
              AccuracyAssessmentAlgorithm, LstSuperResolutionAlgorithm, DegradeLstAlgorithm, ImageQualityAlgorithm,
              SeaIceConcentrationAlgorithm, UnetReceptiveFieldAlgorithm, IceChartClassesAlgorithm, SeaIceSkillAlgorithm,
              ImportIsmnAlgorithm, ExtractStationsAlgorithm, CalibrateVegetationCdAlgorithm, TrainAnnMoistureAlgorithm,
              AnnMoistureAlgorithm, RegressMoistureAlgorithm, ValidateMoistureAlgorithm)
