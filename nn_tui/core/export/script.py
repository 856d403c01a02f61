"""Write a preset out as the plain PyTorch script a tutorial would show: data, nn.Module, loss, optimizer, loop.

The script imports only numpy and torch (plus scikit-learn or torchvision when the dataset comes from
them) and nothing from nn-tui: the synthetic dataset's generator, the split and the scaling are nn-tui's own
functions with their source inlined, so the rows are the same; the weights start from the same seed.
"""

from __future__ import annotations

from typing import Any

from nn_tui.core.datasets import CLASSIFICATION, get_dataset_info, metric_for
from nn_tui.core.export.data_code import IMAGE_CLASSES, Script, crosses_code, data_code, num
from nn_tui.core.preset import Preset
from nn_tui.core.run.rundir import summary_metric
from nn_tui.core.preset.choices import ACTIVATIONS, DEFAULT_MOMENTUM, LOSSES, OPTIMIZERS, scheduler_for

def _model_code(preset: Preset, n_features: int, n_out: int, loss: str, class_name: str) -> list[str]:
    lines = [f"class {class_name}(nn.Module):", "    def __init__(self):", "        super().__init__()",
             "        self.layers = nn.Sequential("]
    prev = n_features
    for i, layer in enumerate(preset.layers):
        where = f"input: {prev} features" if i == 0 else f"hidden {i}: {prev}"
        lines.append(f"            nn.Linear({prev}, {layer.units}),  # {where} -> {layer.units} neurons")
        if layer.batch_norm:
            lines.append(f"            nn.BatchNorm1d({layer.units}),")
        if layer.activation != "linear":
            lines.append(f"            {ACTIVATIONS[layer.activation].code()},")
        if layer.dropout > 0:
            lines.append(f"            nn.Dropout({layer.dropout:g}),")
        prev = layer.units
    head = {
        "bce": "1 logit (sigmoid of it = P(class 1))",
        "cross_entropy": f"{n_out} logits, one per class",
    }.get(loss, f"{n_out} value{'s' if n_out > 1 else ''}")
    where = f"input: {prev} features" if not preset.layers else f"output: {prev}"
    lines.append(f"            nn.Linear({prev}, {n_out}),  # {where} -> {head}")
    lines += ["        )", "", "    def forward(self, x):", "        return self.layers(x)"]
    return lines


def _optimizer_code(preset: Preset) -> str:
    t = preset.training
    momentum = t.momentum if t.momentum is not None else DEFAULT_MOMENTUM.get(t.optimizer, 0.0)
    args = ["model.parameters()", "lr=LEARNING_RATE"]
    if t.optimizer in DEFAULT_MOMENTUM and momentum:
        args.append(f"momentum={num(momentum)}")
    if t.weight_decay:
        args.append(f"weight_decay={num(t.weight_decay)}")
    return f"optimizer = {OPTIMIZERS[t.optimizer].code(*args)}"


def _scheduler_code(preset: Preset) -> str | None:
    found = scheduler_for(preset.training.scheduler, preset.training.epochs)
    if found is None:
        return None
    cls, kwargs = found
    return f"scheduler = {cls.code('optimizer', **kwargs)}"


def _class_name(preset: Preset) -> str:
    words = [w for w in "".join(c if c.isalnum() else " " for c in preset.name).split() if w]
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Mlp"
    if name[0].isdigit():
        name = "Net" + name
    return name if name.endswith("Net") else name + "Net"


def _stated_result(preset: Preset, summary: dict[str, Any]) -> list[str]:
    lines = []
    best = summary.get("best") or {}
    metric = summary_metric(summary)
    if best.get(metric) is not None:
        lines.append(f"In nn-tui this run reached {metric} {best[metric]:.4f} (best epoch {best.get('epoch')}, "
                     f"val_loss {best.get('val_loss', float('nan')):.4g}).")
    for key, target in preset.expect.items():
        op = "<=" if key.endswith("loss") else ">="
        lines.append(f"The preset expects {key} {op} {target!r}.")
    return lines


# ---------------------------------------------------------------- the whole script


def training_script(
    preset: Preset,
    *,
    run_id: str | None = None,
    summary: dict[str, Any] | None = None,
    filename: str = "train.py",
    changes: list[dict[str, Any]] | None = None,
) -> str:
    """The Python source of a standalone script that recreates the data, the network and the training of a
    (fully resolved) preset."""
    from nn_tui.core.datasets import load_dataset
    from nn_tui.core.model.build import default_loss, output_units

    summary = summary or {}
    info = get_dataset_info(preset.data.dataset)
    options = info.option_defaults()
    options.update(preset.data.options)
    t = preset.training
    if preset.data.dataset in IMAGE_CLASSES:  # not loaded here: that could mean a download
        n_features, task, n_classes, n_targets = 784 + len(preset.data.extra_features), CLASSIFICATION, 10, 1
        subset = int(options.get("train_subset") or 0)
        n_train = subset if 0 < subset < 60000 else 60000
    else:
        data = load_dataset(preset.data.dataset, options, preset.seed, preset.data.test_fraction, preset.base_dir,
                            preset.data.extra_features)
        n_features, task, n_classes, n_targets = data.n_features, data.task, data.n_classes, data.n_targets
        n_train = len(data.X_train)
    loss = t.loss or default_loss(task, n_classes)
    n_out = output_units(task, loss, n_classes, n_targets)
    classification = loss in ("bce", "cross_entropy")
    metric = metric_for(CLASSIFICATION if classification else None)

    body = Script()
    helpers, uses_math = data_code(preset, body, options)
    helpers += crosses_code(preset, body)

    s = Script()
    title = preset.name + (f": {preset.description}" if preset.description else "")
    s.add(f'"""{title}')
    s.add()
    s.add(f"Exported by nn-tui{f' from run {run_id}' if run_id else ''}: the same data, network and training loop")
    s.add(f"in plain PyTorch. Run it with: python {filename}")
    for line in _stated_result(preset, summary):
        s.add(line)
    if changes:  # made while the run trained (its changes.csv); the script keeps the preset's values
        s.add("While it trained, these settings were changed (its changes.csv); this script keeps the starting")
        s.add("values throughout:")
        for c in changes:
            s.add(f"  {c['key']} {c['old']:g} -> {c['new']:g} before step {c['step']} of epoch {c['epoch']}")
    s.add('"""')
    s.add()
    imports = sorted(i for i in body.imports if i.startswith("import "))
    if uses_math or t.early_stopping:
        imports.append("import math")
    if imports:
        s.lines += sorted(set(imports))
        s.add()
    s.lines += ["import numpy as np", "import torch", "import torch.nn as nn", "import torch.optim as optim"]
    s.lines += sorted(i for i in body.imports if i.startswith("from "))
    s.add()
    s.add(f"SEED = {preset.seed}")
    batch = preset.data.batch_size
    full_batch = batch == 0 or batch >= n_train  # one step per epoch, on all rows: nn-tui does not shuffle then
    if not full_batch:
        s.add(f"BATCH_SIZE = {batch}")
    s.add(f"EPOCHS = {t.epochs}")
    s.add(f"LEARNING_RATE = {num(t.lr)}")
    if preset.data.dataset not in ("and", "or", "xor") and preset.data.dataset not in IMAGE_CLASSES:
        s.add(f"TEST_FRACTION = {num(preset.data.test_fraction)}")
    if t.l1:
        s.add(f"L1 = {num(t.l1)}  # L1 penalty: pushes unneeded weights to zero")
    if t.grad_clip:
        s.add(f"GRAD_CLIP = {num(t.grad_clip)}  # largest gradient norm allowed")
    if t.early_stopping:
        s.add(f"PATIENCE = {t.early_stopping}  # stop when the validation loss has not improved for this many epochs")
    s.add(f"torch.set_num_threads({t.threads or 1})  # small networks train fastest on few CPU threads")
    for helper in dict.fromkeys(helpers):
        s.add()
        s.add()
        s.block(helper)
    s.add()
    s.add()
    s.add("# 1. Data")
    s.lines += body.lines
    s.add("X_train, X_test = torch.tensor(X_train), torch.tensor(X_test)")
    if loss == "bce":
        s.add("# BCE compares the one logit per row with a 0.0 / 1.0 target of the same shape.")
        s.add("y_train = torch.tensor(y_train, dtype=torch.float32).unsqueeze(1)")
        s.add("y_test = torch.tensor(y_test, dtype=torch.float32).unsqueeze(1)")
    else:
        s.add("y_train, y_test = torch.tensor(y_train), torch.tensor(y_test)")
    if preset.data.test_fraction <= 0 and preset.data.dataset not in ("and", "or", "xor") and preset.data.dataset not in IMAGE_CLASSES:
        s.add("if len(X_test) == 0:  # nothing held out: check on the training rows")
        s.add("    X_test, y_test = X_train, y_train")
    s.add()
    s.add()
    s.add("# 2. Model")
    s.lines += _model_code(preset, n_features, n_out, loss, _class_name(preset))
    s.add()
    s.add()
    s.add("torch.manual_seed(SEED)  # the same starting weights as in nn-tui")
    s.add(f"model = {_class_name(preset)}()")
    s.add("print(model)")
    s.add()
    s.add("# 3. Loss and optimizer")
    code, words = LOSSES[loss].code(), LOSSES[loss].note
    s.add(f"criterion = {code}  # {words}")
    s.add(_optimizer_code(preset))
    scheduler = _scheduler_code(preset)
    if scheduler:
        s.add(scheduler)
    s.add()
    s.add()
    s.add("def evaluate(X, y):")
    s.add(f'    """Loss and {"accuracy" if classification else "R² (1 = perfect, 0 = no better than the mean)"} '
          'with dropout off and batch norm in inference mode."""')
    s.add("    model.eval()")
    s.add("    with torch.no_grad():")
    s.add("        outputs = model(X)")
    s.add("        loss = criterion(outputs, y).item()")
    if loss == "bce":
        s.add("        predicted = (outputs[:, 0] > 0).long()  # logit > 0 means P(class 1) > 0.5")
        s.add("        score = (predicted == y[:, 0].long()).float().mean().item()")
    elif loss == "cross_entropy":
        s.add("        predicted = outputs.argmax(dim=1)")
        s.add("        score = (predicted == y).float().mean().item()")
    else:
        s.add("        residual = ((outputs - y) ** 2).sum(dim=0)")
        s.add("        total = ((y - y.mean(dim=0)) ** 2).sum(dim=0).clamp_min(1e-12)")
        s.add("        score = (1 - residual / total).mean().item()")
    s.add("    return loss, score")
    s.add()
    s.add()
    s.add("# 4. Train")
    if not full_batch:
        s.add("generator = torch.Generator().manual_seed(SEED)  # the same shuffling as in nn-tui")
        s.add("n = len(X_train)")
    if t.early_stopping:
        s.add("best_val_loss, epochs_without_improvement = math.inf, 0")
    s.add("print_every = max(1, EPOCHS // 10)")
    s.add("for epoch in range(1, EPOCHS + 1):")
    s.add("    model.train()  # training mode: dropout on, batch norm learns the batch statistics")
    step = ["optimizer.zero_grad()  # clear the previous gradients"]
    if t.l1:
        step += [
            "# L1 regularisation: the sum of |w| over the Linear layers' weights joins the loss (biases are spared)",
            "penalty = sum(m.weight.abs().sum() for m in model.modules() if isinstance(m, nn.Linear))",
            "(loss + L1 * penalty).backward()  # backpropagation of the data loss plus the penalty",
        ]
    else:
        step.append("loss.backward()  # backpropagation: the gradient of the loss for every weight")
    if t.grad_clip:
        step.append("torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)")
    step.append("optimizer.step()  # gradient descent: move every weight against its gradient")
    if full_batch:
        s.add("    outputs = model(X_train)  # forward pass on all rows at once")
        s.add("    loss = criterion(outputs, y_train)")
        s.lines += ["    " + line for line in step]
    else:
        s.add("    order = torch.randperm(n, generator=generator)  # a new shuffle every epoch")
        s.add("    for start in range(0, n, BATCH_SIZE):")
        s.add("        batch = order[start : start + BATCH_SIZE]")
        s.add("        outputs = model(X_train[batch])  # forward pass")
        s.add("        loss = criterion(outputs, y_train[batch])")
        s.lines += ["        " + line for line in step]
    s.add(f"    val_loss, {metric} = evaluate(X_test, y_test)")
    if scheduler:
        s.add("    scheduler.step(val_loss)" if t.scheduler == "plateau" else "    scheduler.step()")
    s.add("    if epoch % print_every == 0 or epoch == EPOCHS:")
    s.add(f'        print(f"Epoch {{epoch}}: loss {{loss.item():.4f}}, val_loss {{val_loss:.4f}}, {metric} {{{metric}:.4f}}")')
    if t.early_stopping:
        s.add("    if val_loss < best_val_loss:")
        s.add("        best_val_loss, epochs_without_improvement = val_loss, 0")
        s.add("    else:")
        s.add("        epochs_without_improvement += 1")
        s.add("        if epochs_without_improvement >= PATIENCE:")
        s.add('            print(f"Stopped early at epoch {epoch}: no improvement for {PATIENCE} epochs")')
        s.add("            break")
    s.add()
    s.add("# 5. Result")
    s.add(f'print(f"Final: val_loss {{val_loss:.4f}}, {metric} {{{metric}:.4f}}")')
    if preset.data.dataset in ("and", "or", "xor"):
        s.add("model.eval()")
        s.add("with torch.no_grad():")
        if loss == "bce":
            s.add('    print("Predictions:", (torch.sigmoid(model(X_train)) > 0.5).long().flatten().tolist())')
        else:
            s.add('    print("Predictions:", model(X_train).argmax(dim=1).tolist())')
        s.add('print("Targets:    ", y_train.flatten().long().tolist())')
    text = "\n".join(s.lines).rstrip() + "\n"
    while "\n\n\n\n" in text:
        text = text.replace("\n\n\n\n", "\n\n\n")
    return text

