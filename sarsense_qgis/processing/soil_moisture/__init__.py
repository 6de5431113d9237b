"""Soil moisture: change detection, vegetation and terrain corrections, stations, the CD + ANN hybrid."""
