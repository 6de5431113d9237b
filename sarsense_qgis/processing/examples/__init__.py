"""Examples: small documented inputs for every suite, for the Getting-started pages."""
