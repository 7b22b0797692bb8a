"""Data parallelism and sharding: DDP variants, ZeRO-1, our FSDP, and torch / DeepSpeed references."""
