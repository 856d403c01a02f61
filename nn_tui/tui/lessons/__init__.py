"""The lessons path in the app: the list of lessons with progress, the lesson's text beside the work, and the keys
that load, run, try and step through lessons."""
