"""PyBullet simulation of the household table: scene, objects, arms, cameras."""
