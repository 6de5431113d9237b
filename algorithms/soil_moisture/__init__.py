"""Surface soil moisture maps from Sentinel-1 stacks (no QGIS).

- :mod:`.ndvi`: NDVI with the paper's validity range (Fayad et al. 2022 §2.1.3-2.1.4);
- :mod:`.timeinterp`: per-pixel linear interpolation of a dated stack onto other dates;
- :mod:`.change_detection`: the change-detection index and SSM (eq. 2-3) and its
  vegetation-corrected form (eq. 4-7);
- :mod:`.terrain`: local incidence angle from a DEM and the sin-ratio normalisation (Rahimabadi
  & Jamali 2019, eq. 3);
- :mod:`.water_cloud`: the Water Cloud Model's vegetation and soil terms (Rahimabadi & Jamali 2019,
  eq. 1, 4-6).

Papers (``../shared/seeds``): Fayad et al. (2022), *Remote Sens.* 14, 2434 (change detection + ANN);
Rahimabadi & Jamali (2019), the Miyankale study, *J. Radar Opt. Remote Sens.* 1, 46-57 (WCM + regression).
"""
