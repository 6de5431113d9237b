"""SARSense Processing algorithms: one package per suite, one thin QgsProcessingAlgorithm per file
(:mod:`.registry` lists them); what they share is in :mod:`.base`, :mod:`.checks`, :mod:`.inputs` and
:mod:`.outputs`."""
