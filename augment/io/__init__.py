"""Readers and writers: plain-text example files, job inputs read shard by shard, atomic outputs,
and the manifest that makes a job resumable."""

from augment.io.text_files import example_path, read_labelled_text, read_pairs

__all__ = ["example_path", "read_labelled_text", "read_pairs"]
