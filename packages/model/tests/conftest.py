"""Model tests run single-threaded: on a shared machine, torch's thread pool spinning against other
processes makes tiny models 5-10x slower, and one thread also makes CPU results reproducible across
the in-process and subprocess runs the resume tests compare."""

import torch

torch.set_num_threads(1)
