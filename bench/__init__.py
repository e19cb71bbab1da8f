"""Benchmarks of the kit against ffmpeg alone and against its own targets: `make bench`."""
