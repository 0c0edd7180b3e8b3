"""Treadle's pure core: workflow graphs, validation, state machines, policies and the planner.

Nothing here performs I/O, reads the clock or draws random numbers: time and
randomness arrive as arguments.
"""
