"""Generic readers and atomic writers: plain-text example files, files written whole or not at
all, JSON defaults for numpy values. Imports nothing of the library above it."""

from augment.io.text_files import example_path, read_labelled_text, read_pairs

__all__ = ["example_path", "read_labelled_text", "read_pairs"]
