"""Contact sensing and the collision check of commanded motions (the simulated robots).

Two layers of physical safety under the clipping of `SimRobot.send_action`, both always on:

1. `MotionCheck`: before a joint step goes to the motors, the arm is put (for a moment, state
   restored) at the commanded joints and pybullet measures the distance of every link to the
   table and to the person. A step that puts a link below the table top or closer to the
   person than `SafetyLimits.person_margin` is refused: the arm holds. A step that gets *out*
   of such a place (less deep than where the arm was commanded before) is allowed, so an arm
   can always back away. The hand moves at most 8 mm per tick (0.5 m/s at 60 Hz), so checking
   where each tick ends checks the whole segment to within a tenth of the person's margin.
   What the hand holds is not checked (the robot does not know its shape); the contact
   sensing below feels it.
2. `ContactMonitor`: after every physics substep, the contacts of each arm are read
   (`getContactPoints`, normal forces summed per link and body). The wrist and hand (links
   from `ArmModelSpec.hand_from` on) touching a movable object is their job; anything else
   (any link on the table, a wall, a pedestal, the floor, an unknown obstacle, the other arm or
   the person, or an arm link on an object) above `contact_min_force` is unexpected and stops
   the robot at once, through the e-stop's hold. The hand's pressure on what it handles (mean
   over a control tick, which filters one-substep solver spikes) above `contact_force_limit`
   stops it too: a held object rammed into something.

   After a release, a contact that was already there is tolerated until it ends, as long as it
   does not grow by more than half (at least 5 N): backing away is allowed, pushing on is not.

Numbers (measured on 168 runs of the normal skills: `bench.skills` trials of all nine skills on
panda, bimanual and kuka with seeds 0-5, plus picks and put-downs at the table's far edge with
a person there, contacts read after every substep):

- hand on objects, mean force over a tick: median 80 N, 99th percentile 265 N, largest 469 N
  (a kuka pick; single substeps peak at 645 N). Limit: 700 N.
- iiwa wrist links 5 and 6 on a tall object it grasps: up to 247 N (so they count as the hand).
- robot on the table, a fixture, the other arm or the person: never. The hand comes within
  0.2 mm of the table top (a kuka push) but does not touch it. Threshold: 2 N.
- closest approach of any link to the person: 0.107 m (kuka wrist, far-edge pick). Margin: 0.08 m.

Cost per control tick (panda, bench/sim_speed.py's holding tick, measured interleaved with the
layers switched off): ~20 us per arm for the check, ~3 us per substep for the contacts; 25x real
time instead of 28x (the target is 20x).

The mock robot has no physics and so no contact sensing (embodiments/mock.py).
"""
from __future__ import annotations

import numpy as np

from ..limits import SafetyLimits, SafetyStop
from .arms import SimArm
from .world import SimWorld

TABLE_TOLERANCE = 0.0005  # m below the table top: numerical slack of pybullet's distance query
GRACE_GROWTH, GRACE_MIN = 0.5, 5.0  # a contact kept over a release may grow by half, at least 5 N

Pair = tuple[int, int, int]  # (robot body, link, other body)


class MotionCheck:
    """Refuses a commanded joint step that puts a link into the table or the person's keep-out."""

    def __init__(self, world: SimWorld, limits: SafetyLimits) -> None:
        self.world, self.limits = world, limits

    def refuse(self, arm: SimArm, q_prev: np.ndarray, q_next: np.ndarray) -> str | None:
        """The reason to refuse the step q_prev -> q_next, or None to let it go to the motors."""
        table, person = self._clearance(arm, q_next)
        if table[0] >= -TABLE_TOLERANCE and person[0] >= self.limits.person_margin:
            return None
        before_table, before_person = self._clearance(arm, q_prev)
        if table[0] < -TABLE_TOLERANCE and table[0] < before_table[0] - 1e-5:
            return f"collision: {_link_name(arm, table[1])} would go {-table[0] * 1000:.0f} mm into the table"
        if person[0] < self.limits.person_margin and person[0] < before_person[0] - 1e-5:
            return (f"keep_out: {_link_name(arm, person[1])} would come within {person[0]:.2f} m of the person "
                    f"(keep-out {self.limits.person_margin:.2f} m)")
        return None  # already there: a step that gets out of it is allowed

    def _clearance(self, arm: SimArm, q: np.ndarray) -> tuple[tuple[float, int], tuple[float, int]]:
        """(distance, link) of the arm's deepest point into the table and its nearest to the person,
        with the arm at joints `q` (its state restored after)."""
        c, w = self.world.c, self.world
        joints = list(arm.spec.arm_joints)
        saved = c.getJointStates(arm.body, joints)
        c.resetJointStatesMultiDof(arm.body, joints, [[float(v)] for v in q])
        table = min(((p[8], p[3]) for p in c.getClosestPoints(arm.body, w.table, 0.0)), default=(np.inf, -1))
        person = (np.inf, -1)
        if w.person is not None:
            person = min(((p[8], p[3]) for p in c.getClosestPoints(arm.body, w.person, self.limits.person_margin)),
                         default=person)
        c.resetJointStatesMultiDof(arm.body, joints, [[s[0]] for s in saved], [[s[1]] for s in saved])
        return table, person


class ContactMonitor:
    """Reads the arms' contacts after each physics substep; returns a `SafetyStop` when one is unexpected."""

    def __init__(self, world: SimWorld, arms: dict[str, SimArm], limits: SafetyLimits) -> None:
        self.world, self.arms, self.limits = world, arms, limits
        self._arm_of = {a.body: n for n, a in arms.items()}
        self._tick: dict[Pair, list[float]] = {}  # hand-on-object pairs: forces of this tick's substeps
        self._grace: dict[Pair, float] = {}  # unexpected pairs present at the last release -> force then
        self._seen: set[Pair] = set()  # grace pairs seen during this tick

    def _contacts(self) -> dict[Pair, float]:
        forces: dict[Pair, float] = {}
        for a in self.arms.values():
            for p in self.world.c.getContactPoints(bodyA=a.body):
                if p[2] == a.body:
                    continue  # the arm's own links (self-collision is off; the gear constraint's fingers)
                key = (a.body, p[3], p[2])
                forces[key] = forces.get(key, 0.0) + p[9]
        return forces

    def _expected(self, pair: Pair, objects: set[int]) -> bool:
        body, link, other = pair
        return other in objects and link >= self.arms[self._arm_of[body]].spec.hand_from

    def sample(self) -> SafetyStop | None:
        """After one physics substep: a stop for the first unexpected contact, if any."""
        objects = self.world.object_bodies()
        for pair, f in self._contacts().items():
            if self._expected(pair, objects):
                self._tick.setdefault(pair, []).append(f)
                continue
            if pair in self._grace:
                self._seen.add(pair)
                f0 = self._grace[pair]
                if f <= f0 + max(GRACE_MIN, GRACE_GROWTH * f0):
                    continue
            if f > self.limits.contact_min_force:
                return self._stop(pair, f, "touched")
        return None

    def end_tick(self, substeps: int) -> SafetyStop | None:
        """After a control tick: the hand's pressure on what it handles (mean over the tick) checked
        against the hard limit; contacts kept over a release that have ended are forgotten."""
        forces, self._tick = self._tick, {}
        self._grace = {p: f for p, f in self._grace.items() if p in self._seen}
        self._seen = set()
        for pair, fs in forces.items():
            mean = sum(fs) / substeps
            if mean > self.limits.contact_force_limit:
                return self._stop(pair, mean, "pressed on")
        return None

    def forgive(self) -> None:
        """At a release: contacts present now (the arm stopped against something) may end."""
        objects = self.world.object_bodies()
        self._grace = {p: f for p, f in self._contacts().items() if not self._expected(p, objects)}
        self._tick, self._seen = {}, set()

    def _stop(self, pair: Pair, force: float, verb: str) -> SafetyStop:
        body, link, other = pair
        arm = self._arm_of[body]
        what = self.describe(other)
        link_name = _link_name(self.arms[arm], link)
        said = {"table": "the table", "person": "the person", "object": "an object", "fixture": "a fixture"}.get(
            what, f"the {what.removeprefix('arm ')} arm")
        reason = f"contact: {link_name} {verb} {said} ({force:.0f} N)"
        self._tick, self._grace, self._seen = {}, {}, set()
        return SafetyStop(self.world.time, arm, reason, link_name, what, float(force))

    def describe(self, body: int) -> str:
        """What a body the robot touched is: table | person | object | arm <name> | fixture."""
        w = self.world
        if body == w.table:
            return "table"
        if w.person is not None and body == w.person:
            return "person"
        if body in self._arm_of:
            return f"arm {self._arm_of[body]}"
        if body in w.object_bodies():
            return "object"
        return "fixture"  # floor, walls, pedestals, table legs, or anything else in the way


def _link_name(arm: SimArm, link: int) -> str:
    if link < 0:
        return arm.c.getBodyInfo(arm.body)[0].decode()
    return arm.c.getJointInfo(arm.body, link)[12].decode()
