"""The Optuna side of a sweep: the study in the sweep folder's journal file, its sampler and pruner, asking
for the next trial's parameters, and resuming (what was stopped is asked again; what finished never is)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nn_tui.core.preset import Preset
from nn_tui.core.sweep.spec import Sweep, value_of

STUDY_FILE = "study.log"
STUDY_NAME = "sweep"
REDUCTION_FACTOR = 3
RESULT_ATTR = "result"  # the user attribute holding how a trial ended (status, value, epochs, seconds, run_dir)
FINISHED = ("completed", "early_stopped", "diverged", "failed", "pruned")  # never run again; "stopped" is


@dataclass
class TrialTask:
    """One trial as a worker receives it: everything needed to train it and report on it (picklable)."""

    number: int
    trial_id: int
    labels: dict[str, Any]  # varied key -> its value as Optuna stores it (trials.csv shows these)
    seed: int
    preset: Preset
    sweep_dir: str
    metric: str
    direction: str
    rungs: tuple[int, ...]  # epochs at which the pruner is asked (empty: no pruning)
    # A stopped trial asked again (--resume): the run folder it trained in, to continue from its checkpoint.
    continue_in: str | None = None


def rung_epochs(epochs: int, prune: bool) -> tuple[int, ...]:
    """The epochs where successive halving compares trials: epochs/9, epochs/3 (rounded down, at least 1),
    each a reduction factor apart. Only these are reported to Optuna: a journal append costs milliseconds,
    more than an epoch of a small network."""
    if not prune:
        return ()
    first = max(1, epochs // REDUCTION_FACTOR**2)
    out, step = [], first
    while step < epochs:
        out.append(step)
        step *= REDUCTION_FACTOR
    return tuple(out)


LOCK_GRACE_SECONDS = 5  # a lock left by a killed process is taken over after this long (a journal append takes ms)


def storage(sweep_dir: str | Path):
    """The study's journal file. Its path is absolute: Optuna's lock is a symlink to it, and a relative target
    would dangle, so a lock left by a kill would never be taken over."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

    path = str(Path(sweep_dir).resolve() / STUDY_FILE)
    return JournalStorage(JournalFileBackend(path, lock_obj=JournalFileSymlinkLock(path, grace_period=LOCK_GRACE_SECONDS)))


def make_pruner(prune: bool, epochs: int):
    import optuna

    if not prune:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=rung_epochs(epochs, True)[0] if epochs > 1 else 1,
                                                  reduction_factor=REDUCTION_FACTOR)


def make_sampler(sweep: Sweep):
    import optuna

    spec, seed = sweep.spec, sweep.preset.seed
    if spec.method == "grid":
        return grid_sampler_class()({**spec.grid(), "seed": seeds_of(sweep)}, seed=seed)
    if spec.method == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, spec.trials // 3)))


_GRID: list[type] = []


def grid_sampler_class() -> type:
    """GridSampler without its stop at the end of the grid: we count the trials ourselves (ask/tell, no optimize,
    where its `study.stop()` raises). Made once optuna is imported; kept at module level so it pickles (Ray)."""
    if not _GRID:
        import optuna

        class CountedGridSampler(optuna.samplers.GridSampler):
            def after_trial(self, study, trial, state, values):
                pass

        CountedGridSampler.__module__ = __name__
        CountedGridSampler.__qualname__ = "CountedGridSampler"
        globals()["CountedGridSampler"] = CountedGridSampler
        _GRID.append(CountedGridSampler)
    return _GRID[0]


def __getattr__(name: str):  # unpickling a CountedGridSampler in another process (a Ray worker) makes the class
    if name == "CountedGridSampler":
        return grid_sampler_class()
    raise AttributeError(name)


def seeds_of(sweep: Sweep) -> list[int]:
    return [sweep.preset.seed + i for i in range(sweep.spec.seeds)]


def open_study(sweep: Sweep, sweep_dir: str | Path, direction: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        storage=storage(sweep_dir), sampler=make_sampler(sweep),
        pruner=make_pruner(sweep.spec.prune, sweep.preset.training.epochs), study_name=STUDY_NAME,
        direction=direction, load_if_exists=True,
    )


def load_study_for_pruning(sweep_dir: str, epochs: int):
    """The study as a worker opens it, to report at the rung epochs and ask the pruner (several processes share
    the journal file)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=STUDY_NAME, storage=storage(sweep_dir), pruner=make_pruner(True, epochs))


def ask(study, sweep: Sweep, sweep_dir: Path, metric: str, direction: str):
    """The next trial (a queued retry first): (the Optuna Trial, the TrialTask for a worker)."""
    spec = sweep.spec
    trial = study.ask()
    labels: dict[str, Any] = {}
    for key, p in spec.params.items():
        if p.values is not None:
            labels[key] = trial.suggest_categorical(key, p.labels())
        elif p.is_int_range:
            labels[key] = trial.suggest_int(key, int(p.low), int(p.high), log=p.log)
        else:
            labels[key] = trial.suggest_float(key, float(p.low), float(p.high), log=p.log)
    if spec.method == "grid":
        seed = trial.suggest_categorical("seed", seeds_of(sweep))
    else:
        seed = trial.user_attrs.get("seed")
        if seed is None:  # a newly sampled configuration: the same values for every other seed, queued next
            seed = sweep.preset.seed
            trial.set_user_attr("seed", seed)
            for other in seeds_of(sweep)[1:]:
                study.enqueue_trial(dict(trial.params), user_attrs={"seed": other})
    values = {key: value_of(spec.params[key], label) for key, label in labels.items()}
    preset = sweep.trial_preset(values, seed)
    preset.name = f"{sweep.name}-trial-{trial.number:04d}"
    task = TrialTask(trial.number, trial._trial_id, labels, seed, preset, str(sweep_dir), metric, direction,
                     rung_epochs(preset.training.epochs, spec.prune),
                     stopped_run_folder(study, trial, sweep_dir))
    return trial, task


def stopped_run_folder(study, trial, sweep_dir: Path) -> str | None:
    """For a retry of a stopped (or killed) trial: the run folder the trial trained in, if it has a checkpoint to
    continue from (else None: the retry starts over in a new folder)."""
    from nn_tui.core.run.checkpoint import LAST_FILE, checkpoint_dir

    old = trial.user_attrs.get("retry_of")
    path = None if old is None else trial_folder(study, old, sweep_dir)
    if path is None or not (checkpoint_dir(path) / LAST_FILE).is_file():
        return None
    try:  # written as a new trial's would be (trials.csv): relative to here when it is under here
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def trial_folder(study, number: int, sweep_dir: Path) -> Path | None:
    """The run folder trial `number` trained in: as its result recorded it, else (killed before it could record
    one) the folder named after it in runs/ (`…-trial-0007`), or the one it continued (a retry's)."""
    t = study.get_trials(deepcopy=False)[number]
    recorded = t.user_attrs.get(RESULT_ATTR, {}).get("run_dir")
    if recorded:
        path = Path(recorded)
        return path if path.is_absolute() else Path.cwd() / path
    runs = Path(sweep_dir) / "runs"
    named = sorted([*runs.glob(f"*-trial-{number:04d}"), *runs.glob(f"*-trial-{number:04d}-*")])
    if named:
        return named[-1]
    if "retry_of" in t.user_attrs:
        return trial_folder(study, t.user_attrs["retry_of"], sweep_dir)
    return None


def status_of(t) -> str:
    """nn-tui's status of a trial: the run's own status where one was recorded, else Optuna's state."""
    from optuna.trial import TrialState

    if RESULT_ATTR in t.user_attrs:
        return t.user_attrs[RESULT_ATTR]["status"]
    return {TrialState.RUNNING: "running", TrialState.WAITING: "queued", TrialState.COMPLETE: "completed",
            TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}[t.state]


def seed_of(t) -> int | None:
    return t.user_attrs.get("seed", t.params.get("seed"))


def shown_trials(study) -> list:
    """The trials a user sees: not the queued ones, not a stopped one once its retry has started, and not one a
    kill interrupted while it was being sampled (it never ran)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs and t.state != TrialState.WAITING}
    return [t for t in trials
            if t.state != TrialState.WAITING and t.number not in retried and status_of(t) != UNSAMPLED]


UNSAMPLED = "unsampled"


def prepare_resume(study, sweep: Sweep) -> int:
    """Before continuing a sweep: trials left running by a kill are marked stopped; every stopped trial without a
    retry yet is queued again with the same values and seed. Returns how many finished (never to run again)."""
    from optuna.trial import TrialState

    keys = set(sweep.spec.params) | ({"seed"} if sweep.spec.method == "grid" else set())
    params: dict[int, dict] = {}
    for t in study.get_trials(deepcopy=False):
        if t.state != TrialState.RUNNING:
            continue
        full = dict(t.params)
        if not keys <= set(full) and "grid_id" in t.system_attrs:  # killed while Optuna was filling in its values
            sampler = make_sampler(sweep)
            full = dict(zip(sampler._param_names, sampler._all_grids[t.system_attrs["grid_id"]]))
        status = "stopped" if keys <= set(full) else UNSAMPLED  # an unsampled one is replaced by a new trial
        params[t.number] = full
        study._storage.set_trial_user_attr(t._trial_id, RESULT_ATTR, {"status": status, "message": "killed"})
        study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs["retry_of"] for t in trials if "retry_of" in t.user_attrs}
    for t in trials:
        if status_of(t) == "stopped" and t.number not in retried:
            attrs = {"retry_of": t.number}
            if "seed" in t.user_attrs:
                attrs["seed"] = t.user_attrs["seed"]
            study.enqueue_trial(params.get(t.number, dict(t.params)), user_attrs=attrs)
    return sum(1 for t in shown_trials(study) if status_of(t) in FINISHED)
