import os

os.environ.setdefault("ROBOT_ASSISTANT_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache"))
