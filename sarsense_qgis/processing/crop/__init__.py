"""Crop mapping (paddy rice): water-normalised index, separability, SVM, phenology threshold, accuracy."""
