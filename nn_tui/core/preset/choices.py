"""One table per concept: every activation, loss, optimizer and scheduler a preset can name, with the PyTorch
class it stands for. The preset's allowed values, the model builder and the exported script's code all come
from here, so they cannot disagree. Plain strings: no torch import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TorchClass:
    """A PyTorch class by its path under `torch` ("nn.ReLU"), with the positional arguments nn-tui gives it."""

    path: str
    args: tuple[Any, ...] = ()
    note: str = ""  # what it does, for an exported script's comments

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def code(self, *more: str, **kwargs: Any) -> str:
        """The call as Python source: `nn.LeakyReLU(0.01)`, `optim.SGD(params, lr=0.1)`."""
        parts = [*(repr(a) for a in self.args), *more, *(f"{k}={v!r}" for k, v in kwargs.items())]
        return f"{self.path}({', '.join(parts)})"

    def build(self, *more: Any, **kwargs: Any) -> Any:
        """An instance (imports torch)."""
        import torch

        cls: Any = torch
        for part in self.path.split("."):
            cls = getattr(cls, part)
        return cls(*self.args, *more, **kwargs)


ACTIVATIONS: dict[str, TorchClass] = {
    "relu": TorchClass("nn.ReLU"),
    "leaky_relu": TorchClass("nn.LeakyReLU", (0.01,)),
    "sigmoid": TorchClass("nn.Sigmoid"),
    "tanh": TorchClass("nn.Tanh"),
    "gelu": TorchClass("nn.GELU"),
    "elu": TorchClass("nn.ELU"),
    "silu": TorchClass("nn.SiLU"),
    "linear": TorchClass("nn.Identity"),  # no activation: the builder adds no module for it
}

LOSSES: dict[str, TorchClass] = {
    "mse": TorchClass("nn.MSELoss", note="mean squared error"),
    "mae": TorchClass("nn.L1Loss", note="mean absolute error"),
    "huber": TorchClass("nn.HuberLoss", note="squared error near the target, absolute error far from it"),
    "bce": TorchClass("nn.BCEWithLogitsLoss", note="sigmoid + binary cross-entropy in one step, on the logit"),
    "cross_entropy": TorchClass("nn.CrossEntropyLoss", note="softmax + cross-entropy in one step, on the logits"),
}
CLASSIFICATION_LOSSES = ("bce", "cross_entropy")
REGRESSION_LOSSES = ("mse", "mae", "huber")

OPTIMIZERS: dict[str, TorchClass] = {
    "sgd": TorchClass("optim.SGD"),
    "momentum": TorchClass("optim.SGD"),
    "rmsprop": TorchClass("optim.RMSprop"),
    "adam": TorchClass("optim.Adam"),
    "adamw": TorchClass("optim.AdamW"),
    "adagrad": TorchClass("optim.Adagrad"),
}
# The optimizers that take a momentum, and theirs when a preset gives none.
DEFAULT_MOMENTUM = {"sgd": 0.0, "momentum": 0.9, "rmsprop": 0.0}

SCHEDULER_NAMES = ("none", "step", "cosine", "plateau")


def scheduler_for(name: str, epochs: int) -> tuple[TorchClass, dict[str, Any]] | None:
    """The LR scheduler a preset's `training.scheduler` names, with its arguments for `epochs`; None for none.
    step: ×0.1 every third of the epochs; cosine: decay to 0 over the epochs; plateau: ×0.5 when validation
    loss stops improving."""
    if name == "step":
        return TorchClass("optim.lr_scheduler.StepLR"), {"step_size": max(1, epochs // 3), "gamma": 0.1}
    if name == "cosine":
        return TorchClass("optim.lr_scheduler.CosineAnnealingLR"), {"T_max": max(1, epochs)}
    if name == "plateau":
        return TorchClass("optim.lr_scheduler.ReduceLROnPlateau"), {"factor": 0.5, "patience": max(2, epochs // 20)}
    return None
