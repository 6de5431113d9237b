"""Every SARSense Processing algorithm, in the order the provider registers them (one package per suite)."""

from .crop.accuracy_assessment import AccuracyAssessmentAlgorithm
from .crop.rice_threshold import RiceThresholdAlgorithm
from .crop.separability import SeparabilityAlgorithm
from .crop.sieve_classes import SieveClassesAlgorithm
from .crop.svm_apply import SvmApplyAlgorithm
from .crop.svm_classify import SvmClassifyAlgorithm
from .crop.water_normalized import WaterNormalizedAlgorithm
from .examples.example_data import ExampleDataAlgorithm
from .lst.degrade_lst import DegradeLstAlgorithm
from .lst.image_quality import ImageQualityAlgorithm
from .lst.lst_superresolution import LstSuperResolutionAlgorithm
from .neural_networks.apply_model import ApplyModelAlgorithm
from .sar_preparation.build_stack import BuildStackAlgorithm
from .sar_preparation.convert_units import ConvertUnitsAlgorithm
from .sar_preparation.despeckle import DespeckleAlgorithm
from .sar_preparation.multitemporal_despeckle import MultitemporalDespeckleAlgorithm
from .sar_preparation.polarisation_ratio import PolarisationRatioAlgorithm
from .sea_ice.ice_chart_classes import IceChartClassesAlgorithm
from .sea_ice.sea_ice_concentration import SeaIceConcentrationAlgorithm
from .sea_ice.sea_ice_skill import SeaIceSkillAlgorithm
from .sea_ice.unet_receptive_field import UnetReceptiveFieldAlgorithm
from .sentinel1.import_sentinel1 import ImportSentinel1Algorithm
from .sentinel1.import_sentinel1_stack import ImportSentinel1StackAlgorithm
from .soil_moisture.ann_moisture import AnnMoistureAlgorithm
from .soil_moisture.calibrate_vegetation_cd import CalibrateVegetationCdAlgorithm
from .soil_moisture.calibrate_water_cloud import CalibrateWaterCloudAlgorithm
from .soil_moisture.change_detection import ChangeDetectionAlgorithm
from .soil_moisture.extract_stations import ExtractStationsAlgorithm
from .soil_moisture.import_ismn import ImportIsmnAlgorithm
from .soil_moisture.interpolate_time import InterpolateTimeAlgorithm
from .soil_moisture.ndvi import NdviAlgorithm
from .soil_moisture.rain_response import RainResponseAlgorithm
from .soil_moisture.regress_moisture import RegressMoistureAlgorithm
from .soil_moisture.terrain_flatten import TerrainFlattenAlgorithm
from .soil_moisture.train_ann_moisture import TrainAnnMoistureAlgorithm
from .soil_moisture.validate_moisture import ValidateMoistureAlgorithm
from .soil_moisture.vegetation_cd import VegetationCdAlgorithm
from .soil_moisture.water_cloud import WaterCloudAlgorithm

ALGORITHMS = (
    ConvertUnitsAlgorithm,
    DespeckleAlgorithm,
    MultitemporalDespeckleAlgorithm,
    BuildStackAlgorithm,
    PolarisationRatioAlgorithm,
    ImportSentinel1Algorithm,
    ImportSentinel1StackAlgorithm,
    ApplyModelAlgorithm,
    NdviAlgorithm,
    InterpolateTimeAlgorithm,
    ChangeDetectionAlgorithm,
    VegetationCdAlgorithm,
    TerrainFlattenAlgorithm,
    WaterCloudAlgorithm,
    WaterNormalizedAlgorithm,
    SeparabilityAlgorithm,
    SvmClassifyAlgorithm,
    SvmApplyAlgorithm,
    RiceThresholdAlgorithm,
    SieveClassesAlgorithm,
    AccuracyAssessmentAlgorithm,
    LstSuperResolutionAlgorithm,
    DegradeLstAlgorithm,
    ImageQualityAlgorithm,
    SeaIceConcentrationAlgorithm,
    UnetReceptiveFieldAlgorithm,
    IceChartClassesAlgorithm,
    SeaIceSkillAlgorithm,
    ImportIsmnAlgorithm,
    ExtractStationsAlgorithm,
    CalibrateVegetationCdAlgorithm,
    CalibrateWaterCloudAlgorithm,
    TrainAnnMoistureAlgorithm,
    AnnMoistureAlgorithm,
    RegressMoistureAlgorithm,
    ValidateMoistureAlgorithm,
    RainResponseAlgorithm,
    ExampleDataAlgorithm,
)
