"""The alignment loops: SFT, expert iteration, GRPO and DPO."""
