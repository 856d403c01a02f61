"""Everything in nn-tui that is not UI: presets, datasets, models, the trainer and run directories.

This package never imports textual or rich, and importing it does not import torch:
modules that need torch import it themselves.
"""
