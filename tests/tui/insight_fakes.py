"""Snapshots of a small untrained network on fixed points, for the Inside tab's tests (no training)."""

from __future__ import annotations

import numpy as np
import torch

from nn_tui.core.inspection.boundary import data_extent
from nn_tui.core.inspection.health import measure_health
from nn_tui.core.inspection.insight import InsightData, InsightSnapshot
from nn_tui.core.model.build import build_model, loss_function
from nn_tui.core.preset import LayerSpec

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def fake_snapshot(*, dataset: str = "xor", features: int = 2, epoch: int = 3, final: bool = False,
                  data: InsightData | None = None, seed: int = 0) -> InsightSnapshot:
    """A snapshot as InsightProbe makes one, from a network that was never trained."""
    torch.manual_seed(seed)
    model = build_model(features, [LayerSpec(4, "tanh")], 1).eval()
    if data is None:
        if dataset == "xor":
            X, y = XOR_X, XOR_Y
        else:
            rng = np.random.default_rng(seed)
            X = rng.normal(size=(40, features)).astype(np.float32)
            y = (X[:, 0] > 0).astype(np.int64)
        data = InsightData(
            dataset=dataset, task="classification", loss="bce",
            feature_names=[f"x{i + 1}" for i in range(features)], label_names=["no", "yes"],
            points_X=X, points_y=y,
            val_X=X if dataset == "xor" else X[:20].copy(), val_y=y if dataset == "xor" else y[:20].copy(),
            extent=data_extent(X) if features == 2 else None,
            gate="xor" if dataset == "xor" else None, hidden_layers=1,
        )
    Xt = torch.from_numpy(data.points_X)
    yt = torch.from_numpy(data.points_y).float().unsqueeze(1)
    health = measure_health(model, Xt, yt, loss_function("bce"), epoch=epoch, global_step=epoch * 4)
    model.requires_grad_(False)
    return InsightSnapshot(epoch, epoch * 4, final, model, health, data)
