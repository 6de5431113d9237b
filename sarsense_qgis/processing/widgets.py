"""Dialog widgets of the Processing parameters, imported by the algorithm dialog only (never by ``process``, so
qgis_process does not load the GUI modules).

:class:`ChoiceTogglesWrapper` is the widget of an enum parameter that shows some other parameters only for one of
its options (QGIS 3.22 has no dynamic visibility of its own): change detection's percentile fields appear only
when the percentile reference is chosen. An algorithm names it in the parameter's metadata
(:func:`.soil_moisture.base.toggles`); the Processing framework builds it
(``WidgetWrapperFactory.create_wrapper_from_metadata``).
"""

from __future__ import annotations

from processing.gui.wrappers import WidgetWrapper, dialogTypes
from qgis.gui import QgsGui, QgsProcessingGui
from qgis.PyQt.QtWidgets import QComboBox


class ChoiceTogglesWrapper(WidgetWrapper):
    """A combo box for an enum parameter that shows its dependent parameters only for one option."""

    def __new__(cls, param, dialog, row=0, col=0, **kwargs):
        kind = dialogTypes.get(dialog.__class__.__name__, QgsProcessingGui.Standard)
        if kind == QgsProcessingGui.Standard:
            return super().__new__(cls)
        # batch and modeler: QGIS's own enum widget, exactly as the factory makes it without metadata
        registry = QgsGui.processingGuiRegistry()
        if kind == QgsProcessingGui.Modeler:
            wrapper = registry.createModelerParameterWidget(dialog.model, dialog.childId, param, dialog.context)
        else:
            wrapper = registry.createParameterWidgetWrapper(param, kind)
            wrapper.setDialog(dialog)
        return wrapper

    def createWidget(self, dependents=(), when=1):  # noqa: N802 (a Processing override)
        self.dependents, self.when, self.toggled = tuple(dependents), int(when), []
        combo = QComboBox()
        for i, option in enumerate(self.parameterDefinition().options()):
            combo.addItem(option, i)
        combo.currentIndexChanged.connect(self._changed)
        return combo

    def setValue(self, value):  # noqa: N802 (a Processing override)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None and self.widget.findData(int(value)) >= 0:
            self.widget.setCurrentIndex(self.widget.findData(int(value)))

    def value(self):
        return self.widget.currentData()

    def postInitialize(self, wrappers):  # noqa: N802 (a Processing override)
        self.toggled = [w for w in wrappers if w.parameterDefinition().name() in self.dependents]
        self._changed()

    def _changed(self, *_):
        shown = self.widget.currentData() == self.when
        for wrapper in self.toggled:
            for part in (wrapper.wrappedWidget(), wrapper.wrappedLabel()):
                if part is not None:
                    part.setVisible(shown)
        self.widgetValueHasChanged.emit(self)
