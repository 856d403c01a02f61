"""The Experiments view: a sweep built from the current setup, its trials live side by side."""
