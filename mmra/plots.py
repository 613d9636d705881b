"""The one place matplotlib is set up: the Agg backend (PNG files, no display needed)."""

from __future__ import annotations


def pyplot():
    """`matplotlib.pyplot` on the Agg backend; imported late so that loading a stage stays light."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
