"""Perception from camera frames only: segments -> kind, colour, 3-D pose, image point/box.

The pipeline per frame: split the instance mask into segments (ids only separate
instances), lift each to a scene-frame point cloud with the frame's own camera
matrices, measure its footprint and support, and classify kind and colour with
the small per-class models in `model.json` (trained offline on rendered crops by
`train.py`). Nothing here reads the simulator: a real RGB-D camera with any
instance segmenter can feed the same `CameraFrame`s.

A person at the table is a segment that is tall (its top far above the table)
and stands past the table's far edge; it is reported as `PerceivedScene.person`.
Detections keep a `track_id` across calls (nearest previous detection of the same
kind within a few centimetres), so "it" stays the same object while the arm moves.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..types import CameraFrame, DetectedObject, Observation, PerceivedScene
from .classifier import MODEL_PATH, ClassModel, load_models
from .features import color_features, kind_features
from .geometry import CameraModel, camera_model, project
from .segments import Segment, measure, split_segments

PERSON_MIN_TOP = 0.35  # m above the table: nothing on the table is this tall
PERSON_MIN_X = 0.30  # the person stands at the far edge (x grows away from the robot)
TRACK_RADIUS = 0.05  # m: a detection this close to the previous one of the same kind keeps its id
FUSE_RADIUS = 0.03  # m: detections from two cameras this close are the same object


@dataclass
class Perception:
    """Stateful (for track ids) perception over one or more camera frames per call."""

    min_pixels: int = 15
    model_path: str = str(MODEL_PATH)
    _kind: ClassModel | None = field(default=None, init=False, repr=False)
    _color: ClassModel | None = field(default=None, init=False, repr=False)
    _tracks: list[DetectedObject] = field(default_factory=list, init=False, repr=False)
    _next_id: int = field(default=0, init=False, repr=False)

    def _models(self) -> tuple[ClassModel, ClassModel]:
        if self._kind is None or self._color is None:
            self._kind, self._color = load_models(self.model_path)
        return self._kind, self._color

    def reset(self) -> None:
        """Forget the tracks (a new scene)."""
        self._tracks, self._next_id = [], 0

    def perceive(self, frames: list[CameraFrame], ignore_ids: set[int] | None = None,
                 time: float = 0.0) -> PerceivedScene:
        """Objects and person seen in `frames` (the first frame's image coordinates are reported).

        `ignore_ids` are instance ids that are known not to be objects: the robot's own
        links (a real robot knows them from its kinematics) and the room's fixtures.
        """
        ignore = set(ignore_ids or ())
        found: list[tuple[DetectedObject, int]] = []  # (detection, index of the frame it came from)
        person: np.ndarray | None = None
        for k, frame in enumerate(frames):
            model = camera_model(frame)
            for seg in split_segments(frame, model, ignore, self.min_pixels):
                if _is_person(seg):
                    if person is None:
                        person = np.array([*np.median(seg.points[:, :2], axis=0), seg.top_z])
                    continue
                if k > 0 and (_touches_border(seg, frame) or _occluded(seg, frame)):
                    continue  # a close-up camera sees part of an object: no reliable kind or size
                measure(seg, frame, model)
                det = self._detect(seg, frame, model)
                same = [i for i, (d, src) in enumerate(found) if src != k and _same_object(d, det)]
                if not same:
                    found.append((det, k))
                elif _area(det) > 1.3 * _area(found[same[0]][0]):
                    # The earlier camera saw only part of it (the arm in the way): the
                    # fuller view gives the truer centre and size. Keep the earlier
                    # camera's image point and box, which are in the reported image.
                    old = found[same[0]][0]
                    found[same[0]] = (replace(det, point=old.point, box=old.box), found[same[0]][1])
        objects = self._track([d for d, _ in found])
        return PerceivedScene(time, tuple(objects), person)

    def perceive_observation(self, obs: Observation, ignore_ids: set[int] | None = None) -> PerceivedScene:
        """All cameras of an observation, the front camera first (its image coordinates are reported).

        Wrist cameras fill in what the arm hides from the front camera: an object just
        put into a bowl under the hand, or one behind the arm at home.
        """
        names = sorted(obs.cameras, key=lambda n: (n != "front", n))
        return self.perceive([obs.cameras[n] for n in names], ignore_ids, obs.time)

    def _detect(self, seg: Segment, frame: CameraFrame, model: CameraModel) -> DetectedObject:
        kind_model, color_model = self._models()
        fp = seg.footprint
        assert fp is not None
        pk = kind_model.posterior(kind_features(seg))
        pc = color_model.posterior(color_features(seg))
        ik, ic = int(np.argmax(pk)), int(np.argmax(pc))
        centre = np.array([fp.centre[0], fp.centre[1], (seg.top_z + seg.support_z) / 2])
        h, w = frame.depth.shape[:2]
        r, c = project(model, centre[None])[0]
        point = (_norm(r, h), _norm(c, w))
        r0, c0, r1, c1 = seg.box
        box = (_norm(r0, h), _norm(c0, w), _norm(r1, h), _norm(c1, w))
        scores = {name: round(float(p), 4) for name, p in zip(kind_model.classes, pk) if p > 1e-3}
        return DetectedObject(
            track_id=-1, kind=kind_model.classes[ik], color=color_model.classes[ic], position=centre,
            size=np.array([fp.length, fp.width, seg.height]), point=point, box=box,
            confidence=float(pk[ik] * pc[ic]), yaw=fp.yaw, top_z=seg.top_z, kind_scores=scores)

    def _track(self, dets: list[DetectedObject]) -> list[DetectedObject]:
        """Give each detection the id of the nearest previous one of its kind, else a new id."""
        pairs = sorted(
            (float(np.hypot(*(d.position[:2] - t.position[:2]))), i, j)
            for i, d in enumerate(dets) for j, t in enumerate(self._tracks)
            if d.kind == t.kind and np.hypot(*(d.position[:2] - t.position[:2])) < TRACK_RADIUS)
        ids: dict[int, int] = {}
        used: set[int] = set()
        for _, i, j in pairs:
            if i not in ids and j not in used:
                ids[i] = self._tracks[j].track_id
                used.add(j)
        out = []
        for i, d in enumerate(dets):
            if i not in ids:
                ids[i] = self._next_id
                self._next_id += 1
            out.append(_with_id(d, ids[i]))
        out.sort(key=lambda d: d.track_id)
        self._tracks = out
        return out


def _area(d: DetectedObject) -> float:
    return float(d.size[0] * d.size[1])


def _same_object(a: DetectedObject, b: DetectedObject) -> bool:
    """Two views of one object: same kind, centres closer than half the smaller footprint.

    Kind must agree: a cube in a bowl has (nearly) the bowl's centre.
    """
    if a.kind != b.kind:
        return False
    d = float(np.hypot(*(a.position[:2] - b.position[:2])))
    return d < max(FUSE_RADIUS, 0.5 * float(min(a.size[0], b.size[0])))


def _touches_border(seg: Segment, frame: CameraFrame) -> bool:
    h, w = frame.depth.shape[:2]
    r0, c0, r1, c1 = seg.box
    return r0 <= 0 or c0 <= 0 or r1 >= h or c1 >= w


def _occluded(seg: Segment, frame: CameraFrame, frac: float = 0.15) -> bool:
    """Is a good part of the segment's outline bordered by something nearer the camera?

    Those pixels are where an occluder (a finger, the arm, a taller neighbour) cuts
    the object off, so its shape there is not the object's.
    """
    h, w = frame.depth.shape[:2]
    r0, c0, r1, c1 = seg.box
    r0, c0, r1, c1 = max(r0 - 1, 0), max(c0 - 1, 0), min(r1 + 1, h), min(c1 + 1, w)
    mask = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    mask[seg.rows - r0, seg.cols - c0] = True
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    ring = grown & ~mask
    if not ring.any():
        return False
    d_ring = np.asarray(frame.depth)[r0:r1, c0:c1][ring]
    d_seg = float(np.asarray(frame.depth)[seg.rows, seg.cols].min())
    return float(np.mean(d_ring < d_seg - 0.01)) > frac


def _is_person(seg: Segment) -> bool:
    centre_x = float(np.median(seg.points[:, 0]))
    return seg.top_z > PERSON_MIN_TOP and centre_x > PERSON_MIN_X


def _norm(v: float, size: int) -> int:
    """Pixel coordinate -> the 0-1000 normalised integer of Gemini-Robotics-ER style points."""
    return int(np.clip(round(1000.0 * (float(v) + 0.5) / size), 0, 1000))


def _with_id(d: DetectedObject, track_id: int) -> DetectedObject:
    return replace(d, track_id=track_id)
