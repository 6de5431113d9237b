"""Paddy-rice mapping from dated Sentinel-1 stacks (no QGIS).

- :mod:`.water_index`: the water-normalised index σA = (P − T)/(P + T) (Liu et al. 2020, eq. 1);
- :mod:`.separability`: Bhattacharyya and Jeffries-Matusita distances between Gaussian classes (§3.1);
- :mod:`.threshold`: the phenology threshold rule (flooding at transplanting, §3.3);
- :mod:`.svm`: the RBF support vector machine with a split by polygon, and its model file (§3.2);
- :mod:`.accuracy`: confusion matrix, OA, kappa, producer's and user's accuracy, and the stratified
  area estimator with its confidence interval (Olofsson et al. 2014);
- :mod:`.samples`: the pixels under labelled training or reference geometries, their class codes, and
  the names and colours a class map stores.

Each method's module also holds the file-to-file job its Processing algorithm runs
(``water_normalized_file``, ``rice_threshold_file``, ``svm_classify_file``/``classify_file``,
``class_separability``, ``accuracy_assessment``), taking a :class:`~..io.RunOptions`.

Paper (``../shared/seeds/rice_mapping_sentinel1_zh.txt``): Liu et al. (2020), early paddy rice in
Lingao County from Sentinel-1A, *Remote Sensing for Land & Resources* 32(1) (Chinese; its key
facts in English are in ``../shared/seeds/README.md``).
"""
