"""Hyperparameter sweeps: many runs of one preset with keys varied, searched with Optuna (core, no UI)."""
