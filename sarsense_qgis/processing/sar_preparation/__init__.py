"""SAR preparation: units, speckle filters, dated stacks, polarisation ratio."""
