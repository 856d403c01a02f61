"""nn-tui: build, train and watch multilayer perceptrons in the terminal, on real PyTorch."""

__version__ = "0.1.0"
