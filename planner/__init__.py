"""Understanding and planning: references, goals and intents (`intent`), grounding them in a
perceived scene (`grounding`), goal -> plan of skills (`plan`), and binding plan steps to
fresh perception when they run (`execute`). Importing it never imports pybullet or torch."""
from .grounding import Ambiguous, Focus, GroundingError, NotFound, resolve
from .intent import Act, Goal, Intent, Ref
from .plan import Handle, Plan, Planner, PlanningError, Step

__all__ = ["Act", "Ambiguous", "Focus", "Goal", "GroundingError", "Handle", "Intent", "NotFound", "Plan",
           "Planner", "PlanningError", "Ref", "Step", "resolve"]
