"""tiny_vla: a small language-conditioned visuomotor policy (front + wrist images, proprioception,
the instruction embedded by a frozen MiniLM sentence encoder -> a chunk of end-effector actions).

    model.py   the network (conv encoders with FiLM, proprio MLP, chunk head) and its config
    text.py    the frozen all-MiniLM-L6-v2 encoder with an in-memory + on-disk cache
    policy.py  TinyVLAPolicy, registered as "tiny_vla"
    data.py    datasets as training arrays: chunk targets, resizing, augmentation
    train.py   `robot-assistant train` (and `--export`)
    eval.py    `robot-assistant eval`

Nothing here is imported by `import embodiments.policies` (torch stays lazy).
"""
from pathlib import Path

# The Panda checkpoint shipped in the package (how it was made: checkpoints/README.md).
SHIPPED_CHECKPOINT = Path(__file__).parent / "checkpoints" / "panda.pt"
