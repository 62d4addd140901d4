"""Grounding and planning on synthetic perceived scenes (fast), plus plans run on the simulator."""
from __future__ import annotations

import numpy as np
import pytest

from embodiments.types import DetectedObject, PerceivedScene
from planner.grounding import Ambiguous, Focus, NotFound, resolve
from planner.intent import Goal, Ref
from planner.plan import Planner, PlanningError

SIZES = {"cube": (0.045, 0.045, 0.04), "block": (0.085, 0.038, 0.03), "bowl": (0.17, 0.17, 0.05),
         "tray": (0.23, 0.23, 0.05), "duck": (0.045, 0.033, 0.047), "mug": (0.1, 0.09, 0.09)}


def obj(i, kind, color, x, y, z0=0.0):
    s = np.array(SIZES[kind])
    return DetectedObject(i, kind, color, np.array([x, y, z0 + s[2] / 2]), s, (0, 0), (0, 0, 0, 0), 1.0,
                          top_z=z0 + s[2])


def scene(*objs, person=None):
    return PerceivedScene(0.0, tuple(objs), None if person is None else np.array(person))


S = scene(obj(0, "cube", "red", 0.0, 0.1), obj(1, "cube", "green", 0.1, -0.1), obj(2, "bowl", "blue", -0.1, -0.12),
          obj(3, "bowl", "red", 0.15, 0.15), obj(4, "duck", "yellow", -0.15, 0.15), obj(5, "cube", "blue", -0.05, -0.2))


def test_resolve_kinds_colors_sides_and_all():
    assert [o.track_id for o in resolve(Ref("cube", "red"), S)] == [0]
    assert [o.track_id for o in resolve(Ref("cube", quantity="all"), S)] == [0, 1, 5]
    assert [o.track_id for o in resolve(Ref(color="red", quantity="all"), S)] == [0, 3]
    assert [o.track_id for o in resolve(Ref(quantity="all", side="left"), S)] == [0, 3, 4]
    with pytest.raises(Ambiguous) as e:
        resolve(Ref("cube"), S)
    assert sorted(c.color for c in e.value.candidates) == ["blue", "green", "red"]
    with pytest.raises(NotFound):
        resolve(Ref("cube", "purple"), S)


def test_anaphora_it_and_the_other_one():
    focus = Focus(it=[1])
    assert resolve(Ref(anaphora="it"), S, focus)[0].color == "green"
    focus = Focus(it=[0], others=[5])
    assert resolve(Ref("cube", anaphora="other"), S, focus)[0].color == "blue"
    with pytest.raises(NotFound):
        resolve(Ref(anaphora="it"), S, Focus())


def test_relations_in_and_next_to():
    s = scene(obj(0, "cube", "red", 0.15, 0.15, z0=0.008), obj(1, "bowl", "red", 0.15, 0.15),
              obj(2, "cube", "red", -0.1, 0.0), obj(3, "duck", "yellow", -0.1, 0.08))
    assert resolve(Ref("cube", relation="in", anchor=Ref("bowl")), s)[0].track_id == 0
    assert resolve(Ref("cube", relation="near", anchor=Ref("duck")), s)[0].track_id == 2


def test_put_in_plans_pick_then_place_with_instructions():
    plan = Planner(("arm",)).plan(Goal("put_in", Ref("cube", "red"), Ref("bowl", "blue")), S)
    assert [s.skill for s in plan.steps] == ["pick", "place_in"]
    assert [s.instruction for s in plan.steps] == ["pick up the red cube", "put the red cube in the blue bowl"]
    assert plan.steps[1].dest.label == "blue bowl"


def test_put_all_cubes_in_the_tray_and_sort_and_stack():
    s = S.objects + (obj(6, "tray", "white", 0.05, 0.0),)
    s = scene(*[o for o in s if o.track_id != 0] + [obj(0, "cube", "red", -0.2, 0.05)])
    plan = Planner(("arm",)).plan(Goal("put_in", Ref("cube", quantity="all"), Ref("tray")), s)
    assert [st.skill for st in plan.steps] == ["pick", "place_in"] * 3
    plan = Planner(("arm",)).plan(Goal("sort"), S)
    moves = [(st.obj.label, st.dest.label) for st in plan.steps if st.skill == "place_in"]
    assert moves == [("red cube", "red bowl"), ("blue cube", "blue bowl")]  # green has no bowl
    plan = Planner(("arm",)).plan(Goal("stack", Ref("cube", quantity="all")), S)
    ons = [(st.obj.label, st.dest.label) for st in plan.steps if st.skill == "place_on"]
    assert len(ons) == 2 and ons[1][1] == ons[0][0]  # each on the one placed before


def test_swap_uses_a_free_spot_and_ends_crossed():
    plan = Planner(("arm",)).plan(Goal("swap", Ref("duck"), Ref("cube", "red")), S)
    places = [st for st in plan.steps if st.skill == "place_at"]
    assert len(places) == 3
    assert places[1].obj.label == "red cube" and np.allclose(places[1].xy, (-0.15, 0.15))
    assert places[2].obj.label == "yellow duck" and np.allclose(places[2].xy, (0.0, 0.1))
    spot = places[0].xy
    assert all(np.hypot(spot[0] - o.position[0], spot[1] - o.position[1]) > 0.06 for o in S.objects)


def test_bimanual_picks_the_arm_that_reaches_and_relays_otherwise():
    def reach(arm, xy):  # left reaches y > -0.05, right y < 0.05
        return 1.0 if (xy[1] > -0.05 if arm == "left" else xy[1] < 0.05) else 0.0

    p = Planner(("left", "right"), reach)
    plan = p.plan(Goal("put_in", Ref("cube", "red"), Ref("bowl", "red")), S)
    assert {st.arm for st in plan.steps} == {"left"}
    plan = p.plan(Goal("put_in", Ref("cube", "red"), Ref("bowl", "blue")), S)
    assert [(st.skill, st.arm) for st in plan.steps] == [
        ("pick", "left"), ("place_at", "left"), ("pick", "right"), ("place_in", "right")]
    assert abs(plan.steps[1].xy[1]) < 0.05  # the relay spot is in the middle strip


@pytest.mark.parametrize("goal, code", [
    (Goal("pick", Ref("bowl", "blue")), "cannot_lift"),
    (Goal("put_in", Ref("cube", "red"), Ref("duck")), "not_container"),
    (Goal("place_at", Ref("cube", "red"), xy=(0.5, 0.0)), "off_table"),
    (Goal("stack", Ref("duck", quantity="all")), "too_few"),
    (Goal("pick", Ref("cube", quantity="all")), "too_many"),
])
def test_impossible_goals_are_planning_errors(goal, code):
    with pytest.raises(PlanningError) as e:
        Planner(("arm",)).plan(goal, S)
    assert e.value.code == code


def test_unreachable_is_a_planning_error():
    with pytest.raises(PlanningError) as e:
        Planner(("arm",), lambda a, xy: 0.0).plan(Goal("pick", Ref("cube", "red")), S)
    assert e.value.code == "unreachable"


def test_planning_is_fast():
    import time

    p = Planner(("left", "right"), lambda a, xy: 1.0)
    t = time.perf_counter()
    for _ in range(50):
        p.plan(Goal("sort"), S)
        p.plan(Goal("swap", Ref("duck"), Ref("cube", "red")), S)
    assert (time.perf_counter() - t) / 100 < 0.02  # well under the 20 ms turn budget


def test_a_kept_grasp_is_put_down_by_the_arm_that_grasps():
    """A change of target while the left arm grasps the red cube: the left arm (the one with the
    cube) puts it in the new bowl, although the right arm would be chosen for a fresh pick."""
    s = scene(obj(0, "cube", "red", -0.12, 0.14), obj(1, "cube", "yellow", -0.12, 0.0),
              obj(2, "bowl", "white", 0.12, 0.13), obj(3, "bowl", "green", 0.12, -0.13))

    def reach(arm, xy):  # both reach everything, the right arm better on the right
        return 1.0 if (xy[1] < 0.02) == (arm == "right") else 0.5

    p = Planner(("left", "right"), reach)
    plan = p.plan(Goal("put_in", Ref("cube", quantity="all"), Ref("bowl", "green")), s, grasping={0: "left"})
    assert [(st.skill, st.obj.label, st.arm) for st in plan.steps[:2]] == [
        ("pick", "red cube", "left"), ("place_in", "red cube", "left")]
    assert {st.arm for st in plan.steps[2:]} == {"right"}
    # what a hand is taking goes first, whatever the order of the objects
    plan = p.plan(Goal("put_in", Ref("cube", quantity="all"), Ref("bowl", "green")), s, grasping={1: "left"})
    assert [(st.skill, st.obj.label, st.arm) for st in plan.steps[:2]] == [
        ("pick", "yellow cube", "left"), ("place_in", "yellow cube", "left")]


def test_the_other_one_survives_a_new_track_id():
    """"Which cube?" - "the blue one" - then "the other one": the blue cube has a new track id by
    then (the hand hid it); "the other cube", and a bare "the other one", mean the red cube."""
    focus = Focus()
    red, blue = obj(0, "cube", "red", -0.1, 0.12), obj(1, "cube", "blue", -0.1, -0.12)
    focus.remember([blue], others=[red])
    focus.remember([blue])  # its pick starts: still the same candidates
    later = scene(obj(0, "cube", "red", -0.1, 0.12), obj(4, "cube", "blue", -0.1, -0.12),
                  obj(2, "bowl", "white", 0.12, 0.0), obj(3, "duck", "yellow", 0.1, 0.17))
    assert resolve(Ref("cube", anaphora="other"), later, focus)[0].track_id == 0
    assert resolve(Ref(anaphora="other"), later, focus)[0].track_id == 0
    assert resolve(Ref(anaphora="it"), later, focus)[0].track_id == 4
    # the red one taken instead: now the blue one is "the other one"
    focus.remember([later.objects[0]])
    assert resolve(Ref("cube", anaphora="other"), later, focus)[0].track_id == 4


def test_the_other_one_without_a_question_excludes_the_moved_object():
    focus = Focus()
    focus.remember([obj(0, "cube", "red", -0.1, 0.12)])
    focus.moved(0, "cube", "red", (0.12, 0.0))  # put in the bowl: a new track there
    s = scene(obj(5, "cube", "red", 0.12, 0.0, z0=0.008), obj(1, "cube", "blue", -0.1, -0.12),
              obj(2, "bowl", "white", 0.12, 0.0))
    assert resolve(Ref("cube", anaphora="other"), s, focus)[0].track_id == 1
    assert resolve(Ref(anaphora="it"), s, focus)[0].track_id == 5


def test_put_next_to_an_object_finds_a_free_reachable_spot_beside_it():
    s = scene(obj(0, "cube", "yellow", -0.1, -0.12), obj(1, "duck", "yellow", 0.0, 0.18),
              obj(2, "bowl", "white", 0.12, 0.02), obj(3, "cube", "red", -0.08, 0.12))
    def halves(arm, xy):  # left reaches y > -0.05, right y < 0.05
        return 1.0 if (xy[1] > -0.05 if arm == "left" else xy[1] < 0.05) else 0.0

    for arms, reach in ((("arm",), None), (("left", "right"), halves)):
        plan = Planner(arms, reach).plan(Goal("place_at", Ref("cube", "yellow"), Ref("duck")), s)
        xy = plan.steps[-1].xy
        assert plan.steps[-1].skill == "place_at" and plan.steps[-1].obj.label == "yellow cube"
        assert 0.08 - 1e-6 <= np.hypot(xy[0] - 0.0, xy[1] - 0.18) <= 0.12  # the spec's `near`
        assert max(abs(xy[0]), abs(xy[1])) <= 0.25
        for o in s.objects[2:]:  # clear of the others
            assert np.hypot(xy[0] - o.position[0], xy[1] - o.position[1]) > (max(o.size[:2]) + 0.045) / 2
    plan = Planner(("arm",)).plan(Goal("place_at", Ref("cube", "yellow"), Ref("duck"), side="left"), s)
    assert plan.steps[-1].xy[1] > 0.18  # "to the left of the duck"
    assert Goal("place_at", Ref(anaphora="it"), Ref("duck")).describe() == "put it next to the duck"
