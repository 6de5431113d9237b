"""Land-surface temperature (LST) super-resolution (no QGIS).

- :mod:`.temperature`: units, plausibility checks and the Norm-L4 aggregation (Stefan–Boltzmann);
- :mod:`.resample`: Keys' cubic convolution ×s upsampling (NaN-aware) and the gap fill the
  methods share;
- :mod:`.quality`: RMSE, bias, PSNR and SSIM (the paper's global eq. 3 and Wang et al.'s windowed SSIM);
- :mod:`.sharpen`: TsHARP (Agam et al. 2007) and ATPRK (Wang, Shi & Atkinson 2016) with NDVI;
- :mod:`.modis`: MOD11A1/MYD11A1 HDF4 subdatasets (scale, fill, valid range, QC).

Paper (``../shared/seeds/lst_super_resolution_unet.txt``): Nguyen, Tian, Vo, Michel, Corpetti &
Granero-Belinchon (2022), *Convolutional Neural Network Modelling for MODIS Land Surface
Temperature Super-Resolution*, hal-03580148.
"""
