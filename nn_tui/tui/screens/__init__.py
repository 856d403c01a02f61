"""Screens and modal dialogs of the app, one per module."""
