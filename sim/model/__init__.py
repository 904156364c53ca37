"""The SimPy model: regions, start-ups, centres, conglomerates and the funding market."""

from .world import Records, simulate

__all__ = ["Records", "simulate"]
