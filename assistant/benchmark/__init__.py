"""The household benchmark (`robot-assistant bench`): task families x languages x perturbations on
every robot and controller, judged on ground truth; see docs/benchmarks.md for the results."""
