"""Diffusion Explorer's engine: data, noise, models, tracing, training and sampling.

The package never imports the UI framework. Every long-running operation is a generator
that yields one record per step, so the UI can stream it, the tests can count it and the
CLI can print it (see ``DESIGN.md``).
"""

__version__ = "0.1.0"
