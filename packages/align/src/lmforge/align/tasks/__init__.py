"""Offline tasks: a synthetic arithmetic task and GSM8K-style problems from reasoning-gym."""
