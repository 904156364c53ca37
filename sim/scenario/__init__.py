"""Parameter files -> validated, frozen :class:`Scenario` objects."""

from .loader import dump_yaml, load_scenario, resolved_dict, scenario_hash
from .schema import STAGES, Scenario

__all__ = ["STAGES", "Scenario", "dump_yaml", "load_scenario", "resolved_dict", "scenario_hash"]
