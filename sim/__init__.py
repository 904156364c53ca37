"""valleysim: a discrete-event simulator of start-ups crossing the death valley.

Data flows one way: scenario file -> :mod:`sim.scenario` (validated, frozen Scenario) ->
:mod:`sim.model` (SimPy processes, per-replication records) -> :mod:`sim.experiment`
(replications, executors, results store) -> :mod:`sim.analysis` (statistics) ->
:mod:`sim.report` (tables, Markdown, HTML).
"""

__version__ = "0.1.0"
