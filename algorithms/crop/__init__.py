"""Paddy-rice mapping from dated Sentinel-1 stacks (no QGIS).

- :mod:`.water_index`: the water-normalised index σA = (P − T)/(P + T) (Liu et al. 2020, eq. 1);
- :mod:`.separability`: Bhattacharyya and Jeffries-Matusita distances between Gaussian classes (§3.1);
- :mod:`.threshold`: the phenology threshold rule (flooding at transplanting, §3.3);
- :mod:`.accuracy`: confusion matrix, OA, kappa, producer's and user's accuracy, and the stratified
  area estimator with its confidence interval (Olofsson et al. 2014).

Paper (``../shared/seeds/rice_mapping_sentinel1_zh.txt``): Liu et al. (2020), early paddy rice in
Lingao County from Sentinel-1A, *Remote Sensing for Land & Resources* 32(1) (Chinese; its key
facts in English are in ``../shared/seeds/README.md``).
"""
