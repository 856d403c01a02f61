"""The built network seen the way tutorials draw it: one entry per Linear layer, with its batch norm, activation and dropout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nn_tui.core.preset.choices import ACTIVATIONS

if TYPE_CHECKING:
    from torch import nn

# torch module class name -> the activation name a preset uses
ACTIVATION_OF_MODULE = {cls.name: name for name, cls in ACTIVATIONS.items() if name != "linear"}


@dataclass
class Layer:
    """One layer of neurons: Linear -> [BatchNorm1d] -> activation -> [Dropout]. The output layer gives logits."""

    index: int  # 0-based among the Linear layers
    name: str  # "hidden 1", "hidden 2", ..., "output"
    linear: nn.Linear
    batch_norm: nn.BatchNorm1d | None = None
    activation: str = "linear"  # preset name; "linear" when there is none (always for the output layer)
    activation_module: nn.Module | None = None
    dropout: nn.Dropout | None = None

    @property
    def units(self) -> int:
        return int(self.linear.out_features)

    @property
    def inputs(self) -> int:
        return int(self.linear.in_features)

    @property
    def is_output(self) -> bool:
        return self.name == "output"


def plain_model(model: nn.Module) -> nn.Module:
    """The module itself, unwrapped from torch.compile's OptimizedModule if it was compiled."""
    return getattr(model, "_orig_mod", model)


def layers_of(model: nn.Module) -> list[Layer]:
    """Split an nn_tui Sequential (see model.build_model) into its layers of neurons."""
    from torch import nn

    groups: list[Layer] = []
    for module in plain_model(model).children():
        if isinstance(module, nn.Linear):
            groups.append(Layer(len(groups), f"hidden {len(groups) + 1}", module))
        elif not groups:
            continue
        elif isinstance(module, nn.BatchNorm1d):
            groups[-1].batch_norm = module
        elif isinstance(module, nn.Dropout):
            groups[-1].dropout = module
        elif type(module).__name__ in ACTIVATION_OF_MODULE:
            groups[-1].activation = ACTIVATION_OF_MODULE[type(module).__name__]
            groups[-1].activation_module = module
    if groups:
        groups[-1].name = "output"
    return groups


def copy_to_cpu(model: nn.Module) -> nn.Module:
    """A CPU copy of the network in eval mode, safe to use from another thread while training goes on.

    A deep copy, not a rebuild: building a new model would draw from torch's random generator
    and change the run (dropout masks) compared with a run that nobody watched.
    """
    import copy

    import torch

    with torch.no_grad():
        twin = copy.deepcopy(plain_model(model)).to("cpu")
    twin.requires_grad_(False)
    return twin.eval()
