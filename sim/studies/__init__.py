"""Studies: what a planner asks valleysim to do, one function each, over the layers below.

=================== ================================== ===========================================
study               function                           returns (:mod:`sim.studies.outcomes`)
=================== ================================== ===========================================
run                 :func:`sim.studies.run.run`        :class:`RunOutcome`
compare             :func:`sim.studies.compare.compare` :class:`CompareOutcome`
calibrate           :func:`sim.studies.calibrate.calibrate` :class:`CalibrationOutcome`, or
                                                       :class:`PosteriorOutcome` (history matching)
sweep               :func:`sim.studies.sweep.sweep`    :class:`SweepOutcome`
optimize            :func:`sim.studies.optimize.optimize` :class:`OptimizeOutcome`
discover            :func:`sim.studies.discover.discover` :class:`DiscoverOutcome`
validation          :func:`sim.studies.validation.validation` :class:`ValidationOutcome`
report, resume      :func:`sim.studies.folders.report`, the study's own record (a report alone:
                    :func:`sim.studies.folders.resume` :class:`ReportOutcome`)
=================== ================================== ===========================================

Each takes plain arguments (paths, names, numbers), checks them all before a results folder
exists, runs its tasks through :mod:`sim.experiment` (one folder lifecycle, one task loop), writes
its pages through :mod:`sim.report`, and returns its record. The command line (:mod:`sim.cli`)
and the Python API (``sim.run``, ``sim.compare``, ..., :mod:`sim.studies.api`) call these and
nothing below them, so neither can do what the other cannot.
"""
