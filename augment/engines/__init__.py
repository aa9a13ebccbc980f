"""Execution engines for `augment run`: local (in process) and Ray Data."""
