"""What the processing.run tests share: run a SARSense algorithm, and a feedback that keeps the log."""

from qgis.core import QgsProcessingFeedback


def run(alg, params, **kw):
    """``processing.run("sarsense:<alg>", params)``."""
    import processing
    return processing.run(f"sarsense:{alg}", params, **kw)


class Log(QgsProcessingFeedback):
    """A feedback that keeps every line of the log (info, warnings, errors) in ``lines``."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def pushWarning(self, text):
        self.lines.append(text)

    def pushInfo(self, text):
        self.lines.append(text)

    def reportError(self, text, fatalError=False):
        self.lines.append(text)
