#!/usr/bin/env python3
"""valleysim's command line: ``python run_sim.py --help``."""

from sim.cli import main

if __name__ == "__main__":
    main()
